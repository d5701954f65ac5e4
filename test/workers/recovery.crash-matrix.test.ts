/**
 * Invariant 2 on the production flows: every flow is stopped after each of
 * its port calls (every writer command, file task and GC request, the GC its
 * requests drain included) and at the crash points inside its file steps;
 * then recovery runs, every box disk must pass `qemu-img check` and read what
 * it read before, bases/ must match the records, nothing unread may be left,
 * and the same request retried under the same op must complete. One point per
 * flow is a real SIGKILL of a child process instead of a thrown stop.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readBackingChain } from '../../src/qcow2/chain.js';
import { openReader } from '../../src/db/reader.js';
import { exportFromHome } from '../../src/producers/oci-export.js';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { JobName } from '../../src/contract/jobs.js';
import { openDatabase } from '../../src/db/open.js';
import { planGcOf } from '../../src/db/rules/gcPlan.js';
import { findBox } from '../../src/db/sql/findBox.js';
import { findRootfs } from '../../src/db/sql/findRootfs.js';
import { findSnapshot } from '../../src/db/sql/findSnapshot.js';
import { listBases } from '../../src/db/sql/listBases.js';
import { listBoxes } from '../../src/db/sql/listBoxes.js';
import { listPendingOps } from '../../src/db/sql/listPendingOps.js';
import { armFault, disarmFaults, InjectedFault } from '../../src/faults.js';
import { boxDiskPath, homeLayout, type HomeLayout } from '../../src/layout.js';
import { openInProcess, type InProcessDriver, type PortCall } from '../../src/workers/in-process.js';
import { recover } from '../../src/workers/recovery/index.js';
import { qemuCheck, qemuCreate, qemuWrite, rawExt4Image, sha256 } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { bytesOf, expectBasesConsistent, expectBoxesIntact, guestBytes, makeBox } from '../db/support/home.js';

const tmp = useTmpDirs('fp-crash-');
afterEach(() => disarmFaults());

interface Scenario {
  flow: string;
  job: JobName;
  /** The request; `dir` holds the inputs prepare made beside the home. */
  payload(dir: string): Record<string, unknown>;
  /** Set up the home; returns the boxes whose bytes a crash must not change. */
  prepare(d: InProcessDriver, dir: string): Promise<string[]>;
  /** Crash points inside the flow's file steps (the driver cannot stop a file task half-way). */
  filePoints?: string[];
  /** What the completed request made, checked after the retry. */
  done(d: InProcessDriver, before: Record<string, string>, dir: string): void;
  /** Run with fsync on and the batch flush fixed to syncfs (group commit: flows/attach-children.ts); else fsync off. */
  syncfs?: true;
}

const OP = 'crash-op';
/**
 * Base ids in the order they are minted: a cascade visits bases in id order,
 * so random ids would change a flow's port calls from one run to the next.
 */
let minted = 0;
const writer = { mintId: () => `Base${String(++minted).padStart(4, '0')}` };
const run = (d: InProcessDriver, job: JobName, payload: Record<string, unknown>) => d.run(job, payload);

/** S (the source box) and K (a bystander) with different bytes. */
async function twoBoxes(d: InProcessDriver): Promise<string[]> {
  makeBox(d, 'S', 0x5a);
  makeBox(d, 'K', 0x3c);
  return ['S', 'K'];
}

function fromImage(dir: string): string {
  const image = join(dir, 'golden.qcow2');
  if (!existsSync(image)) {
    qemuCreate(image, { size: '8M' });
    qemuWrite(image, 0x42, 0, 131072);
  }
  return image;
}

const readsLike = (layout: HomeLayout, box: string, bytes: string | undefined) => expect(guestBytes(boxDiskPath(layout, box)), `${box} bytes`).toBe(bytes);

