/** Box jobs: create one (fresh disk or a copy of an image), remove one or many (refs, files, then GC). */
import { findBox } from '../../db/sql/findBox.js';
import { findBoxes } from '../../db/sql/findBoxes.js';
import { ErrorCodes, ForkpointError, isForkpointError } from '../../errors.js';
import { boxDir, boxDiskPath } from '../../layout.js';
import type { JobPayload } from '../../contract/jobs.js';
import { attachChildren } from './attach-children.js';
import { chunks } from '../../chunks.js';
import { mapLimit } from '../map-limit.js';
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

/** One box (`boxId`: a refusal fails the job) or many (`boxIds`: an outcome per box, see removeBoxes). */
export function removeBoxJob(ctx: JobContext, p: JobPayload<'remove-box'>) {
  if (p.boxIds !== undefined) return ctx.boxLock.runAll(p.boxIds, () => removeBoxes(ctx, p.op, p.boxIds!));
  return ctx.boxLock.run(p.boxId!, () => removeBox(ctx, p.op, p.boxId!));
}

async function removeBox(ctx: JobContext, op: string, boxId: string) {
  // Records first: once the refs are gone nothing hands this disk out. The row stays, `removing`,
  // until the folder is gone, so no new box can take the id meanwhile, and a crash in between
  // leaves a row recovery finishes, never a live record pointing at a missing disk.
  const removed = await ctx.writer.apply({ type: 'removeBox', op, boxId });
  // A retry replays removeBox. If the row is no longer removing, an earlier attempt finished the
  // removal, and a box with this id now (if any) is a new one whose folder is not ours to delete.
  if (findBox(ctx.reader, boxId)?.state === 'removing') await finishBoxRemoval(ctx, boxId, removed.touchedBases);
  else await ctx.requestGc(removed.touchedBases);
  return { boxId, touchedBases: removed.touchedBases };
}

type BoxRemovalError = ReturnType<ForkpointError['toJSON']>;

/** What a bulk removal did with one box (in the order given). */
export type BoxRemoval =
  | { boxId: string; outcome: 'removed'; touchedBases: string[] }
  | { boxId: string; outcome: 'unknown' | 'refused' | 'failed'; error: BoxRemovalError };

/**
 * Many boxes as one job: every ref dropped in one transaction (a box refused there is reported
 * and the rest go on), the folders removed in parallel on the file pool with one flush of boxes/
 * per task, the rows deleted in one transaction, then one GC request per touched base. A folder
 * that cannot be removed is reported `failed` and its row stays `removing`: removing the box
 * again, or the next start's recovery, finishes it (as it does a removal cut off by a crash).
 */
async function removeBoxes(ctx: JobContext, op: string, boxIds: string[]): Promise<{ outcomes: BoxRemoval[]; touchedBases: string[] }> {
  const recorded = await ctx.writer.apply({ type: 'removeBoxes', op, boxIds });
  // As for one box: after a retry's replay, only rows still removing are this job's to finish.
  const forgotten = recorded.outcomes.filter((o) => o.ok).map((o) => o.boxId);
  const rows = findBoxes(ctx.reader, forgotten);
  const removing = forgotten.filter((id) => rows.get(id)?.state === 'removing');
  const failed = await removeBoxFolders(ctx, removing);
  const gone = removing.filter((id) => !failed.has(id));
  if (gone.length > 0) await ctx.writer.apply({ type: 'finishRemoveBoxes', boxIds: gone });
  // A base still read by a row left removing is kept by the GC rule (box rows are readers).
  await ctx.requestGc(recorded.touchedBases);
  const outcomes = recorded.outcomes.map((o): BoxRemoval => {
    if (!o.ok) return { boxId: o.boxId, outcome: o.error.code === ErrorCodes.UNKNOWN_BOX ? 'unknown' : 'refused', error: o.error };
    const error = failed.get(o.boxId);
    return error ? { boxId: o.boxId, outcome: 'failed', error } : { boxId: o.boxId, outcome: 'removed', touchedBases: o.touchedBases };
  });
  return { outcomes, touchedBases: recorded.touchedBases };
}

/** Remove these folders, one share per pool thread; returns the ones that could not be removed, with why. */
async function removeBoxFolders(ctx: JobContext, boxIds: string[]): Promise<Map<string, BoxRemovalError>> {
  const failed = new Map<string, BoxRemovalError>();
  if (boxIds.length === 0) return failed;
  const size = Math.ceil(boxIds.length / Math.max(1, ctx.parallelism));
  const shares = chunks(boxIds, size);
  let done = 0;
  await mapLimit(shares, ctx.parallelism, async (share) => {
    try {
      const r = await ctx.files.run({ type: 'removeBoxDirs', home: ctx.layout.home, boxIds: share });
      for (const f of r.failed) failed.set(f.boxId, f.error);
    } catch (err) {
      // The share's flush (or the thread) failed: none of its removals is known durable.
      const error = isForkpointError(err) ? err.toJSON() : new ForkpointError(ErrorCodes.IO, (err as Error).message).toJSON();
      for (const id of share) failed.set(id, error);
    }
    done += share.length;
    await ctx.progress({ done, total: boxIds.length });
  });
  return failed;
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
