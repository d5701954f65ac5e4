/**
 * Give boxes their COW children of one base: chunks of children written in
 * parallel by the file pool, each chunk's refs committed in one writer
 * command (not one transaction per child). Boxes already ready are skipped,
 * so a retried job only finishes what is left.
 */
import { createHash } from 'node:crypto';
import { boxesOfOp } from '../../db/sql/boxesOfOp.js';
import { findBox } from '../../db/sql/findBox.js';
import { findOp } from '../../db/sql/findOp.js';
import { removalsSince } from '../../db/sql/removalsSince.js';
import { ErrorCodes, ForkpointError, isForkpointError } from '../../errors.js';
import type { BaseDiskRecord } from '../../db/types.js';
import { faultPoint } from '../../faults.js';
import { boxDiskPath } from '../../layout.js';
import { cancelledError, stopIfCancelled, undoUnmade } from './cancel.js';
import { mapLimit } from '../map-limit.js';
import type { JobContext } from './context.js';
import { GroupCommitter } from './group-committer.js';

/** Children per file task: big enough to amortise a thread hop and a folder fsync, small enough for steady progress. */
export const CHILDREN_PER_TASK = 32;

/** Boxes journalled again per round of writer commands when a resumed batch lost its rows. */
const MISSING_PER_ROUND = 500;

/**
 * A short op id for a sub-step, stable for the same op and set of boxes. The
 * hash covers the whole op: two ops that share their first 40 characters must
 * not share sub-ops, or the second would replay the first's commands.
 */
export const subOp = (op: string, tag: string, parts: string[]): string =>
  `${op.slice(0, 40)}-${tag}${createHash('sha256').update([op, ...parts].join('\0')).digest('base64url').slice(0, 16)}`;

/**
 * The boxes still to do. A target row is this job's when this op made it (beginFork of a clone,
 * or createBox of a snapshot clone) for this base; a ready one of ours is done. Any other row is
 * someone else's box, never adopted or overwritten.
 */
function boxesToDo(ctx: JobContext, op: string, base: BaseDiskRecord, boxIds: string[]): { todo: string[]; missing: string[] } {
  const todo: string[] = [];
  const missing: string[] = [];
  // A clone's targets are all its beginFork's rows: read together; any other is looked up alone.
  const made = boxesOfOp(ctx.reader, op);
  for (const id of boxIds) {
    const row = made.get(id) ?? findBox(ctx.reader, id);
    if (!row) {
      missing.push(id);
      todo.push(id);
      continue;
    }
    const ours = row.baseId === base.id && (row.opId === op || row.opId === subOp(op, 'b', [id]));
    if (!ours) throw new ForkpointError(ErrorCodes.ALREADY_EXISTS, `box ${id} already exists`, { id, field: 'target' });
    if (row.state !== 'ready') todo.push(id);
  }
  refuseIfRemovedSince(ctx, op, missing);
  return { todo, missing };
}

/**
 * A box this op made once (a clone target of its beginFork, or its own createBox) and no
 * longer finds was either undone by recovery (its disk was half-written: make it again) or
 * removed by its owner after it was finished: making that one again would bring back a box
 * someone removed. The journal tells them apart (read once for the whole batch).
 */
function refuseIfRemovedSince(ctx: JobContext, op: string, missing: string[]): void {
  if (missing.length === 0) return;
  const fork = findOp(ctx.reader, op, 'beginFork');
  const madeAt = new Map<string, number>();
  for (const id of missing) {
    const made = fork ?? findOp(ctx.reader, subOp(op, 'b', [id]), 'createBox');
    if (made) madeAt.set(id, made.createdAt);
  }
  if (madeAt.size === 0) return;
  const removed = removalsSince(ctx.reader, Math.min(...madeAt.values()));
  for (const [id, at] of madeAt) if ((removed.get(id) ?? -1) >= at) throw removedSinceError(op, id);
}

function removedSinceError(op: string, id: string): ForkpointError {
  return new ForkpointError(ErrorCodes.CONFLICT, `box ${id} was made by this operation (${op}) and removed since; submit a new request to make it again`, { id, op });
}

