/**
 * Box disks that no fork may take (file-steps/box-disk-guard.ts: a hard
 * link, a symlinked box folder, a backing chain that leaves the home).
 * Report only: the disk is the box's data, so a person decides what to do.
 */
import { boxDiskTrick } from '../../file-steps/box-disk-guard.js';
import { listBoxes } from '../../db/sql/listBoxes.js';
import { item, type RecoveryContext, type RecoveryItem } from './context.js';

export async function checkBoxDisks(ctx: RecoveryContext): Promise<RecoveryItem[]> {
  const out: RecoveryItem[] = [];
  for (const box of listBoxes(ctx.db, { state: 'ready' })) {
    let trick;
    try {
      trick = boxDiskTrick(ctx.layout, box.diskPath);
    } catch {
      continue; // a disk that cannot be read is not a trick; the fork refuses it by itself
    }
    if (trick) {
      out.push(item({ subject: 'box', id: box.id, path: trick.path, problem: `${trick.problem} [${trick.rule}]; a fork of box ${box.id} is refused`, action: 'none' }, false));
    }
  }
  return out;
}
