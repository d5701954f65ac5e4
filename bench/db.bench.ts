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
// Measured inside batches (one commit per 1000) so the fsync does not hide the query cost.
const scaling: Array<[number, number, number]> = [];
for (const n of [1_000, 10_000, 100_000]) {
  withHome((w) => {
    const ids = populate(w, n);
    const pick = (i: number) => ids[(i * 7919) % ids.length]!;
    const m = 5000;
    const time = (make: (i: number) => WriterCommand): number => {
      const samples: number[] = [];
      for (let r = 0; r < 5; r++) {
        const cmds = Array.from({ length: m / 5 }, (_, i) => make(r * m + i));
        const t0 = performance.now();
        w.applyBatch(cmds);
        samples.push(((performance.now() - t0) * 1000) / cmds.length);
      }
      return samples.sort((a, b) => a - b)[2]!; // median of 5
    };
    const claim = time((i) => ({ type: 'claimGc', baseId: pick(i) }));
    const add = time((i) => ({ type: 'addRefs', op: op(), baseId: pick(i), boxIds: [`s-${i}`] }));
    scaling.push([n, claim, add]);
  });
}
for (const [n, claim, add] of scaling) {
  rows.push([`claimGc / addRefs at ${n.toLocaleString('en')} bases (batched)`, `${claim.toFixed(1)} µs`, `${add.toFixed(1)} µs`]);
}
const growth = (k: 1 | 2) => ((scaling[2]![k] / scaling[0]![k] - 1) * 100).toFixed(0);
rows.push(['growth 1k → 100k', `claimGc ${growth(1)}%`, `addRefs ${growth(2)}%`]);

const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length), 10));
console.log(`forkpoint db bench (synchronous=FULL, WAL; folder ${root}; node ${process.version})\n`);
for (const r of rows) console.log(`| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`);
