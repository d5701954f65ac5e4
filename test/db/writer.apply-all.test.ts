/**
 * applyAll lands commands together or not at all: recovery commits a clone
 * target and takes its ref in one transaction, so no crash can leave the box
 * ready without its ref (no later pass looks at a ready box again).
 */
import { describe, expect, it } from 'vitest';
import { findBox } from '../../src/db/sql/findBox.js';
import { refsOfBox } from '../../src/db/sql/refsOfBox.js';
import { forkRecords, nextOp, readyBox, removeBoxRecords, useWriters } from './support/writer.js';

const newWriter = useWriters();

describe('writer: applyAll', () => {
  it('applies every command in one transaction and returns their results in order', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const base = forkRecords(w, 'src');
    w.apply({ type: 'createBox', op: 'mk-t', boxId: 't', baseId: base });
    const [committed, reffed] = w.applyAll([
      { type: 'commitBox', op: nextOp(), boxId: 't' },
      { type: 'addRefs', op: nextOp(), baseId: base, boxIds: ['t'] },
    ]);
    expect(committed).toMatchObject({ id: 't', state: 'ready' });
    expect(reffed).toEqual({ baseId: base, added: 0 }); // createBox took it already
    expect(refsOfBox(w.connection, 't')).toEqual([base]);
  });

  it('when one command is refused, none lands, and the refusal is thrown', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const base = forkRecords(w, 'src');
    w.apply({ type: 'createBox', op: 'mk-t', boxId: 't', baseId: null });
    removeBoxRecords(w, 'src'); // the base is read by nothing now
    expect(w.apply({ type: 'claimGc', baseId: base })).toMatchObject({ claimed: true });
    expect(() =>
      w.applyAll([
        { type: 'commitBox', op: nextOp(), boxId: 't' },
        { type: 'addRefs', op: nextOp(), baseId: base, boxIds: ['t'] },
      ]),
    ).toThrow(expect.objectContaining({ code: 'E_BASE_DELETING' }));
    expect(findBox(w.connection, 't')).toMatchObject({ state: 'creating' });
    expect(refsOfBox(w.connection, 't')).toEqual([]);
  });
});
