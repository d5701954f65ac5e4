/** rootfs-import: copy a raw ext4 image into bases/ read-only and register it under its version key. */
import { findRootfs } from '../../db/sql/findRootfs.js';
import { mintBaseId } from '../../ids.js';
import { basePath } from '../../layout.js';
import type { JobPayload } from '../../producers/jobs.js';
import type { JobContext } from './context.js';

export async function rootfsImportJob(ctx: JobContext, p: JobPayload<'rootfs-import'>) {
  const existing = findRootfs(ctx.reader, p.key);
  if (existing) return { baseId: existing.id, key: p.key, basePath: existing.basePath, imported: false };
  const dest = basePath(ctx.layout, mintBaseId(), 'ext4');
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
