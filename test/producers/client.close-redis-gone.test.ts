/**
 * Forkpoint.close() returns when its Redis is gone. BullMQ's QueueEvents.close() waits for an
 * 'end' event that ioredis never emits while it is between reconnect attempts
 * (taskforcesh/bullmq#4656), and the queues' QUIT waits in the offline queue: a CLI command, the
 * HTTP side of serve or a library user closing its client would hang for ever. Now the close is
 * bounded (CLIENT_CLOSE_BOUND_MS): the connections are dropped and lastError says why.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { mintBaseId } from '../../src/ids.js';
import { Forkpoint } from '../../src/producers/client.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/runtime/embedded-redis.js';
import { TEST_PREFIX, useCleanup, waitFor } from '../helpers/pipeline.js';
import { startTestCluster } from '../helpers/redis-cluster.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-client-close-');
const { defer } = useCleanup();

/** A redis-server of this test's own (the shared one must stay up for the other tests), killed after it. */
async function ownRedis(): Promise<EmbeddedRedis> {
  const redis = await startEmbeddedRedis(join(tmp(), 'redis-run'));
  defer(() => redis.stop().catch(() => undefined));
  return redis;
}

describe('client: close() with Redis gone', () => {
  it('a job added, Redis killed -9: close() resolves, and lastError says the connections were dropped', { timeout: 30_000 }, async () => {
    const redis = await ownRedis();
    const client = await Forkpoint.connect({ redisUrl: redis.url, homeId: `t${mintBaseId()}`, prefix: TEST_PREFIX });
    const handle = await client.clone('src', ['a', 'b']); // nobody consumes it: it stays waiting in Redis
    expect(await client.getJob('ops', handle.id)).toMatchObject({ state: 'waiting' });
    process.kill(redis.pid, 'SIGKILL');
    // The hang needs ioredis to be between reconnect attempts, which it is once it reported a failed one.
    await waitFor('the client to see Redis gone', () => client.lastError !== null, 20_000);
    await client.close();
    expect(client.lastError).toMatchObject({ code: ErrorCodes.REDIS_UNAVAILABLE });
    expect(client.lastError!.message).toMatch(/Redis did not answer within \d+ ms, so they were dropped/);
  });

  it('with Redis up, close() is the ordinary one (nothing dropped)', { timeout: 30_000 }, async () => {
    const redis = await ownRedis();
    const client = await Forkpoint.connect({ redisUrl: redis.url, homeId: `t${mintBaseId()}`, prefix: TEST_PREFIX });
    await client.clone('src', ['a']);
    await client.close();
    expect(client.lastError).toBeNull();
  });

  it('on a Redis Cluster, all nodes gone: close() resolves (the QUIT of the shared Cluster client is bounded too)', { timeout: 60_000 }, async () => {
    const cluster = await startTestCluster();
    defer(() => cluster.stop());
    const client = await Forkpoint.connect({ redisUrl: cluster.url, homeId: `t${mintBaseId()}`, prefix: TEST_PREFIX });
    await client.clone('src', ['a']);
    await cluster.stop();
    await waitFor('the client to see the cluster gone', () => client.lastError !== null, 20_000);
    await client.close();
    expect(client.lastError).toMatchObject({ code: ErrorCodes.REDIS_UNAVAILABLE });
  });
});