const scenarios: Scenario[] = [
  {
    flow: 'snapshot create (a fork)',
    job: 'snapshot-create',
    payload: () => ({ op: OP, boxId: 'S', name: 'v1' }),
    prepare: twoBoxes,
    filePoints: ['fork:after-move', 'fork:after-chmod', 'fork:after-child'],
    done: (d) => expect(findSnapshot(d.reader, 'S', 'v1')?.state).toBe('ready'),
  },
  {
    flow: 'clone of 3 targets',
    job: 'clone',
    payload: () => ({ op: OP, source: 'S', targets: ['C1', 'C2', 'C3'] }),
    prepare: twoBoxes,
    filePoints: ['fork:after-move', 'fork:after-child'],
    done: (d, before) => ['C1', 'C2', 'C3'].forEach((c) => readsLike(d.layout, c, before.S)),
  },
  {
    flow: 'clone of 40 targets, committed in groups behind one syncfs each',
    job: 'clone',
    payload: () => ({ op: OP, source: 'S', targets: Array.from({ length: 40 }, (_, i) => `G${i + 1}`) }),
    prepare: twoBoxes,
    syncfs: true,
    done: (d, before) => ['G1', 'G33', 'G40'].forEach((c) => readsLike(d.layout, c, before.S)),
  },
  {
    flow: 'clone that flattens (past the depth cap) and releases the old chain',
    job: 'clone',
    payload: () => ({ op: OP, source: 'S', targets: ['T'] }),
    prepare: async (d) => {
      const keep = await twoBoxes(d);
      for (let i = 0; i < 8; i++) {
        await run(d, 'clone', { op: `pre-${i}`, source: 'S', targets: [`P${i}`] });
        await run(d, 'remove-box', { op: `pre-rm-${i}`, boxId: `P${i}` });
      }
      return keep;
    },
    filePoints: ['flatten:after-base', 'flatten:after-child'],
    done: (d, before) => {
      readsLike(d.layout, 'T', before.S);
      expect(listBases(d.reader).map((b) => b.kind)).toEqual(['clone_base']); // the 8 old ones collected
    },
  },
  {
    flow: 'compact (a deep base flattened, its boxes re-pointed, the old chain collected)',
    job: 'compact',
    payload: (dir) => ({ baseId: readFileSync(join(dir, 'deep-base'), 'utf8') }),
    prepare: async (d, dir) => {
      await twoBoxes(d);
      for (let i = 1; i <= 4; i++) await run(d, 'clone', { op: `pre-${i}`, source: 'S', targets: [`C${i}`] });
      writeFileSync(join(dir, 'deep-base'), findBox(d.reader, 'C4')!.baseId!); // S and C4 read 4 backing files
      return ['S', 'K', 'C3', 'C4']; // C3 reads B3, where the GC cascade after the commit stops
    },
    filePoints: ['compact:after-copy', 'compact:after-repoint'],
    done: (d, before) => {
      for (const box of ['S', 'C4']) {
        expect(readBackingChain(boxDiskPath(d.layout, box)).length, `${box} chain`).toBe(1);
        readsLike(d.layout, box, before[box]);
      }
    },
  },
  {
    flow: 'box import (an OCI layout of S: its layers copied in, a box on them)',
    job: 'box-import',
    payload: (dir) => ({ op: OP, layout: join(dir, 'layout'), tag: 'S', boxId: 'N' }),
    prepare: async (d, dir) => {
      const keep = await twoBoxes(d);
      await run(d, 'clone', { op: 'pre-clone', source: 'S', targets: ['C1'] }); // S: a base and its disk
      const reader = openReader(d.layout.home);
      try {
        exportFromHome(reader, { boxId: 'S', dir: join(dir, 'layout') });
      } finally {
        reader.close();
      }
      return keep;
    },
    filePoints: ['import:after-layer'],
    done: (d, before) => readsLike(d.layout, 'N', before.S),
  },
  {
    flow: 'box create (empty disk)',
    job: 'box-create',
    payload: () => ({ op: OP, boxId: 'N', sizeBytes: 1 << 20 }),
    prepare: twoBoxes,
    done: (d) => expect(findBox(d.reader, 'N')?.state).toBe('ready'),
  },
  {
    flow: 'box create (from an image)',
    job: 'box-create',
    payload: (dir) => ({ op: OP, boxId: 'N', fromImage: fromImage(dir) }),
    prepare: async (d, dir) => (fromImage(dir), twoBoxes(d)),
    done: (d, _b, dir) => readsLike(d.layout, 'N', guestBytes(fromImage(dir))),
  },
  {
    flow: 'box create (on a rootfs)',
    job: 'box-create',
    payload: () => ({ op: OP, boxId: 'N', rootfs: 'r1' }),
    prepare: async (d, dir) => {
      await run(d, 'rootfs-import', { op: 'pre-rootfs', key: 'r1', image: rawExt4Image(join(dir, 'root.ext4')) });
      return twoBoxes(d);
    },
    done: (d) => expect(findBox(d.reader, 'N')?.baseId).toBe(findRootfs(d.reader, 'r1')?.id),
  },
  {
    flow: 'box rm',
    job: 'remove-box',
    payload: () => ({ op: OP, boxId: 'C1' }),
    prepare: async (d) => {
      const keep = await twoBoxes(d);
      await run(d, 'clone', { op: 'pre-clone', source: 'S', targets: ['C1'] });
      return keep;
    },
    done: (d) => expect([findBox(d.reader, 'C1'), existsSync(join(d.layout.boxesDir, 'C1'))]).toEqual([null, false]),
  },
  {
    flow: 'box rm of many boxes in one job (the base they read collected)',
    job: 'remove-box',
    payload: () => ({ op: OP, boxIds: ['C2', 'S', 'nosuch', 'C1'] }),
    prepare: async (d) => {
      await twoBoxes(d);
      await run(d, 'clone', { op: 'pre-clone', source: 'S', targets: ['C1', 'C2'] });
      return ['K'];
    },
    filePoints: ['remove-boxes:after-first'],
    done: (d) => {
      for (const id of ['C1', 'C2', 'S']) expect([findBox(d.reader, id), existsSync(join(d.layout.boxesDir, id))], id).toEqual([null, false]);
      expect(readdirSync(d.layout.basesDir)).toEqual([]);
    },
  },
  {
    flow: 'box rm with a 3-level GC cascade',
    job: 'remove-box',
    payload: () => ({ op: OP, boxId: 'S' }),
    prepare: async (d) => {
      await twoBoxes(d);
      for (const c of ['C1', 'C2', 'C3']) {
        await run(d, 'clone', { op: `pre-${c}`, source: 'S', targets: [c] });
        await run(d, 'remove-box', { op: `pre-rm-${c}`, boxId: c });
      }
      expect(listBases(d.reader)).toHaveLength(3); // S reads all three, one behind the other
      return ['K'];
    },
    done: (d) => expect(readdirSync(d.layout.basesDir)).toEqual([]),
  },
  {
    flow: 'snapshot rm (nothing reads it: collected)',
    job: 'snapshot-remove',
    payload: () => ({ op: OP, boxId: 'S', name: 'v1' }),
    prepare: async (d) => {
      await twoBoxes(d);
      await run(d, 'snapshot-create', { op: 'pre-snap', boxId: 'S', name: 'v1' });
      await run(d, 'remove-box', { op: 'pre-rm', boxId: 'S' });
      return ['K'];
    },
    done: (d) => expect(readdirSync(d.layout.basesDir)).toEqual([]),
  },
  {
    flow: 'snapshot clone',
    job: 'snapshot-clone',
    payload: () => ({ op: OP, boxId: 'S', name: 'v1', target: 'T' }),
    prepare: async (d) => {
      const keep = await twoBoxes(d);
      await run(d, 'snapshot-create', { op: 'pre-snap', boxId: 'S', name: 'v1' });
      return keep;
    },
    done: (d, before) => readsLike(d.layout, 'T', before.S),
  },
  {
    flow: 'snapshot restore (the old chain released and collected)',
    job: 'snapshot-restore',
    payload: () => ({ op: OP, boxId: 'S', name: 'v1' }),
    prepare: async (d) => {
      await twoBoxes(d);
      await run(d, 'snapshot-create', { op: 'pre-snap', boxId: 'S', name: 'v1' });
      // A clone after the snapshot puts a clone base between S and v1 that only S reads.
      await run(d, 'clone', { op: 'pre-clone', source: 'S', targets: ['C1'] });
      await run(d, 'remove-box', { op: 'pre-rm', boxId: 'C1' });
      qemuWrite(boxDiskPath(d.layout, 'S'), 0x77, 0, 65536); // what the restore throws away
      return ['K']; // S reads its old bytes or the snapshot's, never anything else (checked in done)
    },
    filePoints: ['restore:after-child', 'restore:after-swap'],
    done: (d) => {
      const snap = findSnapshot(d.reader, 'S', 'v1')!;
      readsLike(d.layout, 'S', guestBytes(snap.basePath));
      expect(findBox(d.reader, 'S')?.baseId).toBe(snap.id);
      expect(listBases(d.reader).map((b) => b.id)).toEqual([snap.id]); // the clone base went
    },
  },
  {
    flow: 'rootfs import',
    job: 'rootfs-import',
    payload: (dir) => ({ op: OP, key: 'r1', image: join(dir, 'root.ext4') }),
    prepare: async (d, dir) => (rawExt4Image(join(dir, 'root.ext4')), twoBoxes(d)),
    done: (d, _b, dir) => expect(sha256(findRootfs(d.reader, 'r1')!.basePath)).toBe(sha256(join(dir, 'root.ext4'))),
  },
  {
    flow: 'rootfs rm',
    job: 'rootfs-remove',
    payload: () => ({ op: OP, key: 'r1' }),
    prepare: async (d, dir) => {
      await run(d, 'rootfs-import', { op: 'pre-rootfs', key: 'r1', image: rawExt4Image(join(dir, 'root.ext4')) });
      return twoBoxes(d);
    },
    done: (d) => expect([findRootfs(d.reader, 'r1'), readdirSync(d.layout.basesDir)]).toEqual([null, []]),
  },
];

