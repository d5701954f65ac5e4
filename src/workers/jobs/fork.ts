/**
 * The fork step shared by clone and snapshot jobs: journal (beginFork), move
 * the disk and write the source's child (a file task), commit. Safe to re-run
 * with the same op: the writer returns the first beginFork, and a base that
 * is already ready is not forked twice.
 */
import { findBaseById } from '../../db/sql/findBaseById.js';
import type { BaseDiskRecord } from '../../db/types.js';
import { baseIdFromPath, type JobContext } from './context.js';

export interface ForkRequest {
  op: string;
  sourceBox: string;
  kind: 'snapshot' | 'clone_base';
  name?: string;
  targets?: string[];
}

export async function forkBox(ctx: JobContext, req: ForkRequest): Promise<BaseDiskRecord> {
  const begun = await ctx.writer.apply({ type: 'beginFork', ...req });
  const existing = findBaseById(ctx.reader, begun.baseId);
  if (existing && existing.state === 'ready') return existing;
  let forked;
  try {
    forked = await ctx.files.run({
      type: 'fork',
      source: begun.sourceDiskPath,
      dest: begun.basePath,
      basesDir: ctx.layout.basesDir,
      fsync: ctx.fsync,
    });
  } catch (err) {
    // forkQcow2 undoes its own move, so the source holds its disk again; drop the journal entry.
    await ctx.writer.apply({ type: 'abortFork', op: req.op });
    throw err;
  }
  return ctx.writer.apply({
    type: 'commitFork',
    op: req.op,
    disk: { basePath: forked.basePath, containerDiskBytes: forked.containerDiskBytes, sizeBytes: forked.sizeBytes },
    parentId: baseIdFromPath(forked.parentPath),
  });
}
