/**
 * What a crash between an operation's last record change and its file work
 * leaves: a box whose removal was recorded (row `removing`) but whose folder
 * may remain, and bases the GC plan says nothing reads whose GC never ran.
 * Both are finished by their flows (the removal's tail, the gc flow). A box
 * folder with no row at all is only reported: it is not ours (a removal keeps
 * its row until the folder is gone, so a removed box never leaves a folder
 * without a row).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { boxDir } from '../../layout.js';
import { findBaseByPath } from '../../db/sql/findBaseByPath.js';
import { planGcOf } from '../../db/rules/gcPlan.js';
import { findBaseById } from '../../db/sql/findBaseById.js';
import { findBox } from '../../db/sql/findBox.js';
import { listBoxes } from '../../db/sql/listBoxes.js';
import { finishBoxRemoval } from '../flows/box.js';
import { backingFilesOf, everyBaseFile, everyBoxDisk } from './backing-readers.js';
import { act, item, type RecoveryContext, type RecoveryItem } from './context.js';

export async function finishBoxRemovals(ctx: RecoveryContext): Promise<RecoveryItem[]> {
  const out: RecoveryItem[] = [];
  for (const box of listBoxes(ctx.db, { state: 'removing' })) {
    const path = boxDir(ctx.layout, box.id);
    const then = box.baseId ? `, then collect base ${box.baseId} (and its parents) if nothing else reads it` : '';
    const problem = `box ${box.id} was being removed`;
    out.push(await act(ctx, { subject: 'box', id: box.id, path, problem, action: `delete its folder and its record${then}` }, (flows) => finishBoxRemoval(flows, box.id, box.baseId ? [box.baseId] : [])));
  }
  return out;
}

/** Report only: folders in boxes/ with no row (never ours to remove, see above). */
export async function reportUnrecordedBoxFolders(ctx: RecoveryContext): Promise<RecoveryItem[]> {
  const out: RecoveryItem[] = [];
  if (!existsSync(ctx.layout.boxesDir)) return out;
  for (const name of readdirSync(ctx.layout.boxesDir).sort()) {
    if (findBox(ctx.db, name)) continue;
    out.push(item({ subject: 'box', id: name, path: join(ctx.layout.boxesDir, name), problem: `folder ${name} in boxes/ has no record`, action: 'none' }, false));
  }
  return out;
}

/**
 * Backing files named by images the records cannot account for: every box
 * disk (a box the records know as a reader keeps its base out of the GC plan
 * already) and every file in bases/ without a record. Recorded child bases
 * are left out: the plan knows them, and collects a parent after its child.
 */
function readByUnrecordedImages(ctx: RecoveryContext): Set<string> {
  return backingFilesOf([...everyBoxDisk(ctx.layout), ...everyBaseFile(ctx.layout).filter((path) => !findBaseByPath(ctx.db, path))]);
}

/**
 * Bases nothing reads that no GC collected (its request was lost in a crash):
 * the gc flow for each, the plan's order. "Nothing reads" is the records'
 * word; a base file that a box disk or an unrecorded image still names as its
 * backing file is kept whatever they say (records restored from an old
 * backup, or rebuilt from the files, can miss a reader), as the orphan pass
 * keeps such a file.
 */
export async function collectUnread(ctx: RecoveryContext): Promise<RecoveryItem[]> {
  const out: RecoveryItem[] = [];
  let inUse: Set<string> | null = null; // read only if there is something to collect
  for (const id of planGcOf(ctx.db)) {
    const base = findBaseById(ctx.db, id);
    if (!base || base.state !== 'ready') continue; // collected meanwhile, by the cascade of one before it
    inUse ??= readByUnrecordedImages(ctx);
    if (inUse.has(base.basePath)) {
      const problem = `base ${base.id} is read by nothing the records know of, but an image reads it as its backing file`;
      out.push(item({ subject: 'base', id: base.id, path: base.basePath, problem, action: 'none: kept while read' }, false));
      continue;
    }
    const problem = `base ${base.id} is read by nothing but was never collected`;
    out.push(await act(ctx, { subject: 'base', id: base.id, path: base.basePath, problem, action: 'collect it (and its unread parents)' }, async (flows) => {
      await flows.requestGc([base.id]);
      await ctx.drainGc(); // now, so the next base of the plan is looked at after this one's cascade
    }));
  }
  return out;
}
