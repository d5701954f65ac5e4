/**
 * The fork step shared by clone and snapshot jobs: journal (beginFork), the
 * file half (move + child, or flatten past the depth cap), commit. Safe to
 * re-run with the same op: the writer returns the first beginFork, and a
 * base that is already ready is not forked twice.
 */
import { findBaseById } from '../../db/sql/findBaseById.js';
import { findBox } from '../../db/sql/findBox.js';
import type { BaseDiskRecord } from '../../db/types.js';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { baseIdOfPath } from '../../db/core/paths.js';
import type { JobContext } from './context.js';
import { subOp } from './attach-children.js';

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

async function forkUnlocked(ctx: JobContext, req: ForkRequest): Promise<BaseDiskRecord> {
  const source = findBox(ctx.reader, req.sourceBox);
  // A box still being created (a clone target whose child is being written) has a disk that may be
  // empty: probing it failed the job with E_NOT_QCOW2 ("file is only 0 bytes") where beginFork would
  // refuse cleanly. Refuse the same way, before reading anything (found by pipeline.concurrency).
  if (source && source.state !== 'ready') {
    throw new ForkpointError(ErrorCodes.UNKNOWN_BOX, `box ${source.id} is not ready (state ${source.state})`, { id: source.id });
  }
  const mode = source ? await ctx.files.run({ type: 'forkMode', diskPath: source.diskPath }) : 'move';
  const begun = await ctx.writer.apply({ type: 'beginFork', ...req, mode });
  const existing = findBaseById(ctx.reader, begun.baseId);
  if (existing && existing.state === 'ready') return existing;
  let forked;
  try {
    forked = await ctx.files.run({ type: 'fork', home: ctx.layout.home, begun, fsync: ctx.fsync });
  } catch (err) {
    // forkQcow2 undoes its own move and a failed flatten removes its partial base: drop the journal entry.
    await ctx.writer.apply({ type: 'abortFork', op: req.op });
    throw err;
  }
  const { parentPath, ...disk } = forked;
  const base = await ctx.writer.apply({ type: 'commitFork', op: req.op, disk, parentId: parentPath ? baseIdOfPath(ctx.layout, parentPath) : null });
  if (begun.mode === 'flatten') {
    // The source now reads only the flattened base: its old chain is garbage unless something else reads it.
    const released = await ctx.writer.apply({ type: 'releaseRefs', op: subOp(req.op, 'x', [req.sourceBox]), boxId: req.sourceBox, keepBaseId: base.id });
    await ctx.requestGc([...released.touchedBases, ...(source?.baseId ? [source.baseId] : [])]);
  }
  return base;
}
