/**
 * DB writer throughput with synchronous=FULL, and how the per-command cost of
 * claimGc / addRefs grows with the number of base records (it must stay flat:
 * every lookup is indexed). One run, one table: `npm run bench:db`.
 * FORKPOINT_BENCH_DIR picks the folder (default: the OS temp folder).
 */
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { addRef } from '../src/db/sql/addRef.js';
import { insertBase } from '../src/db/sql/insertBase.js';
import { insertBox } from '../src/db/sql/insertBox.js';
import { statement } from '../src/db/sql/statement.js';
import type { WriterCommand } from '../src/db/types.js';
import { openWriter, type DbWriter } from '../src/db/writer.js';
import { mintBaseId } from '../src/ids.js';
import { startDbWriter } from '../src/workers/db-writer-client.js';

const root = process.env.FORKPOINT_BENCH_DIR ?? tmpdir();
const rows: Array<[string, string, string]> = [];
let seq = 0;
const op = () => `bench-${++seq}`;

function withHome<T>(fn: (w: DbWriter) => T): T {
  const home = mkdtempSync(join(root, 'forkpoint-bench-'));
  const w = openWriter(home);
  try {
    return fn(w);
  } finally {
    w.close();
    rmSync(home, { recursive: true, force: true });
  }
}

function rate(label: string, count: number, unit: string, fn: () => void): void {
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  rows.push([label, `${Math.round((count * 1000) / ms).toLocaleString('en')} ${unit}/s`, `${((ms * 1000) / count).toFixed(1)} µs/${unit}`]);
}

/** N ready clone bases, each with one ref, inserted directly in one transaction (set-up, not measured). */
function populate(w: DbWriter, n: number): string[] {
  const db = w.connection;
  const ids: string[] = [];
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = mintBaseId();
      insertBase(db, {
        id, sourceBoxId: `src-${i}`, name: null, kind: 'clone_base', state: 'ready',
        basePath: `${w.layout.basesDir}/${id}.qcow2`, containerDiskBytes: 1 << 30, sizeBytes: 1 << 20,
        parentId: i > 0 && i % 4 !== 0 ? ids[i - 1]! : null, opId: `seed-${i}`, tombstoned: false, createdAt: i,
      });
      insertBox(db, { id: `src-${i}`, state: 'ready', diskPath: `${w.layout.boxesDir}/src-${i}/disks/container.qcow2`, baseId: id, opId: `seed-${i}`, createdAt: i });
      addRef(db, id, `src-${i}`, i);
      ids.push(id);
    }
  })();
  // A long-running home has its WAL checkpointed; a 100k-row WAL would otherwise tax every read.
  db.pragma('wal_checkpoint(TRUNCATE)');
  return ids;
}

// 1. Throughput: every single command pays one fsync'd commit; batches share one.
withHome((w) => {
  const [base] = populate(w, 1);
  const n = 300;
  rate('addRefs, 1 ref per command (1 txn each)', n, 'cmd', () => {
    for (let i = 0; i < n; i++) w.apply({ type: 'addRefs', op: op(), baseId: base!, boxIds: [`single-${i}`] });
  });
  rate('claimGc kept (has refs; its commit writes nothing, so no fsync)', n, 'cmd', () => {
    for (let i = 0; i < n; i++) w.apply({ type: 'claimGc', baseId: base! });
  });
  const refsPer = 1000;
  rate(`addRefs, ${refsPer} refs in one command`, 20 * refsPer, 'ref', () => {
    for (let i = 0; i < 20; i++) {
      w.apply({ type: 'addRefs', op: op(), baseId: base!, boxIds: Array.from({ length: refsPer }, (_, j) => `many-${i}-${j}`) });
    }
  });
  const batch = 500;
  rate(`applyBatch of ${batch} addRefs (1 txn per batch)`, 20 * batch, 'cmd', () => {
    for (let i = 0; i < 20; i++) {
      w.applyBatch(Array.from({ length: batch }, (_, j): WriterCommand => ({ type: 'addRefs', op: op(), baseId: base!, boxIds: [`b-${i}-${j}`] })));
    }
  });
  rate(`applyBatch of ${batch} createBox`, 20 * batch, 'cmd', () => {
    for (let i = 0; i < 20; i++) {
      w.applyBatch(Array.from({ length: batch }, (_, j): WriterCommand => ({ type: 'createBox', op: op(), boxId: `nb-${i}-${j}`, baseId: null })));
    }
  });
});

