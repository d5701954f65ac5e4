/** Snapshot jobs: create (a named fork), remove (explicit; tombstoned while read), clone (a new box from one). */
import { resolveSnapshot } from '../../db/lookups.js';
import type { JobPayload } from '../../contract/jobs.js';
import { attachChildren } from './attach-children.js';
import { requestCompactionIfDeep } from './compact.js';
import type { JobContext } from './context.js';
import { forkBox } from './fork.js';
import { collectBase, journalledBaseId, refuseUnrecordedReaders } from './gc.js';

export async function snapshotCreateJob(ctx: JobContext, p: JobPayload<'snapshot-create'>) {
  const base = await forkBox(ctx, { op: p.op, sourceBox: p.boxId, kind: 'snapshot', name: p.name });
  await requestCompactionIfDeep(ctx, [base.id]);
  return { baseId: base.id, boxId: p.boxId, name: p.name, sizeBytes: base.sizeBytes };
}

export async function snapshotRemoveJob(ctx: JobContext, p: JobPayload<'snapshot-remove'>) {
  // A retry of a removal that got as far as its record names the snapshot from the journal: the
  // record may be gone already (collected), and the rest of the removal is still to finish.
  const journalled = journalledBaseId(ctx, p.op, 'removeSnapshot');
  const snap = journalled === null ? resolveSnapshot(ctx.reader, p.name, p.boxId) : null;
  if (snap) await refuseUnrecordedReaders(ctx, `snapshot ${p.name}`, snap);
  const baseId = journalled ?? snap!.id;
  ctx.workingOn?.({ bases: [baseId] });
  const removed = await ctx.writer.apply({ type: 'removeSnapshot', op: p.op, baseId, force: p.force });
  if (removed.action === 'claimed' && removed.claim?.claimed) {
    await collectBase(ctx, removed.claim);
  }
  return { baseId, name: p.name, action: removed.action };
}

export async function snapshotCloneJob(ctx: JobContext, p: JobPayload<'snapshot-clone'>) {
  const snap = resolveSnapshot(ctx.reader, p.name, p.boxId);
  await attachChildren(ctx, p.op, snap, [p.target]);
  await requestCompactionIfDeep(ctx, [snap.id]);
  return { baseId: snap.id, target: p.target };
}
