/**
 * requeueOrphans on a real Redis: a job left active under a dead owner's lock goes back to its
 * queue whole; one that has been cut off too often (a crash loop) is left to BullMQ's stalled
 * check, which fails it in the end; a waiting job is not touched.
 */
import { Queue, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { parseRedisUrl } from '../../src/runtime/redis-url.js';
import { MAX_FAST_REQUEUES, requeueOrphans } from '../../src/workers/requeue-orphans.js';
import { TEST_PREFIX } from '../helpers/pipeline.js';

const connection = () => ({ ...parseRedisUrl(inject('redisUrl')).options, maxRetriesPerRequest: null });
const closing: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const c of closing.splice(0).reverse()) await c.close();
});

/** A queue with `n` jobs taken by a worker that then dies without finishing them (their locks left to expire). */
async function queueWithOrphans(n: number): Promise<{ queue: Queue; ids: string[] }> {
  const name = `requeue-${randomUUID()}`;
  const queue = new Queue(name, { connection: connection(), prefix: TEST_PREFIX });
  closing.push(queue);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await queue.add('clone', { i }, { jobId: `job-${i}` })).id!);
  const owner = new Worker(name, null, { connection: connection(), prefix: TEST_PREFIX, autorun: false, lockDuration: 60_000 });
  for (let i = 0; i < n; i++) expect(await owner.getNextJob(`dead-owner-${i}`)).toBeDefined();
  await owner.close(true); // gone without a word, as after kill -9: the jobs stay active, their locks held
  return { queue, ids };
}

describe('requeueOrphans', () => {
  it('moves every active job back to wait, under its own id and data, and says which', async () => {
    const { queue, ids } = await queueWithOrphans(2);
    await queue.add('clone', { waiting: true }, { jobId: 'still-waiting' });
    expect((await queue.getActive()).map((j) => j.id).sort()).toEqual(ids);

    const moved = await requeueOrphans([queue]);
    expect(moved.map((j) => j.id).sort()).toEqual(ids);
    expect(moved.every((j) => j.queue === queue.name && j.name === 'clone')).toBe(true);
    expect(await queue.getActiveCount()).toBe(0);
    expect((await queue.getWaiting()).map((j) => j.id).sort()).toEqual([...ids, 'still-waiting'].sort());
    expect((await queue.getJob('job-1'))?.data).toEqual({ i: 1 });
    expect(await requeueOrphans([queue])).toEqual([]); // nothing active now
  });

  it(`leaves a job cut off more than ${MAX_FAST_REQUEUES} times to the stalled check`, async () => {
    const { queue } = await queueWithOrphans(1);
    const client = await queue.getBackend().client;
    // As if it had been started MAX_FAST_REQUEUES + 1 times and never finished: BullMQ's attemptsStarted field.
    await client.hset(`${TEST_PREFIX}:${queue.name}:job-0`, { ats: String(MAX_FAST_REQUEUES + 1) });
    expect(await requeueOrphans([queue])).toEqual([]);
    expect((await queue.getActive()).map((j) => j.id)).toEqual(['job-0']);
  });
});
