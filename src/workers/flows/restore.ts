/**
 * snapshot-restore: the box's disk becomes a fresh COW child of one of its
 * snapshots. Journalled like a fork: beginRestore (the box refs the snapshot),
 * the file half (stage a child, rename it over the disk), commitRestore (the
 * box refs only the snapshot now), then GC of what it read before. A retry
 * of a committed restore is not run again (it would throw away what the box
 * wrote since); recovery finishes a begun one with completeRestore.
 */
import { resolveSnapshot, requireBox } from '../../db/lookups.js';
import { findOp } from '../../db/sql/findOp.js';
import type { BeginRestoreResult } from '../../db/types.js';
import { ErrorCodes, ForkpointError, isForkpointError } from '../../errors.js';
import { InjectedFault } from '../../faults.js';
import type { JobPayload } from '../../contract/jobs.js';
import type { JobContext } from './context.js';

export interface RestoreResult {
  boxId: string;
  name: string;
  baseId: string;
  /** Bases the box no longer reads (GC was asked about each). */
  released: string[];
}

export function snapshotRestoreJob(ctx: JobContext, p: JobPayload<'snapshot-restore'>): Promise<RestoreResult> {
  return ctx.boxLock.run(p.boxId, () => restore(ctx, p));
}

async function restore(ctx: JobContext, p: JobPayload<'snapshot-restore'>): Promise<RestoreResult> {
  const journalled = findOp(ctx.reader, p.op, 'beginRestore');
  const resumed = journalled !== null && journalled.state !== 'aborted';
  // The box first, then its snapshot: the order the HTTP pre-checks refuse in (same code for the same request).
  const box = resumed ? null : requireBox(ctx.reader, p.boxId);
  if (box && box.state !== 'ready') throw new ForkpointError(ErrorCodes.CONFLICT, `cannot restore box ${box.id}: it is ${box.state}`, { id: box.id });
  // A retry names the snapshot from the journal: it may have been removed (tombstoned) since.
  const baseId = resumed ? (journalled.payload as { baseId: string }).baseId : resolveSnapshot(ctx.reader, p.name, p.boxId).id;
  if (box && p.checkInUse) await ctx.files.run({ type: 'checkNotInUse', path: box.diskPath });
  ctx.workingOn?.({ bases: [baseId] });
  const begun = await ctx.writer.apply({ type: 'beginRestore', op: p.op, boxId: p.boxId, baseId });
  const done = findOp(ctx.reader, p.op, 'beginRestore')?.state === 'done';
  const released = done ? await commitRestore(ctx, p.op) : await completeRestore(ctx, p.op, begun);
  return { boxId: p.boxId, name: p.name, baseId, released };
}

/**
 * Roll a journalled restore forward: the file half from the start (it is
 * idempotent), the commit, GC of the old chain. A failed file half left the
 * disk as it was (the step swaps last, and removes its staged file on
 * failure), so the restore is aborted and the same op may run again; one
 * that failed after its swap (a flush) is committed, and its error still thrown.
 * Recovery calls this for a restore a crash cut off.
 */
export async function completeRestore(ctx: JobContext, op: string, begun: BeginRestoreResult): Promise<string[]> {
  try {
    await ctx.files.run({ type: 'restoreDisk', home: ctx.layout.home, begun, fsync: ctx.fsync });
  } catch (err) {
    // Failed after the swap (file-steps/restore.ts): the box reads the snapshot, so the records say so; the error still reaches the caller.
    if (isForkpointError(err) && err.details.swapped === true) await commitRestore(ctx, op);
    else if (!(err instanceof InjectedFault)) await ctx.writer.apply({ type: 'abortRestore', op });
    throw err;
  }
  return commitRestore(ctx, op);
}

async function commitRestore(ctx: JobContext, op: string): Promise<string[]> {
  const committed = await ctx.writer.apply({ type: 'commitRestore', op });
  await ctx.requestGc(committed.touchedBases);
  return committed.touchedBases;
}
