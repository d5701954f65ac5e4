/** Homes with real qcow2 boxes for the manager and recovery tests. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { BaseDiskManager } from '../../../src/db/manager.js';
import { boxDiskPath } from '../../../src/layout.js';
import { qemuCheck, qemuCreate, qemuWrite, sha256 } from '../../helpers/qemu.js';
import { useTmpDirs } from '../../helpers/tmp.js';

export function useManagers(): { newHome: () => string; open: (home: string) => BaseDiskManager } {
  const tmp = useTmpDirs('forkpoint-mgr-');
  const opened: BaseDiskManager[] = [];
  afterEach(() => {
    for (const m of opened.splice(0)) m.close();
  });
  return {
    newHome: tmp,
    open: (home) => {
      const m = BaseDiskManager.open(home, { fsync: false });
      opened.push(m);
      return m;
    },
  };
}

/** A box with a qemu-img-made disk holding a recognisable pattern. */
export function makeBox(mgr: BaseDiskManager, boxId: string, pattern = 0x5a): string {
  const disk = boxDiskPath(mgr.layout, boxId);
  mkdirSync(join(mgr.layout.boxesDir, boxId, 'disks'), { recursive: true });
  qemuCreate(disk, { size: '64M' });
  qemuWrite(disk, pattern, 0, 65536);
  mgr.adoptBox(boxId);
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

/** Invariant 2 for every box: the disk opens clean and reads what it read before. */
export function expectBoxesIntact(mgr: BaseDiskManager, before: Record<string, string>): void {
  for (const [boxId, bytes] of Object.entries(before)) {
    const disk = boxDiskPath(mgr.layout, boxId);
    expect(existsSync(disk), `${boxId} disk exists`).toBe(true);
    expect(qemuCheck(disk).status, qemuCheck(disk).output).toBe(0);
    expect(guestBytes(disk), `${boxId} bytes`).toBe(bytes);
  }
}

/** Every file in bases/ has a record and every record its file; nothing left half-done. */
export function expectBasesConsistent(mgr: BaseDiskManager): void {
  const files = readdirSync(mgr.layout.basesDir).map((f) => join(mgr.layout.basesDir, f)).sort();
  const rows = mgr.writer.connection.prepare('SELECT base_path, state FROM base_disk ORDER BY base_path').all() as {
    base_path: string;
    state: string;
  }[];
  expect(rows.map((r) => r.base_path)).toEqual(files);
  expect(rows.filter((r) => r.state !== 'ready')).toEqual([]);
  expect(mgr.writer.connection.prepare("SELECT id FROM box WHERE state <> 'ready'").all()).toEqual([]);
}
