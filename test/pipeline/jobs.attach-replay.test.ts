/**
 * Making a box on a base through attachChildren (clone, snapshot-clone,
 * box-create --rootfs) journals the box (beginFork's targets, or a sub-op
 * derived from the whole op). A retry
 * of the same op (BullMQ, after the attempt failed at its last await) whose
 * box was removed since does not make the box again: the journalled createBox
 * replays without a row (or the journal shows the removal), and the job fails
 * with E_CONFLICT before writing any disk. A disk written there would read the snapshot with nothing recording
 * it, so removing the snapshot would delete a file that disk reads.
 * Two different ops never share sub-ops, however long a prefix they share.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boxDiskPath } from '../../src/layout.js';
import { removeBoxJob } from '../../src/workers/flows/box.js';
import { cloneJob } from '../../src/workers/flows/clone.js';
import { forkBox } from '../../src/workers/flows/fork.js';
import { snapshotCloneJob, snapshotRemoveJob } from '../../src/workers/flows/snapshot.js';
import { readySourceBox, useInProcessJobs, type InProcessJobs } from '../helpers/in-process-jobs.js';
import { auditHome, goldenImage } from '../helpers/pipeline.js';

const jobs = useInProcessJobs('fp-jobs-attach-');

/** A home with a ready box `src` (a copy of a golden image) and its snapshot `s`. */
async function homeWithSnapshot(): Promise<{ env: InProcessJobs; golden: string; snapId: string }> {
  const env = jobs();
  const golden = goldenImage(join(env.dir, 'golden.qcow2'), 0x2e);
  readySourceBox(env, 'src', golden);
  const snap = await forkBox(env.ctx, { op: 'snap-1', sourceBox: 'src', kind: 'snapshot', name: 's' });
  return { env, golden, snapId: snap.id };
}

/** A box's record, the refs it holds and whether its disk exists. */
function boxState(env: InProcessJobs, id: string) {
  const row = env.reader.prepare(`SELECT state, base_id AS baseId FROM box WHERE id = ?`).get(id) as { state: string; baseId: string } | undefined;
  const refs = env.reader.prepare(`SELECT base_disk_id FROM base_disk_ref WHERE box_id = ?`).pluck().all(id);
  return { row: row ?? null, refs, disk: existsSync(boxDiskPath(env.layout, id)) };
}

describe('jobs: attachChildren retried for a box that was removed since', () => {
  it.each([
    ['alone', { op: 'rm-t', boxId: 't' }],
    ['in a bulk removal', { op: 'rm-t', boxIds: ['t'] }],
  ])('a retried clone whose target was removed %s fails with E_CONFLICT and does not make it again', async (_how, removal) => {
    const env = jobs();
    readySourceBox(env, 'src', goldenImage(join(env.dir, 'golden.qcow2'), 0x2f));
    const payload = { op: 'cl-1', source: 'src', targets: ['t', 'u'] };
    env.failOnce('progress:final');
    await expect(cloneJob(env.ctx, payload)).rejects.toMatchObject({ code: 'E_REDIS_UNAVAILABLE' });
    await removeBoxJob(env.ctx, removal as Parameters<typeof removeBoxJob>[1]);

    await expect(cloneJob(env.ctx, payload)).rejects.toMatchObject({ code: 'E_CONFLICT', details: { id: 't' } });
    expect(boxState(env, 't')).toEqual({ row: null, refs: [], disk: false });
    expect(boxState(env, 'u').row).toMatchObject({ state: 'ready' }); // the other target is untouched
    expect(await auditHome(env.layout)).toEqual([]);
  });

  it('a retried snapshot-clone fails with E_CONFLICT and writes no disk', async () => {
    const { env, golden, snapId } = await homeWithSnapshot();
    const payload = { op: 'sc-1', name: 's', boxId: 'src', target: 't' };

    // Attempt 1 does all its work, then fails on the final progress update (retryable).
    env.failOnce('progress:final');
    await expect(snapshotCloneJob(env.ctx, payload)).rejects.toMatchObject({ code: 'E_REDIS_UNAVAILABLE' });
    expect(boxState(env, 't')).toEqual({ row: { state: 'ready', baseId: snapId }, refs: [snapId], disk: true });

    // The box is ready, so the user may remove it while the job waits for its retry.
    await removeBoxJob(env.ctx, { op: 'rm-t', boxId: 't' });
    expect(boxState(env, 't')).toEqual({ row: null, refs: [], disk: false });

    // BullMQ's retry of the same job.
    await expect(snapshotCloneJob(env.ctx, payload)).rejects.toMatchObject({ code: 'E_CONFLICT' });
    expect(boxState(env, 't'), 'after the retry').toEqual({ row: null, refs: [], disk: false });

    // With src gone too, nothing reads the snapshot: removing it leaves no disk reading a deleted file.
    await removeBoxJob(env.ctx, { op: 'rm-src', boxId: 'src' });
    await expect(snapshotRemoveJob(env.ctx, { op: 'rm-s', name: 's', boxId: 'src', force: false })).resolves.toMatchObject({ action: 'claimed' });
    expect(await auditHome(env.layout, { goldenOf: new Map([['t', golden]]) })).toEqual([]);
  });

  it('two different snapshot-clone ops sharing a 40-character prefix are not mistaken for one', async () => {
    const { env, snapId } = await homeWithSnapshot();
    const prefix = 'tenant-acme-production-eu-west-1-request'; // 40 characters, then a request number
    expect(prefix.length).toBe(40);
    await snapshotCloneJob(env.ctx, { op: `${prefix}-000001`, name: 's', boxId: 'src', target: 'web' });
    await removeBoxJob(env.ctx, { op: 'rm-web', boxId: 'web' });

    // A new request (a different op) to clone the same snapshot into the same, now free, name.
    await snapshotCloneJob(env.ctx, { op: `${prefix}-000002`, name: 's', boxId: 'src', target: 'web' });
    expect(boxState(env, 'web')).toEqual({ row: { state: 'ready', baseId: snapId }, refs: [snapId], disk: true });
    expect(await auditHome(env.layout)).toEqual([]);
  });
});