type Stop = { after: number } | { fault: string } | { kill: number };
const describeStop = (s: Stop) => ('after' in s ? `after port call ${s.after}` : 'fault' in s ? `at ${s.fault}` : `SIGKILL after port call ${s.kill}`);
const describeCall = (c: PortCall) => (c.port === 'writer' ? `writer ${c.command}` : c.port === 'files' ? `file ${c.task}` : `requestGc ${c.baseIds.join(',')}`);

/** A fresh home set up for `s`, with the bytes to keep. */
async function prepared(s: Scenario): Promise<{ dir: string; home: string; before: Record<string, string> }> {
  const dir = tmp();
  const home = join(dir, 'home');
  mkdirSync(home);
  // Compaction off while preparing: a scenario's deep chain (the flatten's, the compaction's) stays deep.
  const d = openInProcess(home, { fsync: false, writer, compaction: false });
  try {
    const keep = await s.prepare(d, dir);
    return { dir, home, before: bytesOf(d.layout, keep) };
  } finally {
    d.close();
  }
}

/** The port calls of the whole request, run through on a fresh home. */
async function portCalls(s: Scenario): Promise<string[]> {
  const { dir, home } = await prepared(s);
  const calls: string[] = [];
  const d = openInProcess(home, { fsync: s.syncfs ?? false, writer, afterPortCall: (c) => void calls.push(describeCall(c)) });
  try {
    await d.run(s.job, s.payload(dir));
  } finally {
    d.close();
  }
  return calls;
}

