/**
 * Compactions left pending (flows/compact.ts). The files say how far one got: once a box disk
 * reads the copy, the copy was finished before it (and fsynced), so the compaction goes forward
 * (the other disks re-pointed, the commit, GC); before that, the copy (finished or not) is removed
 * and the compaction undone, and every disk still reads its old chain.
 */
import type { BaseDiskRecord, BeginCompactResult } from '../../db/types.js';
import type { OpEntry } from '../../db/sql/findOp.js';
import { compactionStarted } from '../../file-steps/compact.js';
import { listBoxes } from '../../db/sql/listBoxes.js';
import { abandonCompaction, resumeCompaction } from '../flows/compact.js';
import { act, type RecoveryContext, type RecoveryItem } from './context.js';

export async function recoverCompaction(ctx: RecoveryContext, copy: BaseDiskRecord, entry: OpEntry): Promise<RecoveryItem> {
  const begun = entry.result as BeginCompactResult;
  const at = { subject: 'base' as const, id: copy.id, path: copy.basePath, op: copy.opId };
  const disks = listBoxes(ctx.db, { baseId: begun.sourceId, state: 'ready' }).map((b) => b.diskPath);
  if (compactionStarted(begun, disks)) {
    return act(ctx, { ...at, problem: `compaction ${begun.op} of base ${begun.sourceId} re-pointed some disks but was not committed`, action: 're-point the rest and commit' }, (flows) =>
      resumeCompaction(flows, begun),
    );
  }
  return act(ctx, { ...at, problem: `compaction ${begun.op} of base ${begun.sourceId} stopped before any disk read its copy`, action: 'delete the copy and abort' }, async (flows) => {
    await abandonCompaction(flows, begun);
  });
}
