/** File facts recovery decides on; never throws for a broken image (that is a fact too). */
import { existsSync, lstatSync } from 'node:fs';
import { resolveBackingPath } from '../qcow2/backing-path.js';
import { readHeader } from '../qcow2/read-header.js';
import { planChildOfBase } from '../qcow2/plan-child-of-base.js';
import { isPlannedChild } from '../qcow2/planned-child.js';

export type DiskFacts =
  | { state: 'missing' }
  | { state: 'invalid'; why: string }
  | { state: 'valid'; backing: string | null };

export function diskFacts(path: string): DiskFacts {
  if (!existsSync(path)) return { state: 'missing' };
  try {
    if (!lstatSync(path).isFile()) return { state: 'invalid', why: 'not a regular file' };
    const { header } = readHeader(path); // one read: its backing name is in the header already
    return { state: 'valid', backing: header.backingFile === null ? null : resolveBackingPath(path, header.backingFile) };
  } catch (err) {
    return { state: 'invalid', why: (err as Error).message };
  }
}

/**
 * Whether `disk` is byte for byte the fresh child the clone step makes of `basePath`. A box
 * not yet committed was never handed out, and its child may have been written without an
 * fsync (group durability): after a power cut a valid-looking header is no proof, so such a
 * child is judged by its bytes (qcow2/planned-child.ts). A base that cannot be planned from
 * (gone, damaged) makes no child complete.
 */
export function isCompleteChildOf(disk: string, basePath: string): boolean {
  let plan;
  try {
    plan = planChildOfBase(basePath);
  } catch {
    return false;
  }
  return isPlannedChild(disk, plan);
}
