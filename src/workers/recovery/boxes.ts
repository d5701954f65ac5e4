/**
 * Boxes left `creating` (clone targets, boxes made from a base or an image):
 * a disk that is there and is exactly the child of the right base is kept (the
 * box committed with its ref, as the flow's last command would have); anything
 * else is rolled back by the box flow's roll-back (folder, row, GC).
 */
import { diskFacts, isCompleteChildOf } from '../../file-steps/disk-facts.js';
import { forkProgress } from '../../file-steps/fork-progress.js';
import { findBaseById } from '../../db/sql/findBaseById.js';
import { findOp } from '../../db/sql/findOp.js';
import { listBoxes } from '../../db/sql/listBoxes.js';
import type { BaseDiskRecord, BeginForkResult, BoxRecord } from '../../db/types.js';
import { rollBackBox } from '../flows/box.js';
import type { JobContext } from '../flows/context.js';
import { act, item, repairOp, type RecoveryContext, type RecoveryItem } from './context.js';

export async function recoverBoxes(ctx: RecoveryContext): Promise<RecoveryItem[]> {
  const out: RecoveryItem[] = [];
  for (const box of listBoxes(ctx.db, { state: 'creating' })) {
    const base = box.baseId ? findBaseById(ctx.db, box.baseId) : null;
    const at = { subject: 'box' as const, id: box.id, path: box.diskPath };
    if (base && base.state === 'creating') {
      // The forks pass runs first: when repairing, a base still creating here is a fork it could not
      // settle. A dry run changed nothing, so say whether that pass would settle this box's fork.
      const settles = ctx.flows === null && forkWillSettle(ctx, base.opId);
      out.push(item({ ...at, problem: `box waits on base ${base.id}, still creating`, action: settles ? `follow the fork of base ${base.id} (see its item)` : 'none' }, false));
      continue;
    }
    const disk = diskFacts(box.diskPath);
    // A child of a base may not have been flushed yet (group durability): only its exact bytes count.
    const good = base === null ? box.baseId === null && disk.state === 'valid' : isCompleteChildOf(box.diskPath, base.basePath);
    if (good) {
      out.push(await act(ctx, { ...at, problem: `box ${box.id} has its disk but was not committed`, action: 'commit the box' }, (flows) => commitBox(flows, box, base)));
      continue;
    }
    const problem = `box ${box.id} was not finished (disk ${disk.state === 'valid' ? 'not the complete child of its base' : disk.state})`;
    out.push(await act(ctx, { ...at, problem, action: 'remove its partial files and record' }, (flows) => rollBackBox(flows, repairOp('abort', box.id, box.opId), box.id)));
  }
  return out;
}

/**
 * A box with a base is committed by taking its ref (addRefs makes it ready in the same transaction),
 * once the clone step has flushed its child (it keeps a complete one, and it may never have been
 * flushed); one without, by commitBox.
 */
async function commitBox(flows: JobContext, box: BoxRecord, base: BaseDiskRecord | null): Promise<void> {
  if (base) await flows.files.run({ type: 'writeChildren', base: base.basePath, children: [box.diskPath], fsync: flows.fsync });
  if (box.baseId) await flows.writer.apply({ type: 'addRefs', op: repairOp('ref', box.id, box.opId), baseId: box.baseId, boxIds: [box.id] });
  else await flows.writer.apply({ type: 'commitBox', op: repairOp('commit', box.id, box.opId), boxId: box.id });
}

/** Whether the forks pass settles (finishes or undoes) the fork journalled under `opId`. */
function forkWillSettle(ctx: RecoveryContext, opId: string): boolean {
  const entry = findOp(ctx.db, opId, 'beginFork');
  return entry !== null && forkProgress(entry.result as BeginForkResult).stage !== 'stuck';
}
