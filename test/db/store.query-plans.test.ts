/**
 * Every lookup the writer runs per command must use an index, or its cost
 * grows with the number of records (the bench measures it; this catches it
 * without timing). EXPLAIN QUERY PLAN says SCAN for a full table scan.
 */
import { describe, expect, it } from 'vitest';
import { nextOp, readyBox, useWriters } from './support/writer.js';
import { addRefs } from '../../src/db/commands/addRefs.js';
import { claimGc } from '../../src/db/commands/claimGc.js';
import { finishRemoveBox } from '../../src/db/commands/finishRemoveBox.js';
import { removeBox } from '../../src/db/commands/removeBox.js';
import { removeBoxes } from '../../src/db/commands/removeBoxes.js';
import { finishRemoveBoxes } from '../../src/db/commands/finishRemoveBoxes.js';
import { beginFork } from '../../src/db/commands/beginFork.js';
import { boxesOfOp } from '../../src/db/sql/boxesOfOp.js';
import { mintBaseId } from '../../src/ids.js';
import { homeLayout } from '../../src/layout.js';
import type { Database } from 'better-sqlite3';
import { openDatabase } from '../../src/db/open.js';

const newWriter = useWriters();

/** Run `fn` while recording every statement it prepares-and-runs, then explain each. */
function plansOf(db: Database, fn: () => void): string[] {
  const seen: string[] = [];
  const original = db.prepare.bind(db);
  (db as unknown as { prepare: typeof db.prepare }).prepare = ((sql: string) => {
    seen.push(sql);
    return original(sql);
  }) as typeof db.prepare;
  try {
    fn();
  } finally {
    (db as unknown as { prepare: typeof db.prepare }).prepare = original;
  }
  return seen
    .filter((sql) => /^\s*(SELECT|UPDATE|DELETE)/i.test(sql))
    .flatMap((sql) =>
      (explain(db, sql) as { detail: string }[]).map(
        (r) => `${r.detail}   <- ${sql.replace(/\s+/g, ' ').slice(0, 80)}`,
      ),
    );
}

function explain(db: Database, sql: string): unknown[] {
  const stmt = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
  const named = [...new Set(sql.match(/@\w+/g) ?? [])].map((n) => [n.slice(1), 'x']);
  if (named.length) return stmt.all(Object.fromEntries(named));
  return stmt.all(...new Array((sql.match(/\?/g) ?? []).length).fill('x'));
}

describe('store: the hot queries are indexed', () => {
  it('claimGc, addRefs, removeBox(es), finishRemoveBox(es), beginFork and a batch\'s boxesOfOp never scan a table', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const ctx = { layout: homeLayout(w.layout.home), now: Date.now, mintId: mintBaseId };
    // A second connection has an empty statement cache, so every statement is seen being prepared.
    const db = openDatabase(w.layout.dbPath);
    const plans = plansOf(db, () => {
      db.transaction(() => {
        const b = beginFork(db, { type: 'beginFork', op: nextOp(), sourceBox: 'src', kind: 'clone_base', targets: ['t1', 't2'] }, ctx);
        db.prepare("UPDATE base_disk SET state = 'ready' WHERE id = ?").run(b.baseId);
        addRefs(db, { type: 'addRefs', op: nextOp(), baseId: b.baseId, boxIds: ['x'] }, ctx);
        removeBox(db, { type: 'removeBox', op: nextOp(), boxId: 'x' }, ctx);
        finishRemoveBox(db, { type: 'finishRemoveBox', boxId: 'x' }, ctx);
        removeBoxes(db, { type: 'removeBoxes', op: nextOp(), boxIds: ['t1', 'nosuch'] }, ctx);
        finishRemoveBoxes(db, { type: 'finishRemoveBoxes', boxIds: ['t1', 'nosuch'] }, ctx);
        claimGc(db, { type: 'claimGc', baseId: b.baseId }, ctx);
        boxesOfOp(db, 'some-op');
      })();
    });
    db.close();
    expect(plans.length).toBeGreaterThan(5);
    // A json_each over the ids a command was given is that list, read once: not a table scan.
    const scans = plans.filter((p) => /^SCAN (?!CONSTANT ROW)/.test(p) && !/USING (COVERING )?INDEX|VIRTUAL TABLE/.test(p));
    if (process.env.SHOW_PLANS) console.log(plans.join("\n"));
    expect(scans).toEqual([]);
  });
});
