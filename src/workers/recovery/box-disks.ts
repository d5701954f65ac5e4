/**
 * Box disks that no fork may take (file-steps/box-disk-guard.ts: a hard
 * link, a symlinked box folder, a backing chain that leaves the home), and
 * box disks that read another file than their record says (changed outside
 * forkpoint: GC keeps what a disk reads, but forks and removals go by the
 * record). Report only: the disk is the box's data, so a person decides.
 */
import { boxDiskTrick } from '../../file-steps/box-disk-guard.js';
import { diskFacts } from '../../file-steps/disk-facts.js';
import { findBaseById } from '../../db/sql/findBaseById.js';
import { findBaseByPath } from '../../db/sql/findBaseByPath.js';
import { findCompactionCopy } from '../../db/sql/findCompactionCopy.js';
import { listBoxes } from '../../db/sql/listBoxes.js';
import type { BoxRecord } from '../../db/types.js';
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
    const other = readsOtherThanRecorded(ctx, box);
    if (other) out.push(item({ subject: 'box', id: box.id, path: box.diskPath, problem: other, action: 'none' }, false));
  }
  return out;
}

/** What a ready box's disk reads when its record says otherwise, or null (it agrees, or cannot be read: other passes say so). */
function readsOtherThanRecorded(ctx: RecoveryContext, box: BoxRecord): string | null {
  const facts = diskFacts(box.diskPath);
  if (facts.state !== 'valid') return null;
  const base = box.baseId === null ? null : findBaseById(ctx.db, box.baseId);
  if (facts.backing === (base?.basePath ?? null)) return null;
  // A compaction re-points disks before its commit updates their records: its copy is being made, or was.
  const read = facts.backing === null ? null : findBaseByPath(ctx.db, facts.backing);
  if (read?.state === 'creating') return null;
  const copy = base ? findCompactionCopy(ctx.db, base.id) : null;
  if (copy !== null && read?.id === copy) return null;
  const says = base ? `base ${base.id} (${base.basePath})` : 'no base';
  return `its disk reads ${facts.backing ?? 'no backing file'}, but its record says ${says}: changed outside forkpoint? GC keeps what a disk reads; forks and removals go by the record`;
}
