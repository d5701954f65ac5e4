/**
 * The in-process core holds box folders to the same rule as the pipeline: a
 * folder in boxes/ that no record owns is someone else's, so a clone target or
 * a box made from a base is refused there, and their files survive.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBox } from '../../src/db/sql/findBox.js';
import { listBases } from '../../src/db/sql/listBases.js';
import { boxDir } from '../../src/layout.js';
import { makeBox, useManagers } from './support/home.js';

const { newHome, open } = useManagers();

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
});
