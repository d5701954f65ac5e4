/**
 * A job added to the wrong queue (another service's mistake) fails at once,
 * naming the queue it belongs on, and touches no GC bookkeeping: a gc job run
 * from the ops queue used to mark its base's GC as started forever, so every
 * later request for that base, sweeps included, was held and the base stayed.
 */
import { Queue, QueueEvents } from 'bullmq';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queueName } from '../../src/contract/queues.js';
import { parseRedisUrl } from '../../src/runtime/redis-url.js';
import { gcSettled, goldenImage, TEST_PREFIX, useTestPipelines, waitFor } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-wrongq-');
const startPipeline = useTestPipelines();

describe('pipeline: a job on the wrong queue', () => {
  it('a gc job on the ops queue fails at once (E_BAD_PAYLOAD naming the gc queue), and the base is still collected later', async () => {
    const dir = tmp();
    const t = await startPipeline(dir);
    await (await t.client.createBox('src', { fromImage: goldenImage(join(dir, 'golden.qcow2'), 0x11) })).result();
    const { baseId } = await (await t.client.clone('src', ['c1'])).result();

    const connection = { ...parseRedisUrl(t.redisUrl).options, maxRetriesPerRequest: null };
    const ops = queueName(t.homeId, 'ops');
    const queue = new Queue(ops, { connection, prefix: TEST_PREFIX });
    const events = new QueueEvents(ops, { connection, prefix: TEST_PREFIX });
    try {
      await events.waitUntilReady();
      const job = await queue.add('gc', { baseId }, { attempts: 3 });
      await expect(job.waitUntilFinished(events, 30_000)).rejects.toThrow(/E_BAD_PAYLOAD/);
      const failed = (await queue.getJob(job.id!))!;
      expect(failed.failedReason).toBe(`E_BAD_PAYLOAD: a gc job belongs on queue ${queueName(t.homeId, 'gc')}, not ${ops}`);
      expect(failed.attemptsMade).toBe(1);
    } finally {
      await events.close();
      await queue.close();
    }

    const basePath = join(t.layout.basesDir, `${baseId}.qcow2`);
    expect(existsSync(basePath)).toBe(true); // nothing was collected by the stray job
    for (const box of ['c1', 'src']) await (await t.client.removeBox(box)).result();
    await gcSettled(t.client);
    await waitFor(`base ${baseId} collected`, () => !existsSync(basePath));
  });
});