/** Invariant 2, and nothing unread left behind: what every crash must leave once recovered. */
function expectRecovered(layout: HomeLayout, before: Record<string, string>): void {
  expectBoxesIntact(layout, before);
  const db = openDatabase(layout.dbPath, { readonly: true });
  try {
    expectBasesConsistent(layout, db);
    for (const box of listBoxes(db)) expect(qemuCheck(box.diskPath).status, `${box.id} disk`).toBe(0);
    expect(planGcOf(db), 'bases nothing reads').toEqual([]);
    // Recovery settles every operation it finds, and a finished job everything it journalled: a
    // pending entry is never pruned and reads as "cut off here" (a retry alone would hide a missing pass).
    expect(listPendingOps(db).map((e) => `${e.command} ${e.opId}`), 'journal entries left pending').toEqual([]);
  } finally {
    db.close();
  }
}

async function crashRecoverRetry(s: Scenario, stop: Stop): Promise<void> {
  const { dir, home, before } = await prepared(s);
  const payload = s.payload(dir);
  if ('kill' in stop) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'support', 'crash-child.ts'), home, s.job, JSON.stringify(payload), String(stop.kill)], {
      encoding: 'utf8',
      env: { ...process.env, FORKPOINT_CHILDREN_FLUSH: s.syncfs ? 'syncfs' : 'fsync' },
    });
    expect(child.signal, `${child.status} ${child.stderr}`).toBe('SIGKILL');
  } else {
    const d = openInProcess(home, {
      fsync: s.syncfs ?? false,
      writer,
      afterPortCall: (c, i) => {
        if ('after' in stop && i === stop.after) throw new InjectedFault(`port call ${i} (${describeCall(c)})`);
      },
    });
    if ('fault' in stop) armFault(stop.fault, 'throw');
    await expect(d.run(s.job, payload)).rejects.toBeInstanceOf(InjectedFault);
    disarmFaults();
    d.close();
  }

  // No job runs now, so an orphan file the stop left (a rootfs copied in, not yet recorded) goes at once.
  const report = await recover(home, { fsync: s.syncfs ?? false, orphanGraceMs: 0 });
  expect(report.problems.filter((p) => !p.repaired)).toEqual([]);
  const layout = homeLayout(home);
  expectRecovered(layout, before);

  const d = openInProcess(home, { fsync: s.syncfs ?? false, writer });
  try {
    await d.run(s.job, payload); // the same request, under the same op
    s.done(d, before, dir);
  } finally {
    d.close();
  }
  expectRecovered(layout, before);
  expect((await recover(home, { fsync: false })).problems, 'a second recovery finds nothing').toEqual([]);
}

