/** Homes with real qcow2 boxes, driven by the in-process driver (the flows the pipeline runs). */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import type { Database } from 'better-sqlite3';
import type { DbWriter } from '../../../src/db/writer.js';
import { boxDiskPath, type HomeLayout } from '../../../src/layout.js';
import { openInProcess, type InProcessDriver, type InProcessOptions } from '../../../src/workers/in-process.js';
import { qemuCheck, qemuCreate, qemuWrite, sha256 } from '../../helpers/qemu.js';
import { useTmpDirs } from '../../helpers/tmp.js';

/** Fresh homes and in-process drivers on them (fsync off); drivers still open are closed after each test. */
export function useHomes(): { newHome: () => string; open: (home: string, o?: InProcessOptions) => InProcessDriver } {
  const tmp = useTmpDirs('forkpoint-home-');
  const opened: InProcessDriver[] = [];
  afterEach(() => {
    for (const d of opened.splice(0)) {
      try {
        d.close();
      } catch {
        // closed by the test already
      }
    }
  });
  return {
    // A home one level down, so files a test puts beside it (`join(home, '..')`) go when its folder goes.
    newHome: () => {
      const home = join(tmp(), 'home');
      mkdirSync(home, { mode: 0o700 });
      return home;
    },
    open: (home, o = {}) => {
      const d = openInProcess(home, { fsync: false, ...o });
      opened.push(d);
      return d;
    },
  };
}

let seq = 0;
/** A fresh op id (the flows' idempotency key): the same request retried passes the same one again. */
export const newOp = (what = 'op'): string => `${what}-${process.pid}-${++seq}`;

/**
 * A ready box with a qemu-img-made disk holding a recognisable pattern,
 * recorded the way the seed adopts a box that already has its disk.
 */
export function makeBox(d: { layout: HomeLayout; writer: DbWriter }, boxId: string, pattern = 0x5a): string {
  const disk = boxDiskPath(d.layout, boxId);
  mkdirSync(join(d.layout.boxesDir, boxId, 'disks'), { recursive: true });
  qemuCreate(disk, { size: '64M' });
  qemuWrite(disk, pattern, 0, 65536);
  d.writer.apply({ type: 'createBox', op: `adopt-${boxId}`, boxId, baseId: null, adopt: true });
  d.writer.apply({ type: 'commitBox', op: `adopt-${boxId}`, boxId });
  return disk;
}

/** sha256 of the guest-visible bytes (the whole chain, read by qemu-img). */
export function guestBytes(disk: string): string {
  const out = `${disk}.${process.pid}.raw`;
  execFileSync('qemu-img', ['convert', '-U', '-O', 'raw', disk, out]);
  try {
    return sha256(out);
  } finally {
    rmSync(out, { force: true });
  }
}

/** The guest bytes of each box, to compare after a crash. */
export function bytesOf(layout: HomeLayout, boxes: readonly string[]): Record<string, string> {
  return Object.fromEntries(boxes.map((b) => [b, guestBytes(boxDiskPath(layout, b))]));
}

/** Invariant 2 for every box: the disk opens clean and reads what it read before. */
export function expectBoxesIntact(layout: HomeLayout, before: Record<string, string>): void {
  for (const [boxId, bytes] of Object.entries(before)) {
    const disk = boxDiskPath(layout, boxId);
    expect(existsSync(disk), `${boxId} disk exists`).toBe(true);
    const check = qemuCheck(disk);
    expect(check.status, check.output).toBe(0);
    expect(guestBytes(disk), `${boxId} bytes`).toBe(bytes);
  }
}

/** Every file in bases/ has a record and every record its file; nothing left half-done. */
export function expectBasesConsistent(layout: HomeLayout, db: Database): void {
  const files = readdirSync(layout.basesDir).map((f) => join(layout.basesDir, f)).sort();
  const rows = db.prepare('SELECT base_path, state FROM base_disk ORDER BY base_path').all() as { base_path: string; state: string }[];
  expect(rows.map((r) => r.base_path)).toEqual(files);
  expect(rows.filter((r) => r.state !== 'ready')).toEqual([]);
  expect(db.prepare("SELECT id FROM box WHERE state <> 'ready'").all()).toEqual([]);
}
