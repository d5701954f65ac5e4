/**
 * I/O: many children of one base at once (batch clones). The base is read
 * once and the child bytes computed once (they are identical for every child
 * of a base); each file is fsynced, and each distinct folder once at the end.
 * All or nothing: on a failure the children this call created are removed.
 */
import { dirname, resolve } from 'node:path';
import { fsyncFolder, removeQuietly } from './durable.js';
import { planChildOfBase } from './plan-child-of-base.js';
import { writePlannedChild } from './write-cow-child.js';
import type { CowChildResult, WriteChildOptions } from './types.js';

export function writeCowChildren(basePath: string, childPaths: readonly string[], opts: WriteChildOptions = {}): CowChildResult[] {
  const fsync = opts.fsync ?? true;
  const plan = planChildOfBase(basePath, opts.backingFormat);
  const created: string[] = [];
  try {
    const results = childPaths.map((p) => {
      const target = resolve(p);
      const r = writePlannedChild(plan, target, fsync, opts.mode);
      created.push(target);
      return r;
    });
    if (fsync) for (const dir of new Set(created.map((p) => dirname(p)))) fsyncFolder(dir);
    return results;
  } catch (err) {
    for (const p of created) removeQuietly(p);
    throw err;
  }
}
