/** File facts recovery decides on; never throws for a broken image (that is a fact too). */
import { existsSync, lstatSync } from 'node:fs';
import { readBackingFilePath } from '../qcow2/backing.js';
import { readHeader } from '../qcow2/read-header.js';

export type DiskFacts =
  | { state: 'missing' }
  | { state: 'invalid'; why: string }
  | { state: 'valid'; backing: string | null };

export function diskFacts(path: string): DiskFacts {
  if (!existsSync(path)) return { state: 'missing' };
  try {
    if (!lstatSync(path).isFile()) return { state: 'invalid', why: 'not a regular file' };
    readHeader(path);
    return { state: 'valid', backing: readBackingFilePath(path)?.resolved ?? null };
  } catch (err) {
    return { state: 'invalid', why: (err as Error).message };
  }
}