export async function attachChildren(ctx: JobContext, op: string, base: BaseDiskRecord, boxIds: string[]): Promise<string[]> {
  const { todo, missing } = boxesToDo(ctx, op, base, boxIds);
  // Also before journalling the missing ones again (one command each): a resumed job cancelled meanwhile stops here.
  if (missing.length > 0) await stopIfCancelled(ctx, op, 'before it resumed').catch((err: unknown) => undoIfCancelled(ctx, op, boxIds, err));
  // No row yet (a snapshot clone), or a recovery removed it with its half-written disk: journal it
  // (again). Sent together, so the writer applies them in a few transactions, not one each.
  for (let i = 0; i < missing.length; i += MISSING_PER_ROUND) {
    const round = missing.slice(i, i + MISSING_PER_ROUND);
    await Promise.all(round.map((id) => ctx.writer.apply({ type: 'createBox', op: subOp(op, 'b', [id]), boxId: id, baseId: base.id })));
    for (const id of round) {
      // A replayed createBox makes no row: the box this op made was removed since (by its owner, after
      // an earlier attempt finished it). Writing its disk again would leave a disk nothing records.
      if (findBox(ctx.reader, id)?.opId !== subOp(op, 'b', [id])) throw removedSinceError(op, id);
    }
  }
  const chunks: string[][] = [];
  for (let i = 0; i < todo.length; i += CHILDREN_PER_TASK) chunks.push(todo.slice(i, i + CHILDREN_PER_TASK));
  let done = boxIds.length - todo.length;
  await ctx.progress({ done, total: boxIds.length, phase: 'writing children' });
  const commit = async (group: string[][]) => {
    // Sent together, so the writer commits a group's chunks in one transaction (one fsync), each in its own savepoint.
    await Promise.all(group.map((chunk) => ctx.writer.apply({ type: 'addRefs', op: subOp(op, 'r', chunk), baseId: base.id, boxIds: chunk })));
    done += group.reduce((n, chunk) => n + chunk.length, 0);
    await ctx.progress({ done, total: boxIds.length, phase: 'writing children' });
    faultPoint('clone:after-group'); // a crash with some boxes made, the rest journalled only
  };
  const disks = (chunk: string[]) => chunk.map((id) => boxDiskPath(ctx.layout, id));
  // Each chunk's children durable before its refs make them visible: flushed by its own write
  // task (an fsync each), or, while the page cache holds little else, written unflushed and
  // committed in groups behind one syncfs each (steps.ts childrenFlushModeStep).
  const grouped = ctx.fsync && chunks.length > 0 && (await ctx.files.run({ type: 'childrenFlushMode' })) === 'syncfs';
  const committer = grouped
    ? new GroupCommitter(async (group) => void (await ctx.files.run({ type: 'flushChildren', children: group.flatMap(disks) })), commit)
    : null;
  const written = mapLimit(chunks, ctx.parallelism, async (chunk) => {
    committer?.throwIfFailed();
    // Only before a chunk: one begun is written and committed whole, so what a cancel leaves is made.
    await stopIfCancelled(ctx, op, `after ${done} of ${boxIds.length} boxes`);
    await ctx.files.run({ type: 'writeChildren', base: base.basePath, children: disks(chunk), fsync: ctx.fsync && !grouped });
    if (committer) committer.add(chunk);
    else await commit([chunk]);
  });
  // Every chunk written is committed (or its group failed) before anything is undone or reported.
  await settleBoth(written, () => committer?.drain() ?? Promise.resolve()).catch((err: unknown) => undoIfCancelled(ctx, op, boxIds, err));
  return boxIds;
}

/** Wait for `a`, then for what `b` starts; the first failure (the writers' before the commits') once both have settled. */
async function settleBoth(a: Promise<unknown>, b: () => Promise<unknown>): Promise<void> {
  const first = await Promise.allSettled([a]);
  const second = await Promise.allSettled([b()]);
  for (const r of [...first, ...second]) if (r.status === 'rejected') throw r.reason;
}

/** A cancelled job undoes the boxes it journalled and did not make (cancel.ts); any other failure is rethrown as it is. */
async function undoIfCancelled(ctx: JobContext, op: string, boxIds: string[], err: unknown): Promise<never> {
  if (!isForkpointError(err, ErrorCodes.CANCELLED)) throw err;
  const isOurs = (id: string, opId: string) => opId === op || opId === subOp(op, 'b', [id]);
  await undoUnmade(ctx, boxIds, { isOurs, abortOp: (ids) => subOp(op, 'x', ids) });
  // Counted from the rows, not from what this attempt undid: a resumed job's unmade rows may be gone already (recovery's).
  const made = boxIds.filter((id) => {
    const row = findBox(ctx.reader, id);
    return row?.state === 'ready' && isOurs(id, row.opId);
  }).length;
  const undone = boxIds.length - made;
  throw cancelledError(op, `after making ${made} of ${boxIds.length} boxes (the other ${undone} were not made)`, { made, undone });
}
