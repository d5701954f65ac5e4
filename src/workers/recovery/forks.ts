/**
 * Forks left `creating`. beginFork journalled the two paths, so the files say
 * how far the fork got (file-steps/fork-progress.ts): nothing moved → the
 * fork flow's roll-back; the base holds the disk → the fork flow's roll
 * forward (file half, commit, a flatten's release); anything else → report.
 */
import { forkProgress } from '../../file-steps/fork-progress.js';
import { findBox } from '../../db/sql/findBox.js';
import { findOp } from '../../db/sql/findOp.js';
import { listUnsettledBases } from '../../db/sql/listUnsettledBases.js';
import type { BaseDiskRecord, BeginForkResult } from '../../db/types.js';
import { completeFork, rollBackFork } from '../flows/fork.js';
import { recoverCompaction } from './compactions.js';
import { recoverImports } from './imports.js';
import { act, item, type RecoveryContext, type RecoveryItem } from './context.js';

export async function recoverForks(ctx: RecoveryContext): Promise<RecoveryItem[]> {
  const out: RecoveryItem[] = await recoverImports(ctx);
  for (const base of listUnsettledBases(ctx.db)) {
    if (base.state !== 'creating') continue;
    if (findOp(ctx.db, base.opId, 'beginImport')) continue; // recoverImports' (reported there)
    const compaction = findOp(ctx.db, base.opId, 'beginCompact');
    if (compaction) {
      out.push(await recoverCompaction(ctx, base, compaction));
      continue;
    }
    const entry = findOp(ctx.db, base.opId, 'beginFork');
    if (!entry) {
      out.push(item({ subject: 'base', id: base.id, path: base.basePath, op: base.opId, problem: `creating base with no beginFork journal (op ${base.opId})`, action: 'none' }, false));
      continue;
    }
    out.push(await recoverFork(ctx, base, entry.result as BeginForkResult));
  }
  return out;
}

async function recoverFork(ctx: RecoveryContext, base: BaseDiskRecord, begun: BeginForkResult): Promise<RecoveryItem> {
  const at = { subject: 'base' as const, id: base.id, path: base.basePath, op: base.opId };
  const progress = forkProgress(begun);
  switch (progress.stage) {
    case 'not-started':
    case 'leftovers':
      return act(ctx, { ...at, problem: `fork ${base.opId} stopped before ${begun.sourceDiskPath} left its place`, action: progress.stage === 'leftovers' ? 'delete the partial base and abort' : 'abort the fork' }, async (flows) => {
        await rollBackFork(flows, base.opId, begun);
      });
    case 'moved':
    case 'finished': {
      // Read before the commit: for journals older than previousBaseId, the source row names it until then.
      const sourceBaseBefore = findBox(ctx.db, base.sourceBoxId)?.baseId;
      const problem = progress.stage === 'moved' ? `fork ${base.opId} moved the disk but its child is missing or half-written` : `fork ${base.opId} finished on disk but was not committed`;
      return act(ctx, { ...at, problem, action: progress.stage === 'moved' ? 'write the child and commit' : 'commit the fork' }, (flows) => completeFork(flows, base.opId, begun, sourceBaseBefore));
    }
    case 'stuck':
      return item({ ...at, problem: `fork ${base.opId}: ${progress.why}`, action: 'none' }, false);
  }
}
