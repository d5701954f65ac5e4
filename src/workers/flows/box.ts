/** Box jobs: create one (fresh disk or a copy of an image), remove one (refs, files, then GC). */
import { findBox } from '../../db/sql/findBox.js';
import { ErrorCodes, isForkpointError } from '../../errors.js';
import { boxDir, boxDiskPath } from '../../layout.js';
import type { JobPayload } from '../../contract/jobs.js';
import { attachChildren } from './attach-children.js';
import { checkImport, confinement, type JobContext } from './context.js';
import { requireRootfs } from '../../db/lookups.js';

export async function boxCreateJob(ctx: JobContext, p: JobPayload<'box-create'>) {
  if (p.rootfs !== undefined) {
    // A box on the rootfs cache: a qcow2 overlay whose backing file is the raw image.
    await attachChildren(ctx, p.op, requireRootfs(ctx.reader, p.rootfs), [p.boxId]);
    return { boxId: p.boxId, diskPath: boxDiskPath(ctx.layout, p.boxId) };
  }
  const existing = findBox(ctx.reader, p.boxId);
  if (existing?.state === 'ready' && existing.opId === p.op) return { boxId: p.boxId, diskPath: existing.diskPath };
  if (p.fromImage !== undefined) await checkImport(ctx, p.fromImage, 'fromImage');
  const box = await ctx.writer.apply({ type: 'createBox', op: p.op, boxId: p.boxId, baseId: null });
  const disk = boxDiskPath(ctx.layout, p.boxId);
  const folder = boxDir(ctx.layout, p.boxId);
  if (existing?.state === 'creating' && existing.opId === p.op) {
    // A retry: an earlier attempt of this op made the row, then its folder (the file step makes it
    // only after the row, and refuses one that exists), and failed before the commit. The folder is
    // this op's and its disk may be half-written: start the file step over.
    await ctx.files.run({ type: 'removeBoxDir', home: ctx.layout.home, boxId: p.boxId });
  }
  try {
    if (p.fromImage !== undefined) {
      // flatten writes a standalone copy: the new box never reads the image it came from.
      await ctx.files.run({ type: 'flatten', source: p.fromImage, dest: disk, boxDir: folder, fsync: ctx.fsync, ...confinement(ctx, 'fromImage') });
    } else {
      await ctx.files.run({ type: 'createImage', path: disk, boxDir: folder, sizeBytes: p.sizeBytes!, fsync: ctx.fsync });
    }
  } catch (err) {
    // The file task refuses an existing box folder (E_ALREADY_EXISTS) before writing anything: that
    // folder is not ours to delete. Any other failure happened in a folder this attempt made.
    if (isForkpointError(err, ErrorCodes.ALREADY_EXISTS)) await ctx.writer.apply({ type: 'abortBox', op: p.op, boxId: p.boxId });
    else await rollBackBox(ctx, p.op, p.boxId);
    throw err;
  }
  await ctx.writer.apply({ type: 'commitBox', op: p.op, boxId: p.boxId });
  return { boxId: p.boxId, diskPath: box.diskPath };
}

export function removeBoxJob(ctx: JobContext, p: JobPayload<'remove-box'>) {
  return ctx.boxLock.run(p.boxId, () => removeBox(ctx, p));
}

async function removeBox(ctx: JobContext, p: JobPayload<'remove-box'>) {
  // Records first: once the refs are gone nothing hands this disk out. The row stays, `removing`,
  // until the folder is gone, so no new box can take the id meanwhile, and a crash in between
  // leaves a row recovery finishes, never a live record pointing at a missing disk.
  const removed = await ctx.writer.apply({ type: 'removeBox', op: p.op, boxId: p.boxId });
  // A retry replays removeBox. If the row is no longer removing, an earlier attempt finished the
  // removal, and a box with this id now (if any) is a new one whose folder is not ours to delete.
  if (findBox(ctx.reader, p.boxId)?.state === 'removing') await finishBoxRemoval(ctx, p.boxId, removed.touchedBases);
  else await ctx.requestGc(removed.touchedBases);
  return { boxId: p.boxId, touchedBases: removed.touchedBases };
}

/** The rest of a recorded removal (row `removing`): the folder, the row, then GC of what the box read. Recovery finishes cut-off removals with it. */
export async function finishBoxRemoval(ctx: JobContext, boxId: string, touchedBases: string[]): Promise<void> {
  await ctx.files.run({ type: 'removeBoxDir', home: ctx.layout.home, boxId });
  await ctx.writer.apply({ type: 'finishRemoveBox', boxId });
  await ctx.requestGc(touchedBases);
}

/**
 * Undo a box that was not finished (row `creating`): its folder, which is ours (the file step
 * makes it only after the row, and refuses one that exists), its row, then GC of the base it
 * would have read. Recovery rolls back cut-off boxes with it.
 */
export async function rollBackBox(ctx: JobContext, op: string, boxId: string): Promise<void> {
  await ctx.files.run({ type: 'removeBoxDir', home: ctx.layout.home, boxId });
  const aborted = await ctx.writer.apply({ type: 'abortBox', op, boxId });
  await ctx.requestGc(aborted.touchedBases);
}
