/**
 * The fork step shared by clone and snapshot jobs: journal (beginFork), the
 * file half (move + child, or flatten past the depth cap), commit. A retried
 * job (same op) picks up where the last attempt stopped: the journalled fork
 * is replayed with its journalled mode, the file half resumes from what is on
 * disk (core/fork-progress.ts), and a committed fork is not forked again.
 */
import { previousBaseOf } from '../../db/core/fork-progress.js';
import { baseIdOfPath } from '../../db/core/paths.js';
import { findBaseById } from '../../db/sql/findBaseById.js';
import { findBox } from '../../db/sql/findBox.js';
import { findOp } from '../../db/sql/findOp.js';
import type { BaseDiskRecord, BeginForkResult, BoxRecord } from '../../db/types.js';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import type { JobContext } from './context.js';

export interface ForkRequest {
  op: string;
  sourceBox: string;
  kind: 'snapshot' | 'clone_base';
  name?: string;
  targets?: string[];
}

export function forkBox(ctx: JobContext, req: ForkRequest): Promise<BaseDiskRecord> {
  return ctx.boxLock.run(req.sourceBox, () => forkUnlocked(ctx, req));
}

/** 'move' or 'flatten': the journalled choice when this op already began (a retry must not change it), else the disk's. */
async function forkMode(ctx: JobContext, op: string, source: BoxRecord | null): Promise<'move' | 'flatten'> {
  const journalled = findOp(ctx.reader, op, 'beginFork');
  if (journalled && journalled.state !== 'aborted') return (journalled.payload as { mode?: 'move' | 'flatten' }).mode ?? 'move';
  return source ? ctx.files.run({ type: 'forkMode', diskPath: source.diskPath }) : 'move';
}

async function forkUnlocked(ctx: JobContext, req: ForkRequest): Promise<BaseDiskRecord> {
  const source = findBox(ctx.reader, req.sourceBox);
  // A box still being created (a clone target whose child is being written) has a disk that may be
  // empty: probing it failed the job with E_NOT_QCOW2 ("file is only 0 bytes") where beginFork would
  // refuse cleanly. Refuse the same way, before reading anything (found by pipeline.concurrency).
  if (source && source.state !== 'ready') {
    throw new ForkpointError(ErrorCodes.UNKNOWN_BOX, `box ${source.id} is not ready (state ${source.state})`, { id: source.id });
  }
  const begun = await ctx.writer.apply({ type: 'beginFork', ...req, mode: await forkMode(ctx, req.op, source) });
  const existing = findBaseById(ctx.reader, begun.baseId);
  if (existing?.state === 'ready') {
    // Committed by an earlier attempt or by recovery; a flatten's clean-up may still be owed (it is idempotent).
    await releaseOldChain(ctx, begun, source);
    return existing;
  }
  if (existing?.state !== 'creating') {
    throw new ForkpointError(ErrorCodes.CONFLICT, `fork ${req.op} of box ${req.sourceBox}: its base ${begun.baseId} is ${existing ? existing.state : 'gone'}; submit the request again`, {
      id: begun.baseId,
    });
  }
  let forked;
  try {
    forked = await ctx.files.run({ type: 'fork', home: ctx.layout.home, begun, fsync: ctx.fsync });
  } catch (err) {
    // Drop the journal entry only if nothing moved; once the base holds the box's bytes the fork can
    // only go forward (a retry resumes it, or recovery does at the next start).
    if (await ctx.files.run({ type: 'undoFork', begun })) await ctx.writer.apply({ type: 'abortFork', op: req.op });
    throw err;
  }
  const { parentPath, ...disk } = forked;
  const base = await ctx.writer.apply({ type: 'commitFork', op: req.op, disk, parentId: parentPath ? baseIdOfPath(ctx.layout, parentPath) : null });
  await releaseOldChain(ctx, begun, source);
  return base;
}

/**
 * After a flatten the source reads only the new base: commitFork dropped its refs to the old
 * chain, which is garbage unless something else reads it. GC from the previous base cascades down.
 */
async function releaseOldChain(ctx: JobContext, begun: BeginForkResult, source: BoxRecord | null): Promise<void> {
  if (begun.mode !== 'flatten') return;
  const previous = previousBaseOf(begun, source?.baseId);
  await ctx.requestGc(previous ? [previous] : []);
}
