/**
 * The fork step shared by clone and snapshot jobs: journal (beginFork), the
 * file half (move + child, or flatten past the depth cap), commit. A retried
 * job (same op) picks up where the last attempt stopped: the journalled fork
 * is replayed with its journalled mode, the file half resumes from what is on
 * disk (file-steps/fork-progress.ts), and a committed fork is not forked again.
 */
import { previousBaseOf } from '../../file-steps/fork-progress.js';
import { baseIdOfPath } from '../../file-steps/paths.js';
import { findBaseById } from '../../db/sql/findBaseById.js';
import { findCompactionCopy } from '../../db/sql/findCompactionCopy.js';
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
  return source ? ctx.files.run({ type: 'forkMode', home: ctx.layout.home, diskPath: source.diskPath }) : 'move';
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
  const existing = findBaseById(ctx.reader, begun.baseId) ?? compactedCopyOf(ctx, begun.baseId);
  if (existing?.state === 'ready') {
    // Committed by an earlier attempt or by recovery; a flatten's clean-up may still be owed (it is idempotent).
    await releaseOldChain(ctx, begun, source?.baseId);
    return existing;
  }
  if (existing?.state !== 'creating') {
    throw new ForkpointError(ErrorCodes.CONFLICT, `fork ${req.op} of box ${req.sourceBox}: its base ${begun.baseId} is ${existing ? existing.state : 'gone'}; submit the request again`, {
      id: begun.baseId,
    });
  }
  return completeFork(ctx, req.op, begun, source?.baseId);
}

/**
 * The base that took over from `baseId` once a compaction flattened it and GC collected it (a
 * clone cut off part-way, compacted before it ran again): the copy reads the same bytes, and the
 * boxes the clone made were re-pointed at it, so the rest of the request goes on from there.
 * Followed through later compactions of the copy; null if the journal no longer says.
 */
function compactedCopyOf(ctx: JobContext, baseId: string): BaseDiskRecord | null {
  for (let id = findCompactionCopy(ctx.reader, baseId); id !== null; id = findCompactionCopy(ctx.reader, id)) {
    const copy = findBaseById(ctx.reader, id);
    if (copy) return copy;
  }
  return null;
}

/**
 * Roll a journalled fork forward: its file half from wherever it stopped, the
 * commit, and a flatten's release of the old chain. A failed file half is
 * rolled back only if nothing moved (the base holds no bytes of the box yet);
 * otherwise the journal stays for a retry or recovery to finish. Recovery
 * calls this too, for a fork a crash cut off after its disk moved.
 */
export async function completeFork(ctx: JobContext, op: string, begun: BeginForkResult, sourceBaseBefore: string | null | undefined): Promise<BaseDiskRecord> {
  let forked;
  try {
    forked = await ctx.files.run({ type: 'fork', home: ctx.layout.home, begun, fsync: ctx.fsync });
  } catch (err) {
    await rollBackFork(ctx, op, begun);
    throw err;
  }
  const { parentPath, ...disk } = forked;
  const base = await ctx.writer.apply({ type: 'commitFork', op, disk, parentId: parentPath ? baseIdOfPath(ctx.layout, parentPath) : null });
  await releaseOldChain(ctx, begun, sourceBaseBefore);
  return base;
}

/** Undo a journalled fork if nothing moved yet (its leftovers, then its records); false if it must go forward. */
export async function rollBackFork(ctx: JobContext, op: string, begun: BeginForkResult): Promise<boolean> {
  if (!(await ctx.files.run({ type: 'undoFork', begun }))) return false;
  await ctx.writer.apply({ type: 'abortFork', op });
  return true;
}

/**
 * After a flatten the source reads only the new base: commitFork dropped its refs to the old
 * chain, which is garbage unless something else reads it. GC from the previous base cascades down.
 */
async function releaseOldChain(ctx: JobContext, begun: BeginForkResult, sourceBaseBefore: string | null | undefined): Promise<void> {
  if (begun.mode !== 'flatten') return;
  const previous = previousBaseOf(begun, sourceBaseBefore);
  await ctx.requestGc(previous ? [previous] : []);
}
