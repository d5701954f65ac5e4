/**
 * I/O: many children of one base at once (batch clones). The base is read
 * once and the child bytes computed once (they are identical for every child
 * of a base). Two ways to make them durable:
 *
 * - writeCowChildren (sync): each file fsynced as it is written, each
 *   distinct folder once at the end;
 * - writeCowChildrenFlushed (group durability): every file written with no
 *   fsync in the call, its fsync and its folder's queued as soon as it is
 *   written (durable.ts FlushGroup), so they run while the next are written;
 *   it resolves only when all are durable, so the caller's commit comes
 *   after. A power cut before that may leave any of them missing, empty or
 *   short: recovery judges them with isPlannedChild.
 *
 * All or nothing: on a failure the children this call created are removed.
 */
import { dirname, resolve } from 'node:path';
import type { ChildPlan } from './child-layout.js';
import { FlushGroup, fsyncFolder, removeQuietly } from './durable.js';
import { planChildOfBase } from './plan-child-of-base.js';
import { writePlannedChild } from './write-cow-child.js';
import type { CowChildResult, WriteChildOptions } from './types.js';

/** Write every child (fsynced each when `fsync`; `written` told of each); on a failure remove the ones written, then throw. */
function writeAll(plan: ChildPlan, childPaths: readonly string[], fsync: boolean, mode?: number, written?: (path: string) => void): CowChildResult[] {
  const created: string[] = [];
  try {
    return childPaths.map((p) => {
      const r = writePlannedChild(plan, resolve(p), fsync, mode);
      created.push(r.path);
      written?.(r.path);
      return r;
    });
  } catch (err) {
    for (const p of created) removeQuietly(p);
    throw err;
  }
}

export interface ChildrenOptions extends WriteChildOptions {
  /** The plan of a child of this base, when the caller already made one (its base header is then not read again). */
  plan?: ChildPlan;
}

const planOf = (basePath: string, opts: ChildrenOptions): ChildPlan => opts.plan ?? planChildOfBase(basePath, opts.backingFormat);

export function writeCowChildren(basePath: string, childPaths: readonly string[], opts: ChildrenOptions = {}): CowChildResult[] {
  const fsync = opts.fsync ?? true;
  const results = writeAll(planOf(basePath, opts), childPaths, fsync, opts.mode);
  try {
    if (fsync) for (const dir of new Set(results.map((r) => dirname(r.path)))) fsyncFolder(dir);
  } catch (err) {
    for (const r of results) removeQuietly(r.path);
    throw err;
  }
  return results;
}

export interface FlushedChildrenOptions extends Omit<ChildrenOptions, 'fsync'> {
  /**
   * More paths made durable in the same group: folders the caller created to
   * hold the children (their parents' entries), children an earlier attempt wrote.
   */
  alsoFlush?: readonly string[];
  /** The group to add to, one the caller has already begun filling (with the folders it just made). */
  group?: FlushGroup;
}

/** Group durability (see above): the children, their folders, `alsoFlush` and the group's paths are all durable when this resolves. */
export async function writeCowChildrenFlushed(basePath: string, childPaths: readonly string[], opts: FlushedChildrenOptions = {}): Promise<CowChildResult[]> {
  const group = opts.group ?? new FlushGroup();
  let results: CowChildResult[];
  try {
    results = writeAll(planOf(basePath, opts), childPaths, false, opts.mode, (path) => {
      group.add(path);
      group.add(dirname(path)); // its new entry exists now
    });
    // Last: a path is flushed once, and one of these may be a folder the children were just made in.
    for (const p of opts.alsoFlush ?? []) group.add(p);
  } catch (err) {
    await group.done().catch(() => undefined); // nothing of ours still in flight when this call fails
    throw err;
  }
  try {
    await group.done();
  } catch (err) {
    for (const r of results) removeQuietly(r.path);
    throw err;
  }
  return results;
}
