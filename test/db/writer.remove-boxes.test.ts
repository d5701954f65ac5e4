/**
 * removeBox and removeBoxes share one rule (src/db/commands/forgetBoxes.ts): a table of boxes in
 * every state a removal can meet, each removed alone and all of them in one bulk command, with
 * the same answer per box either way; a refused box keeps its row and refs as they were.
 */
import { describe, expect, it } from 'vitest';
import type { DbWriter } from '../../src/db/writer.js';
import { isForkpointError } from '../../src/errors.js';
import { findBox } from '../../src/db/sql/findBox.js';
import { refsOfBox } from '../../src/db/sql/refsOfBox.js';
import { forkRecords, nextOp, readyBox, useWriters } from './support/writer.js';

const newWriter = useWriters();

/** What removing each box must answer: its error code (nothing changed) or the bases it let go of, and its row after. */
const TABLE: { box: string; what: string; answer: string | ((bases: Bases) => string[]); rowAfter: string | null }[] = [
  { box: 'plain', what: 'a ready box reading no base', answer: () => [], rowAfter: 'removing' },
  { box: 'child', what: 'a clone reading a base, holding its ref', answer: (b) => [b.clone], rowAfter: 'removing' },
  { box: 'ghost', what: 'refs but no row (a box this home does not manage)', answer: (b) => [b.clone], rowAfter: null },
  { box: 'again', what: 'already removing (a second request)', answer: (b) => [b.clone], rowAfter: 'removing' },
  { box: 'compacted', what: 'a box whose base is being compacted (no fork of the box)', answer: (b) => [b.deep], rowAfter: 'removing' },
  { box: 'new', what: 'still being created', answer: 'E_CONFLICT', rowAfter: 'creating' },
  { box: 'forking', what: 'being forked (its disk is moving)', answer: 'E_CONFLICT', rowAfter: 'ready' },
  { box: 'restoring', what: 'being restored from a snapshot', answer: 'E_CONFLICT', rowAfter: 'ready' },
  { box: 'nosuch', what: 'no row and no ref', answer: 'E_UNKNOWN_BOX', rowAfter: null },
];

interface Bases {
  clone: string;
  deep: string;
}

/** A home with every box of TABLE in its state. */
function homeOfTable(w: DbWriter): Bases {
  readyBox(w, 'plain');
  readyBox(w, 'src');
  const clone = forkRecords(w, 'src', { targets: ['child', 'again'] });
  w.apply({ type: 'addRefs', op: nextOp(), baseId: clone, boxIds: ['ghost'] });
  w.apply({ type: 'removeBox', op: nextOp(), boxId: 'again' });
  readyBox(w, 'compacted');
  const deep = forkRecords(w, 'compacted');
  w.apply({ type: 'beginCompact', op: nextOp(), baseId: deep });
  w.apply({ type: 'createBox', op: nextOp(), boxId: 'new', baseId: null });
  readyBox(w, 'forking');
  w.apply({ type: 'beginFork', op: nextOp(), sourceBox: 'forking', kind: 'clone_base' });
  readyBox(w, 'restoring');
  const snap = forkRecords(w, 'restoring', { kind: 'snapshot', name: 'v1' });
  w.apply({ type: 'beginRestore', op: nextOp(), boxId: 'restoring', baseId: snap });
  return { clone, deep };
}

const expected = (bases: Bases) => TABLE.map((t) => [t.box, typeof t.answer === 'string' ? t.answer : t.answer(bases)]);
const stateOf = (w: DbWriter) => TABLE.map((t) => [t.box, findBox(w.connection, t.box)?.state ?? null, refsOfBox(w.connection, t.box)]);

describe('writer: removing boxes, alone and in bulk (one rule)', () => {
  it('removeBox answers each box of the table as the table says', () => {
    const w = newWriter();
    const bases = homeOfTable(w);
    const before = stateOf(w);
    const answers = TABLE.map((t) => {
      try {
        return [t.box, w.apply({ type: 'removeBox', op: nextOp(), boxId: t.box }).touchedBases];
      } catch (err) {
        if (!isForkpointError(err)) throw err;
        expect(err.message, t.what).toContain(t.box);
        return [t.box, err.code];
      }
    });
    expect(answers).toEqual(expected(bases));
    expectChanges(w, before);
  });

  it('removeBoxes gives every box the same answer in one command, in the order given', () => {
    const w = newWriter();
    const bases = homeOfTable(w);
    const before = stateOf(w);
    const r = w.apply({ type: 'removeBoxes', op: nextOp(), boxIds: TABLE.map((t) => t.box) });
    expect(r.outcomes.map((o) => [o.boxId, o.ok ? o.touchedBases : o.error.code])).toEqual(expected(bases));
    expect(r.touchedBases).toEqual([bases.clone, bases.deep].sort());
    expect(r.outcomes.find((o) => o.boxId === 'ghost')).toMatchObject({ ok: true, diskPath: `${w.layout.boxesDir}/ghost/disks/container.qcow2` });
    expectChanges(w, before);
  });
});

/** Removed boxes lost their refs and rows are as the table says; refused ones are exactly as before. */
function expectChanges(w: DbWriter, before: ReturnType<typeof stateOf>): void {
  const after = stateOf(w);
  TABLE.forEach((t, i) => {
    const refused = typeof t.answer === 'string';
    expect(after[i], t.what).toEqual(refused ? before[i] : [t.box, t.rowAfter, []]);
    expect(after[i]![1], t.what).toBe(t.rowAfter);
  });
}
