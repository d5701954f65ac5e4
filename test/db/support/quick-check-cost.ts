/**
 * What checking the database's pages costs as the home grows (docs/db.md
 * records the numbers): `npx tsx test/db/support/quick-check-cost.ts [sizes…]`.
 * Not a test. Each home has N ready bases, each with a box, a ref and the two
 * journal entries a clone leaves (beginFork with its payload and result,
 * addRefs), inserted directly, then checkpointed as a long-running home is.
 * Measured, median of 5 each, on a closed database (the OS cache warm):
 * - the whole writer open (`openDatabase`: header check, quick_check on the
 *   writable connection, pragmas), what every start-up pays, twice (recovery,
 *   then the writer thread);
 * - quick_check alone on a writable connection (it evaluates CHECK constraints);
 * - quick_check and integrity_check on a read-only connection (`check` runs the
 *   latter; a read-only connection skips the CHECK constraints).
 */
import Sqlite from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../../src/db/open.js';
import { addRef } from '../../../src/db/sql/addRef.js';
import { insertBase } from '../../../src/db/sql/insertBase.js';
import { insertBox } from '../../../src/db/sql/insertBox.js';
import { insertOp } from '../../../src/db/sql/insertOp.js';
import { mintBaseId } from '../../../src/ids.js';
import { homeLayout } from '../../../src/layout.js';

const sizes = process.argv.slice(2).map(Number);
const root = process.env.FORKPOINT_BENCH_DIR ?? tmpdir();

function populate(dbPath: string, n: number): void {
  const db = openDatabase(dbPath);
  const home = '/home/x';
  db.transaction(() => {
    let previous: string | null = null;
    for (let i = 0; i < n; i++) {
      const id = mintBaseId();
      const basePath = `${home}/bases/${id}.qcow2`;
      const diskPath = `${home}/boxes/box-${i}/disks/container.qcow2`;
      insertBase(db, { id, sourceBoxId: `box-${i}`, name: null, kind: 'clone_base', state: 'ready', basePath, containerDiskBytes: 1 << 30, sizeBytes: 1 << 20, parentId: i % 4 === 0 ? null : previous, opId: `op-${i}`, tombstoned: false, createdAt: i });
      insertBox(db, { id: `box-${i}`, state: 'ready', diskPath, baseId: id, opId: `op-${i}`, createdAt: i });
      addRef(db, id, `box-${i}`, i);
      const payload = { sourceBox: `box-${i}`, kind: 'clone_base', targets: [`t-${i}`], mode: 'move' };
      insertOp(db, { opId: `op-${i}`, command: 'beginFork', state: 'done', payloadJson: JSON.stringify(payload), resultJson: JSON.stringify({ baseId: id, basePath, sourceDiskPath: diskPath, targets: [], mode: 'move' }), now: i });
      insertOp(db, { opId: `op-${i}`, command: 'addRefs', state: 'done', payloadJson: JSON.stringify({ baseId: id, boxIds: [`t-${i}`] }), resultJson: JSON.stringify({ baseId: id, added: 1 }), now: i });
      previous = id;
    }
  }).immediate();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

function median(runs: number, fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

function pragmaTime(dbPath: string, readonly: boolean, pragma: string): number {
  return median(5, () => {
    const db = new Sqlite(dbPath, { readonly });
    try {
      if (db.pragma(pragma, { simple: true }) !== 'ok') throw new Error(`${pragma} failed`);
    } finally {
      db.close();
    }
  });
}

const rows: string[] = ['| bases | file | writer open (with quick_check) | quick_check, writable | quick_check, read-only | integrity_check, read-only |', '|---:|---:|---:|---:|---:|---:|'];
for (const n of sizes.length ? sizes : [1_000, 10_000, 100_000]) {
  const home = mkdtempSync(join(root, 'forkpoint-qc-'));
  const { dbPath } = homeLayout(home);
  try {
    populate(dbPath, n);
    const open = median(5, () => openDatabase(dbPath).close());
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    rows.push(`| ${n.toLocaleString('en')} | ${(statSync(dbPath).size / 2 ** 20).toFixed(1)} MiB | ${ms(open)} | ${ms(pragmaTime(dbPath, false, 'quick_check'))} | ${ms(pragmaTime(dbPath, true, 'quick_check'))} | ${ms(pragmaTime(dbPath, true, 'integrity_check'))} |`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
console.log(rows.join('\n'));
