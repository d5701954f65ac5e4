/**
 * The in-process core holds box folders to the same rule as the pipeline: a
 * folder in boxes/ that no record owns is someone else's, so a clone target or
 * a box made from a base is refused there, a removal of a box with refs but no
 * row leaves it alone, and their files survive. The folders it made itself it
 * removes again when its step fails, so the id stays usable.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { armFault, disarmFaults } from '../../src/faults.js';
import { findBox } from '../../src/db/sql/findBox.js';
import { listBases } from '../../src/db/sql/listBases.js';
import { boxDir } from '../../src/layout.js';
import { makeBox, useManagers } from './support/home.js';

const { newHome, open } = useManagers();
afterEach(() => disarmFaults());

function foreignFolder(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'notes.txt');
  writeFileSync(file, 'not forkpoint data\n');
  return file;
}

describe('manager: a box folder no record owns', () => {
  it('clone refuses it as a target before forking; nothing is recorded and the file survives', () => {
    const m = open(newHome());
    makeBox(m, 'S');
    const file = foreignFolder(boxDir(m.layout, 'T'));
    expect(() => m.clone('S', ['ok', 'T'])).toThrow(expect.objectContaining({ code: 'E_ALREADY_EXISTS', details: expect.objectContaining({ id: 'T' }) }));
    expect(readFileSync(file, 'utf8')).toBe('not forkpoint data\n');
    expect(findBox(m.writer.connection, 'T')).toBeNull();
    expect(findBox(m.writer.connection, 'ok')).toBeNull();
    expect(existsSync(boxDir(m.layout, 'ok'))).toBe(false);
    expect(listBases(m.writer.connection, {})).toEqual([]);
  });

  it('createBoxFromBase refuses it; the file survives and the base gains no reader', () => {
    const m = open(newHome());
    makeBox(m, 'S');
    const snap = m.createSnapshot('S', 'base');
    const file = foreignFolder(boxDir(m.layout, 'B'));
    expect(() => m.createBoxFromBase('B', snap.id)).toThrow(expect.objectContaining({ code: 'E_ALREADY_EXISTS' }));
    expect(readFileSync(file, 'utf8')).toBe('not forkpoint data\n');
    expect(findBox(m.writer.connection, 'B')).toBeNull();
  });

  it('removing a box that has refs but no row leaves the folder of that name alone', () => {
    const m = open(newHome());
    makeBox(m, 'S');
    const base = m.createBaseDisk('S', 'clone_base');
    m.writer.apply({ type: 'addRefs', op: 'ext-ref', baseId: base.id, boxIds: ['X'] }); // a box this home does not manage
    const file = foreignFolder(boxDir(m.layout, 'X'));
    m.removeBox('X');
    expect(readFileSync(file, 'utf8')).toBe('not forkpoint data\n');
  });
});

describe('manager: a step that fails removes the folders it made', () => {
  it('clone: the target folders and rows go, and the ids can be used again', () => {
    const m = open(newHome());
    makeBox(m, 'S');
    armFault('clone:after-children', 'fail');
    expect(() => m.clone('S', ['C1', 'C2'])).toThrow(/injected failure at clone:after-children/);
    disarmFaults();
    for (const id of ['C1', 'C2']) {
      expect(findBox(m.writer.connection, id)).toBeNull();
      expect(existsSync(boxDir(m.layout, id))).toBe(false);
    }
    expect(m.clone('S', ['C1', 'C2']).boxes.map((b) => b.state)).toEqual(['ready', 'ready']);
  });

  it('createBoxFromBase: the folder and the row go, and the id can be used again', () => {
    const m = open(newHome());
    makeBox(m, 'S');
    const snap = m.createSnapshot('S', 'base');
    armFault('box:after-child', 'fail');
    expect(() => m.createBoxFromBase('B', snap.id)).toThrow(/injected failure at box:after-child/);
    disarmFaults();
    expect(findBox(m.writer.connection, 'B')).toBeNull();
    expect(existsSync(boxDir(m.layout, 'B'))).toBe(false);
    expect(m.createBoxFromBase('B', snap.id).state).toBe('ready');
  });
});
