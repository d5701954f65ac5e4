/**
 * DB writer throughput with synchronous=FULL, and how the per-command cost of
 * claimGc / addRefs grows with the number of base records (it must stay flat:
 * every lookup is indexed). One run, one table: `npm run bench:db`.
 * FORKPOINT_BENCH_DIR picks the folder (default: the OS temp folder).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { addRef } from '../src/db/sql/addRef.js';
import { insertBase } from '../src/db/sql/insertBase.js';
import { insertBox } from '../src/db/sql/insertBox.js';
import type { WriterCommand } from '../src/db/types.js';
import { openWriter, type DbWriter } from '../src/db/writer.js';
import { mintBaseId } from '../src/ids.js';

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
  rate('claimGc kept (has refs; commit writes nothing, no fsync)', n, 'cmd', () => {
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

// 2. Scaling: per-command cost of claimGc and addRefs at 1k, 10k, 100k base records.
// The three homes are open at once and measured in interleaved rounds, so a noisy
// neighbour on this shared machine disturbs all sizes alike; each round is one
// batch of BATCH commands (one commit), the size of what the pipeline's writer
// thread gathers while a commit is in flight, so the fsync is shared as in real
// use. The median over many rounds is reported.
const scaling: Array<[number, number, number]> = [];
const hotScaling: Array<[number, number, number]> = [];
{
  const SIZES = [1_000, 10_000, 100_000];
  const BATCH = 64;
  const ROUNDS = 40;
  const homes = SIZES.map((n) => {
    const home = mkdtempSync(join(root, 'forkpoint-bench-'));
    const w = openWriter(home);
    const ids = populate(w, n);
    // The hot set: the same number of bases touched at every size, spread over the whole table.
    const hot = Array.from({ length: SIZES[0]! }, (_, i) => ids[Math.floor((i * n) / SIZES[0]!)]!);
    return { n, home, w, ids, hot, claim: [] as number[], add: [] as number[], hotClaim: [] as number[], hotAdd: [] as number[] };
  });
  const perCommand = (w: DbWriter, cmds: WriterCommand[]): number => {
    const t0 = performance.now();
    w.applyBatch(cmds);
    return ((performance.now() - t0) * 1000) / cmds.length;
  };
  try {
    for (let r = -3; r < ROUNDS; r++) {
      for (const h of homes) {
        const round = (from: string[], tag: string): [number, number] => {
          const pick = (i: number) => from[(i * 7919 + r * 104729) % from.length]!;
          return [
            perCommand(h.w, Array.from({ length: BATCH }, (_, i): WriterCommand => ({ type: 'claimGc', baseId: pick(i) }))),
            perCommand(h.w, Array.from({ length: BATCH }, (_, i): WriterCommand => ({ type: 'addRefs', op: op(), baseId: pick(i), boxIds: [`${tag}-${r}-${i}`] }))),
          ];
        };
        const [claim, add] = round(h.ids, 's');
        const [hotClaim, hotAdd] = round(h.hot, 'h');
        if (r >= 0) {
          h.claim.push(claim);
          h.add.push(add);
          h.hotClaim.push(hotClaim);
          h.hotAdd.push(hotAdd);
        }
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    for (const h of homes) scaling.push([h.n, median(h.claim), median(h.add)]);
    for (const h of homes) hotScaling.push([h.n, median(h.hotClaim), median(h.hotAdd)]);
  } finally {
    for (const h of homes) {
      h.w.close();
      rmSync(h.home, { recursive: true, force: true });
    }
  }
}
const growth = (table: Array<[number, number, number]>, k: 1 | 2) => ((table[2]![k] / table[0]![k] - 1) * 100).toFixed(0);
for (const [table, what] of [
  [scaling, 'any base'],
  [hotScaling, 'the same 1k bases'],
] as const) {
  for (const [n, claim, add] of table) {
    rows.push([`claimGc / addRefs at ${n.toLocaleString('en')} bases, touching ${what}`, `${claim.toFixed(1)} µs`, `${add.toFixed(1)} µs`]);
  }
  rows.push([`growth 1k → 100k, touching ${what}`, `claimGc ${growth(table, 1)}%`, `addRefs ${growth(table, 2)}%`]);
}

const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length), 10));
console.log(`forkpoint db bench (synchronous=FULL, WAL; folder ${root}; node ${process.version})\n`);
for (const r of rows) console.log(`| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`);