// 2. Scaling: per-command cost of claimGc and addRefs at 1k, 10k and 100k base
// records, on three paths:
//   - in-process batches of BATCH commands (one commit each): the CPU-bound worst case,
//   - the pipeline's writer thread, BATCH requests in flight (what every job pays),
//   - one command per transaction (addRefs: one fsync each; a kept claim writes nothing),
// next to the floor: SQLite alone running the same index probes as raw statements.
// Every round picks fresh random bases for every measurement, so each one meets
// cold leaf pages as a real workload over a large home does. Homes are measured
// in interleaved rounds (a noisy neighbour disturbs all sizes alike); medians.
const SIZES = [1_000, 10_000, 100_000];
const BATCH = 64;
const ROUNDS = 40;
type Path = 'batched' | 'thread' | 'single' | 'floor';
type Sample = Record<`${'claim' | 'add'}:${Path}`, number[]>;
const scaling: Array<{ n: number; median: Record<string, number> }> = [];
{
  const homes = await Promise.all(
    SIZES.map(async (n) => {
      const home = mkdtempSync(join(root, 'forkpoint-bench-'));
      const w = openWriter(home);
      const ids = populate(w, n);
      // The thread path gets its own copy of the same records: one writer per home.
      const threadHome = mkdtempSync(join(root, 'forkpoint-bench-'));
      copyFileSync(join(home, 'db', 'forkpoint.db'), join(threadHome, 'db-copy'));
      mkdirSync(join(threadHome, 'db'));
      renameSync(join(threadHome, 'db-copy'), join(threadHome, 'db', 'forkpoint.db'));
      const thread = await startDbWriter(threadHome);
      return { n, home, threadHome, w, thread, ids, samples: {} as Partial<Sample> };
    }),
  );
  let salt = 0;
  const picks = (ids: string[]) => {
    const s = ++salt * 104729;
    return Array.from({ length: BATCH }, (_, i) => ids[(i * 7919 + s) % ids.length]!);
  };
  const perCommand = async (fn: () => unknown): Promise<number> => {
    const t0 = performance.now();
    await fn();
    return ((performance.now() - t0) * 1000) / BATCH;
  };
  const claims = (bases: string[]): WriterCommand[] => bases.map((baseId) => ({ type: 'claimGc', baseId }));
  const adds = (bases: string[]): WriterCommand[] => bases.map((baseId, i) => ({ type: 'addRefs', op: op(), baseId, boxIds: [`r-${seq}-${i}`] }));
  try {
    for (let r = -3; r < ROUNDS; r++) {
      for (const h of homes) {
        const db = h.w.connection;
        // The floor runs exactly the probes and writes of the two commands, as bare statements.
        const floorClaim = db.transaction((bases: string[]) => {
          for (const id of bases) {
            statement(db, 'SELECT * FROM base_disk WHERE id = ?').get(id);
            statement(db, 'SELECT EXISTS (SELECT 1 FROM base_disk_ref WHERE base_disk_id = ?)').get(id);
          }
        });
        const floorAdd = db.transaction((bases: string[]) => {
          for (const id of bases) {
            const opId = op();
            statement(db, "SELECT payload_json FROM op WHERE op_id = ? AND command = 'addRefs'").get(opId);
            statement(db, 'SELECT * FROM base_disk WHERE id = ?').get(id);
            statement(db, 'INSERT INTO base_disk_ref (base_disk_id, box_id, created_at) VALUES (?, ?, 0)').run(id, opId);
            statement(db, 'SELECT * FROM box WHERE id = ?').get(opId);
            statement(db, "INSERT INTO op VALUES (?, 'addRefs', 'done', '{}', '{}', 0, 0)").run(opId);
          }
        });
        const timings: Array<[keyof Sample, number]> = [
          ['claim:batched', await perCommand(() => h.w.applyBatch(claims(picks(h.ids))))],
          ['add:batched', await perCommand(() => h.w.applyBatch(adds(picks(h.ids))))],
          ['claim:thread', await perCommand(() => Promise.all(claims(picks(h.ids)).map((c) => h.thread.apply(c))))],
          ['add:thread', await perCommand(() => Promise.all(adds(picks(h.ids)).map((c) => h.thread.apply(c))))],
          ['claim:single', await perCommand(() => claims(picks(h.ids)).forEach((c) => h.w.apply(c)))],
          ['add:single', await perCommand(() => adds(picks(h.ids)).forEach((c) => h.w.apply(c)))],
          ['claim:floor', await perCommand(() => floorClaim.immediate(picks(h.ids)))],
          ['add:floor', await perCommand(() => floorAdd.immediate(picks(h.ids)))],
        ];
        if (r >= 0) for (const [key, us] of timings) (h.samples[key] ??= []).push(us);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    for (const h of homes) {
      scaling.push({ n: h.n, median: Object.fromEntries(Object.entries(h.samples).map(([k, xs]) => [k, median(xs!)])) });
    }
  } finally {
    for (const h of homes) {
      h.w.close();
      await h.thread.close();
      rmSync(h.home, { recursive: true, force: true });
      rmSync(h.threadHome, { recursive: true, force: true });
    }
  }
}
const PATHS: Array<[Path, string]> = [
  ['thread', 'through the writer thread'],
  ['single', 'one command per transaction'],
  ['batched', `in-process batches of ${BATCH}`],
  ['floor', 'floor: SQLite alone, same probes'],
];
rows.push(['', '', '']);
rows.push(['per-command cost as the home grows', 'claimGc (kept: has refs)', 'addRefs (1 ref)']);
for (const [path, label] of PATHS) {
  for (const { n, median } of scaling) {
    rows.push([`${label}, ${n.toLocaleString('en')} bases`, `${median[`claim:${path}`]!.toFixed(1)} µs`, `${median[`add:${path}`]!.toFixed(1)} µs`]);
  }
  const growth = (k: 'claim' | 'add') => {
    const [small, large] = [scaling[0]!.median[`${k}:${path}`]!, scaling[2]!.median[`${k}:${path}`]!];
    return `${large >= small ? '+' : ''}${((large / small - 1) * 100).toFixed(0)}% (${large >= small ? '+' : ''}${(large - small).toFixed(1)} µs)`;
  };
  rows.push([`${label}: growth 1k → 100k`, growth('claim'), growth('add')]);
}
// What our code adds on top of SQLite's own probes (validation, journal, savepoints, records).
const own = (k: 'claim' | 'add', i: number) => scaling[i]!.median[`${k}:batched`]! - scaling[i]!.median[`${k}:floor`]!;
const ownGrowth = (k: 'claim' | 'add') => `${own(k, 0).toFixed(1)} → ${own(k, 2).toFixed(1)} µs (${own(k, 2) >= own(k, 0) ? '+' : ''}${((own(k, 2) / own(k, 0) - 1) * 100).toFixed(0)}%)`;
rows.push(['our own cost (batched − floor), 1k → 100k', ownGrowth('claim'), ownGrowth('add')]);

const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length), 10));
console.log(`forkpoint db bench (synchronous=FULL, WAL; folder ${root}; node ${process.version})\n`);
for (const r of rows) console.log(`| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`);
