/**
 * The rootfs cache: raw ext4 images in bases/ (kind rootfs, source `__global__`,
 * named by a version key) that boxes read through qcow2 overlays. Imported and
 * removed explicitly, never collected by GC.
 */
import { findRootfs } from '../../db/sql/findRootfs.js';
import { requireRootfs } from '../../db/lookups.js';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { mintBaseId } from '../../ids.js';
import { basePath } from '../../layout.js';
import type { JobPayload } from '../../contract/jobs.js';
import { checkImport, confinement, type JobContext } from './context.js';
import { collectBase, journalledBaseId, refuseUnrecordedReaders } from './gc.js';

export async function rootfsImportJob(ctx: JobContext, p: JobPayload<'rootfs-import'>) {
  const existing = findRootfs(ctx.reader, p.key);
  if (existing) {
    // Imported by this op (a retry): done. By another request: only the same bytes may share its key.
    const ours = existing.opId === p.op;
    if (!ours && !(await ctx.files.run({ type: 'sameBytes', path: p.image, as: existing.basePath, ...confinement(ctx, 'image') }))) {
      throw new ForkpointError(
        ErrorCodes.CONFLICT,
        `rootfs key ${JSON.stringify(p.key)} is already in the cache (base ${existing.id}) with other content than ${p.image}; remove it first (rootfs rm) or import under another key`,
        { field: 'key', id: p.key },
      );
    }
    return { baseId: existing.id, key: p.key, basePath: existing.basePath, imported: ours };
  }
  await checkImport(ctx, p.image, 'image');
  const dest = basePath(ctx.layout, mintBaseId(), 'ext4');
  ctx.workingOn?.({ files: [dest] }); // in bases/ before its record: not an orphan while this runs
  const copied = await ctx.files.run({ type: 'importRaw', source: p.image, dest, fsync: ctx.fsync, ...confinement(ctx, 'image') });
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

/** rootfs-remove: refused while a box or base reads it (E_HAS_DEPENDENTS); else its file and record go. */
export async function rootfsRemoveJob(ctx: JobContext, p: JobPayload<'rootfs-remove'>) {
  // As for snapshots: a retry past the record names the base from the journal (it may be gone already).
  const journalled = journalledBaseId(ctx, p.op, 'removeRootfs');
  const rootfs = journalled === null ? requireRootfs(ctx.reader, p.key, 'key') : null;
  if (rootfs) await refuseUnrecordedReaders(ctx, `rootfs ${p.key}`, rootfs);
  const baseId = journalled ?? rootfs!.id;
  ctx.workingOn?.({ bases: [baseId] });
  const claim = await ctx.writer.apply({ type: 'removeRootfs', op: p.op, baseId });
  if (claim.claimed) await collectBase(ctx, claim);
  return { baseId, key: p.key, removed: claim.claimed };
}
