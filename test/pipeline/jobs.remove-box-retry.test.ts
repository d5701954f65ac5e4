/**
 * A remove-box job deletes a box's folder only while that box's record is
 * `removing`: the record keeps the id reserved until the folder is gone, and
 * a retry under the same op (BullMQ, after a later step failed) that finds no
 * `removing` record leaves the folder alone. So a box made again under the
 * same id between the attempts keeps its disk: no record ever points at a
 * disk that a finished job deleted.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boxDiskPath } from '../../src/layout.js';
import { removeBoxJob } from '../../src/workers/flows/box.js';
import { cloneJob } from '../../src/workers/flows/clone.js';
import { readySourceBox, useInProcessJobs } from '../helpers/in-process-jobs.js';
import { auditHome, goldenImage } from '../helpers/pipeline.js';

const jobs = useInProcessJobs('fp-jobs-rm-');

describe('jobs: remove-box retried after its folder was removed', () => {
  it('leaves alone a box made again under the same id in between, and succeeds', async () => {
    const env = jobs();
    const golden = goldenImage(join(env.dir, 'golden.qcow2'), 0x5a);
    readySourceBox(env, 'src', golden);
    await cloneJob(env.ctx, { op: 'clone-1', source: 'src', targets: ['x'] });

    // Attempt 1 of remove-box x: records and folder gone, then the GC request fails (the job fails, retryable).
    env.failOnce('requestGc');
    const removal = { op: 'rm-x', boxId: 'x' };
    await expect(removeBoxJob(env.ctx, removal)).rejects.toMatchObject({ code: 'E_REDIS_UNAVAILABLE' });
    expect(env.reader.prepare(`SELECT count(*) FROM box WHERE id = 'x'`).pluck().get(), 'the removal finished before the GC request').toBe(0);

    // During the retry's backoff the id is free: someone clones src into x again.
    await cloneJob(env.ctx, { op: 'clone-2', source: 'src', targets: ['x'] });
    const xDisk = boxDiskPath(env.layout, 'x');
    expect(existsSync(xDisk)).toBe(true);

    // BullMQ's retry of the same remove-box job: it only re-sends the GC request.
    const callsBeforeRetry = env.calls.length;
    await expect(removeBoxJob(env.ctx, removal)).resolves.toMatchObject({ boxId: 'x' });
    expect(env.calls.slice(callsBeforeRetry)).not.toContain('file removeBoxDir');

    // The new x is still a ready box with its disk.
    const row = env.reader.prepare(`SELECT state FROM box WHERE id = 'x'`).pluck().get();
    expect(row).toBe('ready');
    expect(existsSync(xDisk), `box x is ${String(row)} but its disk ${xDisk} was deleted`).toBe(true);
    const goldenOf = new Map(['src', 'x'].map((id) => [id, golden]));
    expect(await auditHome(env.layout, { goldenOf })).toEqual([]);
  });
});
