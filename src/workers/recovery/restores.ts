/**
 * Snapshot restores left pending. The restore was asked for and the box's
 * old disk is what it discards, so a journalled restore is always rolled
 * forward (the file half re-runs from the start: stage a child, swap it in),
 * whether or not the crash came before the swap; a restore whose file half
 * fails now is aborted by the flow, and the box keeps the disk it has.
 */
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { findBaseById } from '../../db/sql/findBaseById.js';
import { listPendingOps } from '../../db/sql/listPendingOps.js';
import type { BeginRestoreResult } from '../../db/types.js';
import { completeRestore } from '../flows/restore.js';
import { act, type RecoveryContext, type RecoveryItem } from './context.js';

export async function recoverRestores(ctx: RecoveryContext): Promise<RecoveryItem[]> {
  const out: RecoveryItem[] = [];
  for (const entry of listPendingOps(ctx.db)) {
    if (entry.command !== 'beginRestore') continue;
    const begun = entry.result as BeginRestoreResult;
    const at = { subject: 'box' as const, id: begun.boxId, path: begun.diskPath, op: entry.opId };
    out.push(
      await act(ctx, { ...at, problem: `snapshot restore ${entry.opId} of box ${begun.boxId} was not finished`, action: `restore it from base ${begun.baseId}` }, async (flows) => {
        // The box refs the snapshot since beginRestore, so it is there; if not, say so rather than write a child of nothing.
        if (findBaseById(ctx.db, begun.baseId)?.state !== 'ready') {
          await flows.writer.apply({ type: 'abortRestore', op: entry.opId });
          throw new ForkpointError(ErrorCodes.CONFLICT, `base ${begun.baseId} is not ready; restore aborted, box ${begun.boxId} keeps its disk`, { id: begun.baseId });
        }
        await completeRestore(flows, entry.opId, begun);
      }),
    );
  }
  return out;
}
