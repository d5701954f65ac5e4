/**
 * A box row owns the folder with its name. A box about to get its first row
 * must not have one yet: createBox and beginFork's clone targets refuse a
 * folder (or a dangling symlink) no record owns, in the transaction that would
 * make the row, so recovery undoing a half-made box only ever deletes what we
 * made. Registering a disk that is already there is the explicit `adopt`.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recover } from '../../src/workers/recovery/index.js';
import { findBox } from '../../src/db/sql/findBox.js';
import { listBases } from '../../src/db/sql/listBases.js';
import { boxDir } from '../../src/layout.js';
import { nextOp, readyBox, useWriters } from './support/writer.js';

const newWriter = useWriters();

function foreignFolder(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'precious.txt');
  writeFileSync(file, 'not ours\n');
  return file;
}

describe('writer: box folders', () => {
  it('createBox refuses a folder no record owns; nothing is recorded, the file survives, recovery only reports it', async () => {
    const w = newWriter();
    const file = foreignFolder(boxDir(w.layout, 'X'));
    expect(() => w.apply({ type: 'createBox', op: nextOp(), boxId: 'X', baseId: null })).toThrow(
      expect.objectContaining({ code: 'E_ALREADY_EXISTS', message: expect.stringContaining('no box record owns it') }),
    );
    expect(findBox(w.connection, 'X')).toBeNull();
    const home = w.layout.home;
    w.close();
    expect((await recover(home, { fsync: false })).problems).toEqual([expect.objectContaining({ subject: 'box', id: 'X', action: 'none' })]);
    expect(readFileSync(file, 'utf8')).toBe('not ours\n');
  });

  it('a dangling symlink in its place is refused too', () => {
    const w = newWriter();
    mkdirSync(w.layout.boxesDir, { recursive: true });
    symlinkSync(join(w.layout.home, 'nowhere'), boxDir(w.layout, 'L'));
    expect(() => w.apply({ type: 'createBox', op: nextOp(), boxId: 'L', baseId: null })).toThrow(expect.objectContaining({ code: 'E_ALREADY_EXISTS' }));
  });

  it('adopt registers the disk already in its folder', () => {
    const w = newWriter();
    foreignFolder(boxDir(w.layout, 'A'));
    expect(w.apply({ type: 'createBox', op: nextOp(), boxId: 'A', baseId: null, adopt: true })).toMatchObject({ id: 'A', state: 'creating' });
  });

  it('beginFork refuses a clone target whose folder no record owns; no base, no target row', () => {
    const w = newWriter();
    readyBox(w, 'src');
    foreignFolder(boxDir(w.layout, 'T'));
    expect(() => w.apply({ type: 'beginFork', op: nextOp(), sourceBox: 'src', kind: 'clone_base', targets: ['ok', 'T'] })).toThrow(
      expect.objectContaining({ code: 'E_ALREADY_EXISTS', details: expect.objectContaining({ id: 'T' }) }),
    );
    expect(listBases(w.connection, {})).toEqual([]);
    expect(findBox(w.connection, 'ok')).toBeNull();
  });

  // A batch this big lists boxes/ once instead of looking up each folder (guards.ts): the same refusals.
  it.each([
    ['a folder', (path: string) => void foreignFolder(path)],
    ['a dangling symlink', (path: string) => symlinkSync(join(dirname(path), 'nowhere'), path)],
  ])('beginFork of a batch of 100 refuses %s no record owns among its targets; no base, no target row', (_, make) => {
    const w = newWriter();
    readyBox(w, 'src');
    mkdirSync(w.layout.boxesDir, { recursive: true });
    const targets = Array.from({ length: 100 }, (_, i) => `t-${i}`);
    make(boxDir(w.layout, 't-71'));
    expect(() => w.apply({ type: 'beginFork', op: nextOp(), sourceBox: 'src', kind: 'clone_base', targets })).toThrow(
      expect.objectContaining({ code: 'E_ALREADY_EXISTS', details: expect.objectContaining({ id: 't-71' }) }),
    );
    expect(listBases(w.connection, {})).toEqual([]);
    expect(findBox(w.connection, 't-0')).toBeNull();
  });

  it('a replayed createBox (same op) does not look again: the folder it finds is the one its first run let it make', () => {
    const w = newWriter();
    const op = nextOp();
    const first = w.apply({ type: 'createBox', op, boxId: 'R', baseId: null });
    mkdirSync(boxDir(w.layout, 'R'), { recursive: true });
    expect(w.apply({ type: 'createBox', op, boxId: 'R', baseId: null })).toEqual(first);
  });
});
