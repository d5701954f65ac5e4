/**
 * Boxes left `creating` (clone targets, boxes made from a base): a disk that
 * is there and is a valid child of the right base is kept (the box committed,
 * its ref taken); anything else is removed with the box's row.
 */
import { rmSync } from 'node:fs';
import { boxDir } from '../../layout.js';
import { collectAll } from '../core/gc.js';
import { findBaseById } from '../sql/findBaseById.js';
import { listBoxes } from '../sql/listBoxes.js';
import { item, repairOp, type RecoveryContext, type RecoveryItem } from './context.js';
import { act } from './forks.js';
import { diskFacts } from '../core/disk-facts.js';
import { forkProgress } from '../core/fork-progress.js';
import { findOp } from '../sql/findOp.js';
import type { BeginForkResult } from '../types.js';

export function recoverBoxes(ctx: RecoveryContext): RecoveryItem[] {
  const out: RecoveryItem[] = [];
  for (const box of listBoxes(ctx.db, { state: 'creating' })) {
    const base = box.baseId ? findBaseById(ctx.db, box.baseId) : null;
    const at = { subject: 'box' as const, id: box.id, path: box.diskPath };
    if (base && base.state === 'creating') {
      // The forks pass runs first: when repairing, a base still creating here is a fork it could not
      // settle. A dry run changed nothing, so say whether that pass would settle this box's fork.
      const settles = ctx.writer === null && forkWillSettle(ctx, base.opId);
      out.push(item({ ...at, problem: `box waits on base ${base.id}, still creating`, action: settles ? `follow the fork of base ${base.id} (see its item)` : 'none' }, false));
      continue;
    }
    const disk = diskFacts(box.diskPath);
    const good = disk.state === 'valid' && (base === null ? box.baseId === null : disk.backing === base.basePath);
    if (good) {
      out.push(
        act(ctx, { ...at, problem: `box ${box.id} has its disk but was not committed`, action: 'commit the box' }, () => {
          // Together: committed first and cut off before its ref, the box would be ready without it,
          // and no later recovery looks at a ready box again.
          ctx.writer!.applyAll([
            { type: 'commitBox', op: repairOp('commit', box.id, box.opId), boxId: box.id },
            ...(base ? [{ type: 'addRefs' as const, op: repairOp('ref', box.id, box.opId), baseId: base.id, boxIds: [box.id] }] : []),
          ]);
        }),
      );
      continue;
    }
    out.push(
      act(ctx, { ...at, problem: `box ${box.id} was not finished (disk ${disk.state})`, action: 'remove its partial files and record' }, () => {
        rmSync(boxDir(ctx.layout, box.id), { recursive: true, force: true });
        const aborted = ctx.writer!.apply({ type: 'abortBox', op: repairOp('abort', box.id, box.opId), boxId: box.id });
        ctx.collected.push(...collectAll(ctx.writer!, aborted.touchedBases, { fsync: ctx.fsync }));
      }),
    );
  }
  return out;
}

/** Whether the forks pass settles (finishes or undoes) the fork journalled under `opId`. */
function forkWillSettle(ctx: RecoveryContext, opId: string): boolean {
  const entry = findOp(ctx.db, opId, 'beginFork');
  return entry !== null && forkProgress(entry.result as BeginForkResult).stage !== 'stuck';
}
