/**
 * existingBoxIds (beginFork's one-statement check of a clone's targets): exactly the ids that have
 * a row, in the order given, names JSON must escape included; and beginFork still names every
 * target that exists, in the caller's order, on a real database.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { existingBoxIds } from '../../src/db/sql/existingBoxIds.js';
import { nextOp, readyBox, useWriters } from './support/writer.js';

const newWriter = useWriters();
const odd = ['it\'s "q"', 'ünï-名前', 'with space', 'box-😀'];

describe('existingBoxIds', () => {
  it('the ids with a row, in the order given; unknown ones and an empty list give nothing', () => {
    const w = newWriter();
    for (const id of ['a', 'b', ...odd]) readyBox(w, id);
    const db = w.connection;
    expect(existingBoxIds(db, [])).toEqual([]);
    expect(existingBoxIds(db, ['zz', 'b', 'nope', 'a'])).toEqual(['b', 'a']);
    expect(existingBoxIds(db, [...odd].reverse())).toEqual([...odd].reverse());
    expect(existingBoxIds(db, ['B', 'a '])).toEqual([]); // exact match only
  });

  it('beginFork refuses every target that exists, counted and named in the order given', () => {
    const w = newWriter();
    for (const id of ['src', 't3', 't1']) readyBox(w, id);
    const targets = ['t0', 't1', 't2', 't3'];
    expect(() => w.apply({ type: 'beginFork', op: nextOp('clone'), sourceBox: 'src', kind: 'clone_base', targets })).toThrow(
      expect.objectContaining({ code: ErrorCodes.ALREADY_EXISTS, details: expect.objectContaining({ existing: ['t1', 't3'], existingCount: 2 }) }),
    );
  });
});
