/**
 * Which files are bases. Bases are flat files directly in `<home>/bases/`;
 * only those are ever deleted (invariant 5), so "is this a base file" is a
 * string test on canonical paths: the folder must be exactly basesDir (the
 * seed's prefix test also matched `bases2/…`).
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readBackingFilePath } from '../qcow2/backing.js';
import { readBackingChain } from '../qcow2/chain.js';
import { CONTAINER_DISK, type HomeLayout } from '../layout.js';

const BASE_NAME_RE = /^([0-9A-Za-z]{8})\.(qcow2|ext4)$/;

export function isBaseFile(layout: HomeLayout, path: string): boolean {
  const p = resolve(path);
  return dirname(p) === layout.basesDir && BASE_NAME_RE.test(basename(p));
}

/** The base id a base file is named for, or null for anything else. */
export function baseIdOfPath(layout: HomeLayout, path: string): string | null {
  if (!isBaseFile(layout, path)) return null;
  return BASE_NAME_RE.exec(basename(path))![1]!;
}

/** The first file of `imagePath`'s backing chain that lives in bases/ (the seed's find_parent_base). */
export function findParentBase(layout: HomeLayout, imagePath: string): string | null {
  for (const backing of readBackingChain(imagePath)) {
    if (dirname(backing.path) === layout.basesDir) return backing.path;
  }
  return null;
}

/** The base file a box's container disk is a direct child of, if it is in bases/ (the seed's identify_layer). */
export function identifyLayer(layout: HomeLayout, boxDisksDir: string): string | null {
  const container = join(boxDisksDir, CONTAINER_DISK);
  if (!existsSync(container)) return null;
  const backing = readBackingFilePath(container);
  if (!backing) return null;
  return dirname(backing.resolved) === layout.basesDir ? backing.resolved : null;
}
