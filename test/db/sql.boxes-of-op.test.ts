/**
 * insertBoxes (a clone's targets in one statement) writes the rows insertBox writes one by one,
 * and boxesOfOp reads back exactly the rows of one op, on a real database.
 */
import { describe, expect, it } from 'vitest';
import { boxesOfOp } from '../../src/db/sql/boxesOfOp.js';
import { findBox } from '../../src/db/sql/findBox.js';
import { insertBox } from '../../src/db/sql/insertBox.js';
import { insertBoxes } from '../../src/db/sql/insertBoxes.js';
import { forkRecords, nextOp, readyBox, useWriters } from './support/writer.js';

const newWriter = useWriters();

// Paths carry what JSON must escape and SQLite must keep: quotes, a backslash, non-ASCII, a newline.
const odd = (id: string) => `/h\u00f6me/it's "here"\\\n/boxes/${id}/disks/container.qcow2`;

describe('insertBoxes and boxesOfOp', () => {
  it('insertBoxes makes the rows insertBox makes, paths kept byte for byte', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const baseId = forkRecords(w, 'src');
    const db = w.connection;
    const shared = { state: 'creating' as const, baseId, createdAt: 1_700_000_000_123 };
    db.transaction(() => {
      for (const id of ['one-a', 'one-b']) insertBox(db, { id, diskPath: odd(id), opId: 'op-one', ...shared });
      insertBoxes(db, ['bulk-a', 'bulk-b'].map((boxId) => ({ boxId, diskPath: odd(boxId) })), { ...shared, opId: 'op-bulk' });
      insertBoxes(db, [], { ...shared, opId: 'op-none' });
    })();
    for (const [one, bulk] of [['one-a', 'bulk-a'], ['one-b', 'bulk-b']] as const) {
      const a = findBox(db, one)!;
      const b = findBox(db, bulk)!;
      expect({ ...b, id: one, diskPath: b.diskPath.replace(bulk, one), opId: 'op-one' }).toEqual(a);
      expect(b.diskPath).toBe(odd(bulk));
    }
    expect(boxesOfOp(db, 'op-none').size).toBe(0);
  });

  it('boxesOfOp reads the rows of that op only, keyed by id, as findBox reads them', () => {
    const w = newWriter();
    readyBox(w, 'src');
    readyBox(w, 'other');
    const op = nextOp('clone');
    w.apply({ type: 'beginFork', op, sourceBox: 'src', kind: 'clone_base', targets: ['t1', 't2', 't3'] });
    w.apply({ type: 'beginFork', op: nextOp('clone'), sourceBox: 'other', kind: 'clone_base', targets: ['u1'] });
    const rows = boxesOfOp(w.connection, op);
    expect([...rows.keys()].sort()).toEqual(['t1', 't2', 't3']);
    for (const [id, row] of rows) expect(row).toEqual(findBox(w.connection, id));
    expect(boxesOfOp(w.connection, 'no-such-op').size).toBe(0);
  });
});