const ran: string[] = [];
afterAll(() => {
  const total = ran.reduce((n, line) => n + Number(/: (\d+) points/.exec(line)![1]), 0);
  console.log(`crash matrix: ${total} crash points over ${ran.length} flows\n  ${ran.join('\n  ')}`);
});

describe('crash matrix: stop, recover, check, retry', () => {
  afterEach(() => {
    delete process.env.FORKPOINT_CHILDREN_FLUSH;
  });
  for (const s of scenarios) {
    it(s.flow, { timeout: 240_000 }, async () => {
      if (s.syncfs) process.env.FORKPOINT_CHILDREN_FLUSH = 'syncfs';
      const calls = await portCalls(s);
      expect(calls.length).toBeGreaterThan(0);
      const stops: Stop[] = [...calls.map((_, i) => ({ after: i + 1 })), ...(s.filePoints ?? []).map((fault) => ({ fault })), { kill: Math.ceil(calls.length / 2) }];
      for (const stop of stops) {
        try {
          await crashRecoverRetry(s, stop);
        } catch (err) {
          const at = 'after' in stop ? ` (${calls[stop.after - 1]})` : 'kill' in stop ? ` (${calls[stop.kill - 1]})` : '';
          throw new Error(`${s.flow}: stopped ${describeStop(stop)}${at}: ${(err as Error).message}`, { cause: err });
        }
      }
      ran.push(`${s.flow}: ${stops.length} points (${calls.join(' → ')})`);
    });
  }
});
