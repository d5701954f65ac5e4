/**
 * Box paths are built by concatenation for a one-segment id (the fast path of every batch clone):
 * they must be exactly what path.join gives, for every home spelling and every id, odd ones
 * included (those still go through join, so nothing here can leave boxes/ that join would not).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boxDir, boxDiskPath, boxDisksDir, CONTAINER_DISK, homeLayout } from '../../src/layout.js';

const homes = ['/var/lib/forkpoint', '/var/lib/forkpoint/', '/a//b/./c', 'relative/home', '.', '/'];
const ids = ['web-1', 'b-1999', 'ünïcode-名前', 'with space', '.hidden', '...', 'a\\b', '.', '..', '', 'a/b', '../escape', 'x/', '/abs'];

describe('layout: box paths', () => {
  const cases = homes.flatMap((home) => ids.map((id) => [home, id] as const));
  it.each(cases)('home %j, box id %j: what path.join gives', (home, id) => {
    const l = homeLayout(home);
    expect(boxDir(l, id)).toBe(join(l.boxesDir, id));
    expect(boxDisksDir(l, id)).toBe(join(l.boxesDir, id, 'disks'));
    expect(boxDiskPath(l, id)).toBe(join(l.boxesDir, id, 'disks', CONTAINER_DISK));
  });
});
