/** Snapshot jobs: create (a named fork), remove (explicit; tombstoned while read), clone (a new box from one). */
import { findSnapshot } from '../../db/sql/findSnapshot.js';
import { findSnapshotsByName } from '../../db/sql/findSnapshotsByName.js';
import type { BaseDiskRecord } from '../../db/types.js';
import { ErrorCodes, ForkpointError } from '../../errors.js';
import type { JobPayload } from '../../producers/jobs.js';
import { attachChildren } from './attach-children.js';
import type { JobContext } from './context.js';
import { forkBox } from './fork.js';
import { collectBase } from './gc.js';

/** A snapshot by name, in one box or (when unambiguous) in any box. */
export function resolveSnapshot(ctx: JobContext, name: string, boxId?: string): BaseDiskRecord {
  if (boxId !== undefined) {
    const found = findSnapshot(ctx.reader, boxId, name);
    if (found) return found;
    throw new ForkpointError(ErrorCodes.UNKNOWN_SNAPSHOT, `no snapshot "${name}" of box "${boxId}"`, { field: 'name', id: name });
  }
  const found = findSnapshotsByName(ctx.reader, name);
  if (found.length === 1) return found[0]!;
  if (found.length === 0) throw new ForkpointError(ErrorCodes.UNKNOWN_SNAPSHOT, `no snapshot named "${name}"`, { field: 'name', id: name });
  throw new ForkpointError(
    ErrorCodes.CONFLICT,
    `snapshot name "${name}" exists in several boxes (${found.map((s) => s.sourceBoxId).join(', ')}); say which box`,
    { field: 'boxId', id: name },
  );
}

export async function snapshotCreateJob(ctx: JobContext, p: JobPayload<'snapshot-create'>) {
  const base = await forkBox(ctx, { op: p.op, sourceBox: p.boxId, kind: 'snapshot', name: p.name });
  return { baseId: base.id, boxId: p.boxId, name: p.name, sizeBytes: base.sizeBytes };
}

export async function snapshotRemoveJob(ctx: JobContext, p: JobPayload<'snapshot-remove'>) {
  const snap = resolveSnapshot(ctx, p.name, p.boxId);
  ctx.workingOn?.({ bases: [snap.id] });
  const removed = await ctx.writer.apply({ type: 'removeSnapshot', op: p.op, baseId: snap.id, force: p.force });
  if (removed.action === 'claimed' && removed.claim?.claimed) {
    await collectBase(ctx, removed.claim);
  }
  return { baseId: snap.id, name: p.name, action: removed.action };
}

export async function snapshotCloneJob(ctx: JobContext, p: JobPayload<'snapshot-clone'>) {
  const snap = resolveSnapshot(ctx, p.name, p.boxId);
  await attachChildren(ctx, p.op, snap, [p.target]);
  return { baseId: snap.id, target: p.target };
}
