/**
 * Forks left `creating`. beginFork journalled the two paths, so the files say
 * how far the fork got: not moved → abort; moved (child missing or written)
 * → finish and commit. A flattening fork is all-or-nothing on the source
 * (its child is renamed in), so unless the swap happened it is undone.
 */
import { chmodSync, rmSync } from 'node:fs';
import { writeCowChild } from '../../qcow2/write-cow-child.js';
import { collectAll } from '../core/gc.js';
import { findParentBase } from '../core/paths.js';
import { BASE_MODE, diskInfoOf } from '../core/steps.js';
import { findBaseByPath } from '../sql/findBaseByPath.js';
import { findOp } from '../sql/findOp.js';
import { listUnsettledBases } from '../sql/listUnsettledBases.js';
import type { BaseDiskRecord, BeginForkResult } from '../types.js';
import { item, repairOp, type RecoveryContext, type RecoveryItem } from './context.js';
import { diskFacts } from './inspect.js';

export function recoverForks(ctx: RecoveryContext): RecoveryItem[] {
  const out: RecoveryItem[] = [];
  for (const base of listUnsettledBases(ctx.db)) {
    if (base.state !== 'creating') continue;
    const entry = findOp(ctx.db, base.opId, 'beginFork');
    if (!entry) {
      out.push(item({ subject: 'base', id: base.id, path: base.basePath, problem: `creating base with no beginFork journal (op ${base.opId})`, action: 'none' }, false));
      continue;
    }
    const begun = entry.result as BeginForkResult;
    out.push(begun.mode === 'flatten' ? recoverFlatten(ctx, base, begun) : recoverMove(ctx, base, begun));
  }
  return out;
}

function recoverMove(ctx: RecoveryContext, base: BaseDiskRecord, begun: BeginForkResult): RecoveryItem {
  const src = diskFacts(begun.sourceDiskPath);
  const moved = diskFacts(begun.basePath);
  const at = { subject: 'base' as const, id: base.id, path: base.basePath };
  if (moved.state === 'missing' && src.state !== 'missing') {
    return act(ctx, { ...at, problem: `fork ${base.opId} stopped before moving ${begun.sourceDiskPath}`, action: 'abort the fork' }, () =>
      ctx.writer!.apply({ type: 'abortFork', op: base.opId }),
    );
  }
  if (moved.state !== 'valid') {
    return item({ ...at, problem: `fork ${base.opId}: base file is ${moved.state} and source is ${src.state}`, action: 'none' }, false);
  }
  if (src.state === 'valid' && src.backing === begun.basePath) {
    return act(ctx, { ...at, problem: `fork ${base.opId} finished on disk but was not committed`, action: 'commit the fork' }, () =>
      commit(ctx, base, begun),
    );
  }
  if (src.state === 'valid') {
    return item({ ...at, problem: `fork ${base.opId}: ${begun.sourceDiskPath} exists but is not a child of the base`, action: 'none' }, false);
  }
  // Moved, child missing or half-written: the base holds the box's bytes, so finish forward.
  return act(ctx, { ...at, problem: `fork ${base.opId} moved the disk but its child is ${src.state}`, action: 'write the child and commit' }, () => {
    if (src.state === 'invalid') rmSync(begun.sourceDiskPath, { force: true });
    writeCowChild(begun.basePath, begun.sourceDiskPath, { fsync: ctx.fsync });
    commit(ctx, base, begun);
  });
}

function recoverFlatten(ctx: RecoveryContext, base: BaseDiskRecord, begun: BeginForkResult): RecoveryItem {
  const src = diskFacts(begun.sourceDiskPath);
  const staged = `${begun.sourceDiskPath}.${base.id}.new`;
  const at = { subject: 'base' as const, id: base.id, path: base.basePath };
  if (src.state === 'valid' && src.backing === begun.basePath) {
    return act(ctx, { ...at, problem: `flattening fork ${base.opId} swapped the disk but was not committed`, action: 'commit the fork' }, () => {
      rmSync(staged, { force: true });
      const previous = commit(ctx, base, begun);
      const released = ctx.writer!.apply({ type: 'releaseRefs', op: repairOp('release', base.id, base.opId), boxId: base.sourceBoxId, keepBaseId: base.id });
      ctx.collected.push(...collectAll(ctx.writer!, [...new Set([...released.touchedBases, ...previous])], { fsync: ctx.fsync }));
    });
  }
  return act(ctx, { ...at, problem: `flattening fork ${base.opId} stopped before swapping ${begun.sourceDiskPath}`, action: 'delete the partial base and abort' }, () => {
    rmSync(staged, { force: true });
    rmSync(begun.basePath, { force: true }); // our own half-written file in bases/, journalled as creating
    ctx.writer!.apply({ type: 'abortFork', op: base.opId });
  });
}

/** Commit as the fork would have; returns the source's previous base (for a flatten's cleanup). */
function commit(ctx: RecoveryContext, base: BaseDiskRecord, begun: BeginForkResult): string[] {
  chmodSync(begun.basePath, BASE_MODE);
  const parentPath = begun.mode === 'flatten' ? null : findParentBase(ctx.layout, begun.basePath);
  const parentId = parentPath ? (findBaseByPath(ctx.db, parentPath)?.id ?? null) : null;
  const source = ctx.db.prepare('SELECT base_id FROM box WHERE id = ?').get(base.sourceBoxId) as { base_id: string | null } | undefined;
  ctx.writer!.apply({ type: 'commitFork', op: base.opId, disk: diskInfoOf(begun.basePath), parentId });
  return source?.base_id ? [source.base_id] : [];
}

/** Report `i`; when repairing, carry it out. A repair that fails is reported, and the other passes still run. */
export function act(ctx: RecoveryContext, i: Omit<RecoveryItem, 'repaired'>, repair: () => void): RecoveryItem {
  if (!ctx.writer) return item(i, false);
  try {
    repair();
  } catch (err) {
    return item({ ...i, action: `${i.action} (failed: ${(err as Error).message})` }, false);
  }
  return item(i, true);
}
