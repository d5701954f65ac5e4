/**
 * The rootfs cache: raw ext4 images in bases/ (kind rootfs, source `__global__`,
 * named by a version key) that boxes read through qcow2 overlays. Imported and
 * removed explicitly, never collected by GC.
 */
import { findRootfs } from '../../db/sql/findRootfs.js';
import type { BaseDiskRecord } from '../../db/types.js';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { mintBaseId } from '../../ids.js';
import { basePath } from '../../layout.js';
import type { JobPayload } from '../../producers/jobs.js';
import type { JobContext } from './context.js';
import { collectBase } from './gc.js';

export async function rootfsImportJob(ctx: JobContext, p: JobPayload<'rootfs-import'>) {
  const existing = findRootfs(ctx.reader, p.key);
  if (existing) return { baseId: existing.id, key: p.key, basePath: existing.basePath, imported: false };
  const dest = basePath(ctx.layout, mintBaseId(), 'ext4');
  ctx.workingOn?.({ files: [dest] }); // in bases/ before its record: not an orphan while this runs
  const copied = await ctx.files.run({ type: 'importRaw', source: p.image, dest, fsync: ctx.fsync });
  try {
    const record = await ctx.writer.apply({
      type: 'registerRootfs',
      op: p.op,
      key: p.key,
      disk: copied,
    });
    return { baseId: record.id, key: p.key, basePath: record.basePath, imported: true };
  } catch (err) {
    await ctx.files.run({ type: 'removeBase', home: ctx.layout.home, path: dest, fsync: ctx.fsync });
    throw err;
  }
}

export function requireRootfs(ctx: JobContext, key: string): BaseDiskRecord {
  const found = findRootfs(ctx.reader, key);
  if (found) return found;
  throw new ForkpointError(ErrorCodes.UNKNOWN_BASE, `no rootfs registered as ${JSON.stringify(key)}`, { field: 'rootfs', id: key });
}

/** rootfs-remove: refused while a box or base reads it (E_HAS_DEPENDENTS); else its file and record go. */
export async function rootfsRemoveJob(ctx: JobContext, p: JobPayload<'rootfs-remove'>) {
  const rootfs = requireRootfs(ctx, p.key);
  ctx.workingOn?.({ bases: [rootfs.id] });
  const claim = await ctx.writer.apply({ type: 'removeRootfs', op: p.op, baseId: rootfs.id });
  if (claim.claimed) await collectBase(ctx, claim);
  return { baseId: rootfs.id, key: p.key, removed: claim.claimed };
}
