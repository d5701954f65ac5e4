/**
 * A job that fails part-way through its parallel file work reports the
 * failure only once it has stopped working: after the first failed chunk no
 * new chunk starts, and the job rejects only after the chunks already in
 * flight have settled. Otherwise BullMQ's retry (same op) would run beside
 * the failed attempt, both planning and writing the same boxes, and the old
 * attempt's clean-up could delete children the retry has just kept.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHILDREN_PER_TASK } from '../../src/workers/flows/attach-children.js';
import { cloneJob } from '../../src/workers/flows/clone.js';
import { readySourceBox, useInProcessJobs } from '../helpers/in-process-jobs.js';
import { auditHome, goldenImage } from '../helpers/pipeline.js';

const jobs = useInProcessJobs('fp-jobs-lanes-');

describe('jobs: a clone whose children are written on two lanes, one of which fails', () => {
  it('starts no new chunk after the failure, and does nothing more once the job has failed', async () => {
    let heldOne = false;
    const env = jobs({
      // The other lane's chunk is still in flight when the first one fails: it finishes one event-loop turn later.
      beforeFileTask: async (task) => {
        if (task === 'writeChildren' && !heldOne) {
          heldOne = true;
          await new Promise((r) => setImmediate(r));
        }
      },
    });
    const golden = goldenImage(join(env.dir, 'golden.qcow2'), 0x61);
    readySourceBox(env, 'src', golden);
    // Three chunks on two lanes; the first chunk's file task fails with a transient (retryable) I/O error.
    const targets = Array.from({ length: 2 * CHILDREN_PER_TASK + 1 }, (_, i) => `c${i}`);
    const payload = { op: 'clone-lanes', source: 'src', targets };
    env.failOnce('file:writeChildren');

    await expect(cloneJob(env.ctx, payload)).rejects.toMatchObject({ code: 'E_IO' });
    const callsWhenFailed = env.calls.length; // from here BullMQ would run the retry (same op) after its backoff
    expect(env.calls.filter((c) => c === 'file writeChildren'), 'chunks started (the third must not be)').toHaveLength(2);

    // Let whatever the failed attempt might still have in flight drain (no clock involved: the inline runner is synchronous).
    for (let i = 0; i < 100; i++) await new Promise((r) => setImmediate(r));
    expect(env.calls.slice(callsWhenFailed), 'the failed attempt kept working after it reported failure').toEqual([]);

    // The retry finishes what is left.
    await cloneJob(env.ctx, payload);
    const goldenOf = new Map(['src', ...targets].map((id) => [id, golden]));
    expect(await auditHome(env.layout, { goldenOf })).toEqual([]);
  });
});
