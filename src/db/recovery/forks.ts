/**
 * Forks left `creating`. beginFork journalled the two paths, so the files say
 * how far the fork got (core/fork-progress.ts): nothing moved → abort;
 * the base holds the disk → finish and commit; anything else → report.
 */
import { forkProgress, previousBaseOf, removeForkLeftovers, resumeForkStep } from '../core/fork-progress.js';
import { collectAll } from '../core/gc.js';
import { findBaseByPath } from '../sql/findBaseByPath.js';
import { findBox } from '../sql/findBox.js';
import { findOp } from '../sql/findOp.js';
import { listUnsettledBases } from '../sql/listUnsettledBases.js';
import type { BaseDiskRecord, BeginForkResult, DiskInfo } from '../types.js';
import { item, type RecoveryContext, type RecoveryItem } from './context.js';

export function recoverForks(ctx: RecoveryContext): RecoveryItem[] {
  const out: RecoveryItem[] = [];
  for (const base of listUnsettledBases(ctx.db)) {
    if (base.state !== 'creating') continue;
    const entry = findOp(ctx.db, base.opId, 'beginFork');
    if (!entry) {
      out.push(item({ subject: 'base', id: base.id, path: base.basePath, op: base.opId, problem: `creating base with no beginFork journal (op ${base.opId})`, action: 'none' }, false));
      continue;
    }
    out.push(recoverFork(ctx, base, entry.result as BeginForkResult));
  }
  return out;
}

/** Finish or undo one creating fork, by what the files say (core/fork-progress.ts decides). */
function recoverFork(ctx: RecoveryContext, base: BaseDiskRecord, begun: BeginForkResult): RecoveryItem {
  const at = { subject: 'base' as const, id: base.id, path: base.basePath, op: base.opId };
  const progress = forkProgress(begun);
  switch (progress.stage) {
    case 'not-started':
    case 'leftovers':
      return act(ctx, { ...at, problem: `fork ${base.opId} stopped before ${begun.sourceDiskPath} left its place`, action: progress.stage === 'leftovers' ? 'delete the partial base and abort' : 'abort the fork' }, () => {
        removeForkLeftovers(begun);
        ctx.writer!.apply({ type: 'abortFork', op: base.opId });
      });
    case 'moved':
    case 'finished':
      return act(ctx, { ...at, problem: progress.stage === 'moved' ? `fork ${base.opId} moved the disk but its child is missing or half-written` : `fork ${base.opId} finished on disk but was not committed`, action: progress.stage === 'moved' ? 'write the child and commit' : 'commit the fork' }, () => {
        const disk = resumeForkStep(ctx.layout, begun, { fsync: ctx.fsync });
        const previous = commit(ctx, base, begun, disk);
        // commitFork of a flatten dropped the source's refs to its old chain: collect down it.
        if (begun.mode === 'flatten') ctx.collected.push(...collectAll(ctx.writer!, previous, { fsync: ctx.fsync }));
      });
    case 'stuck':
      return item({ ...at, problem: `fork ${base.opId}: ${progress.why}`, action: 'none' }, false);
  }
}

/** Commit as the fork would have; returns the source's previous base (for a flatten's cleanup). */
function commit(ctx: RecoveryContext, base: BaseDiskRecord, begun: BeginForkResult, disk: DiskInfo & { parentPath: string | null }): string[] {
  const { parentPath, ...info } = disk;
  const parentId = parentPath ? (findBaseByPath(ctx.db, parentPath)?.id ?? null) : null;
  // Read before the commit: for journals older than previousBaseId, the source row names it until then.
  const previous = previousBaseOf(begun, findBox(ctx.db, base.sourceBoxId)?.baseId);
  ctx.writer!.apply({ type: 'commitFork', op: base.opId, disk: info, parentId });
  return previous ? [previous] : [];
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
