import { describe, expect, it } from 'vitest';
import { findBox } from '../../src/db/sql/findBox.js';
import { nextOp, useWriters } from './support/writer.js';

const newWriter = useWriters();

describe('writer: applyBatch', () => {
  it('applies many commands in one transaction, a refused one rolling back alone', () => {
    const w = newWriter();
    const out = w.applyBatch([
      { type: 'createBox', op: nextOp(), boxId: 'a', baseId: null },
      { type: 'createBox', op: nextOp(), boxId: 'a', baseId: null }, // duplicate: refused
      { type: 'createBox', op: nextOp(), boxId: '../evil', baseId: null }, // bad name: refused
      { type: 'nonsense' },
      { type: 'createBox', op: nextOp(), boxId: 'b', baseId: null },
    ]);
    expect(out.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual([
      'ok',
      'E_ALREADY_EXISTS',
      'E_INVALID_NAME',
      'E_BAD_PAYLOAD',
      'ok',
    ]);
    expect(findBox(w.connection, 'a')).not.toBeNull();
    expect(findBox(w.connection, 'b')).not.toBeNull();
    expect(w.connection.prepare('SELECT count(*) FROM op').pluck().get()).toBe(2);
  });

  it('a failure part-way through one command leaves none of that command behind', () => {
    const w = newWriter();
    w.apply({ type: 'createBox', op: nextOp(), boxId: 'src', baseId: null });
    w.apply({ type: 'commitBox', op: nextOp(), boxId: 'src' });
    w.apply({ type: 'createBox', op: nextOp(), boxId: 'taken', baseId: null });
    // beginFork validates all targets before writing; an invalid second target must not leave the base behind
    const out = w.applyBatch([
      { type: 'beginFork', op: nextOp(), sourceBox: 'src', kind: 'clone_base', targets: ['new1', 'taken'] },
    ]);
    expect(out[0]!.ok).toBe(false);
    expect(w.connection.prepare('SELECT count(*) FROM base_disk').pluck().get()).toBe(0);
    expect(findBox(w.connection, 'new1')).toBeNull();
  });
});
