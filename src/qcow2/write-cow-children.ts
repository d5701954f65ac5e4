/**
 * I/O: many children of one base at once (batch clones). The base is read
 * once and the child bytes computed once (they are identical for every child
 * of a base). Two ways to make them durable:
 *
 * - writeCowChildren (sync): each file fsynced as it is written, each
 *   distinct folder once at the end;
 * - writeCowChildrenFlushed (group durability): every file written with no
 *   fsync, then all files and folders fsynced together (durable.ts
 *   fsyncTogether); it resolves only when all are durable, so the caller's
 *   commit comes after. A power cut before that may leave any of them
 *   missing, empty or short: recovery judges them with isPlannedChild.
 *
 * All or nothing: on a failure the children this call created are removed.
 */
import { dirname, resolve } from 'node:path';
import type { ChildPlan } from './child-layout.js';
import { fsyncFolder, fsyncTogether, removeQuietly } from './durable.js';
import { planChildOfBase } from './plan-child-of-base.js';
import { writePlannedChild } from './write-cow-child.js';
import type { CowChildResult, WriteChildOptions } from './types.js';

/** Write every child (fsynced each when `fsync`); on a failure remove the ones written, then throw. */
function writeAll(plan: ChildPlan, childPaths: readonly string[], fsync: boolean, mode?: number): CowChildResult[] {
  const created: string[] = [];
  try {
    return childPaths.map((p) => {
      const r = writePlannedChild(plan, resolve(p), fsync, mode);
      created.push(r.path);
      return r;
    });
  } catch (err) {
    for (const p of created) removeQuietly(p);
    throw err;
  }
}

export function writeCowChildren(basePath: string, childPaths: readonly string[], opts: WriteChildOptions = {}): CowChildResult[] {
  const fsync = opts.fsync ?? true;
  const results = writeAll(planChildOfBase(basePath, opts.backingFormat), childPaths, fsync, opts.mode);
  try {
    if (fsync) for (const dir of new Set(results.map((r) => dirname(r.path)))) fsyncFolder(dir);
  } catch (err) {
    for (const r of results) removeQuietly(r.path);
    throw err;
  }
  return results;
}

export interface FlushedChildrenOptions extends Omit<WriteChildOptions, 'fsync'> {
  /**
   * More paths made durable in the same group: folders the caller created to
   * hold the children (their parents' entries), children an earlier attempt wrote.
   */
  alsoFlush?: readonly string[];
}

/** Group durability (see above): the children, their folders and `alsoFlush` are all durable when this resolves. */
export async function writeCowChildrenFlushed(basePath: string, childPaths: readonly string[], opts: FlushedChildrenOptions = {}): Promise<CowChildResult[]> {
  const results = writeAll(planChildOfBase(basePath, opts.backingFormat), childPaths, false, opts.mode);
  try {
    await fsyncTogether([...results.map((r) => r.path), ...results.map((r) => dirname(r.path)), ...(opts.alsoFlush ?? [])]);
  } catch (err) {
    for (const r of results) removeQuietly(r.path);
    throw err;
  }
  return results;
}
