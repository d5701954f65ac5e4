/**
 * box-import: a new box from an OCI image layout written by `forkpoint box export` (or copied back
 * from a registry by skopeo). The layout is read as untrusted input (src/oci/read-layout.ts), the
 * import journalled (beginImport: rows creating; layers the home imported before, by digest on
 * the same parent, are reused), the missing layers copied in and verified, the box's disk written,
 * then committed. A failure undoes it all (files, then rows); so does recovery after a crash.
 */
import { join } from 'node:path';
import type { JobPayload } from '../../contract/jobs.js';
import { findBox } from '../../db/sql/findBox.js';
import { findOp } from '../../db/sql/findOp.js';
import type { BeginImportResult } from '../../db/types.js';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import { MAX_CHAIN_DEPTH } from '../../qcow2/constants.js';
import { checkImport, confinement, type JobContext } from './context.js';

export interface ImportResult {
  boxId: string;
  manifest: string;
  layers: { digest: string; baseId: string; reused: boolean }[];
}

export async function boxImportJob(ctx: JobContext, p: JobPayload<'box-import'>): Promise<ImportResult> {
  await checkImport(ctx, join(p.layout, 'oci-layout'), 'layout');
  const image = await ctx.files.run({ type: 'ociRead', dir: p.layout, tag: p.tag ?? null, ...confinement(ctx, 'layout') });
  const bases = image.kind === 'box' ? image.layers.slice(0, -1) : image.layers;
  if (bases.length > MAX_CHAIN_DEPTH) {
    throw new ForkpointError(ErrorCodes.CHAIN_TOO_DEEP, `${image.dir}: a box on these ${bases.length} layers would read more than ${MAX_CHAIN_DEPTH} backing files`, { path: image.dir });
  }
  const done = (begun: BeginImportResult): ImportResult => ({
    boxId: p.boxId,
    manifest: image.manifest,
    layers: begun.layers.map((l) => ({ digest: l.digest, baseId: l.baseId, reused: l.reused })),
  });
  const begun = await ctx.writer.apply({ type: 'beginImport', op: p.op, boxId: p.boxId, layers: bases.map((l) => ({ digest: l.digest, format: l.format })) });
  if (findOp(ctx.reader, p.op, 'beginImport')?.state === 'done') {
    // A retry of a finished import. Its box gone (removed since, its bases maybe collected), the
    // replayed journal names rows that no longer exist: writing its files again would leave files
    // no record owns, so it is refused, as a clone's removed target is (attach-children.ts).
    const box = findBox(ctx.reader, p.boxId);
    if (box?.state === 'ready' && box.opId === p.op) return done(begun);
    throw new ForkpointError(ErrorCodes.CONFLICT, `box ${p.boxId} was imported by this operation (${p.op}) and removed since; submit a new request to import it again`, {
      id: p.boxId,
      op: p.op,
    });
  }
  ctx.workingOn?.({ bases: begun.layers.map((l) => l.baseId) });
  let disks;
  try {
    disks = await ctx.files.run({ type: 'ociInstall', home: ctx.layout.home, image, begun, fsync: ctx.fsync });
  } catch (err) {
    await undoImport(ctx, p.op, begun);
    throw err;
  }
  await ctx.writer.apply({ type: 'commitImport', op: p.op, disks });
  return done(begun);
}

/** Undo an uncommitted import: what it copied in, its rows, then GC of the reused bases it would have read. Recovery uses it too. */
export async function undoImport(ctx: JobContext, op: string, begun: BeginImportResult): Promise<void> {
  await ctx.files.run({ type: 'ociUndo', home: ctx.layout.home, begun });
  const aborted = await ctx.writer.apply({ type: 'abortImport', op });
  await ctx.requestGc(aborted.touchedBases);
}
