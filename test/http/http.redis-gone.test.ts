/**
 * The HTTP API while its Redis is gone: a request answers at once with 503 E_REDIS_UNAVAILABLE
 * (and a Retry-After) instead of waiting for Redis to come back, and so does a ?wait=1 request
 * already waiting when Redis went. The service's client fails fast (ConnectOptions.failFast);
 * its queues do not hold commands for a reconnection. Once Redis is back, requests work again.
 * This service's HTTP side has a Redis of its own, which the test kills; its workers keep the
 * shared one, so nothing consumes the jobs added here.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opJobId } from '../../src/contract/queues.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/runtime/embedded-redis.js';
import { waitFor } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { call, startTestService, type Reply, type TestService } from './support.js';

const tmp = useTmpDirs('fp-http-redis-gone-');
let redisRun: string;
let redis: EmbeddedRedis;
let s: TestService;
beforeAll(async () => {
  redisRun = join(tmp(), 'redis-run');
  redis = await startEmbeddedRedis(redisRun);
  s = await startTestService({ redisUrl: redis.url });
});
afterAll(async () => {
  await s?.close();
  await redis?.stop().catch(() => undefined);
});

/** `request`, or null if it has not answered within `ms` (the hang this test is about). */
async function answerWithin(ms: number, request: Promise<Reply>): Promise<Reply | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
  try {
    return await Promise.race([request, late]);
  } finally {
    clearTimeout(timer);
  }
}

const createBox = (boxId: string, wait = '') => call(s.url, 'POST', `/api/boxes${wait}`, { body: { boxId, sizeBytes: 1048576, op: `op-${boxId}` } });

/**
 * With Redis away: the ?wait=1 request already `waiting` answers, and so do requests made now (a
 * scrape too: Prometheus records the target down, the scrape does not hang), each 503
 * E_REDIS_UNAVAILABLE with a Retry-After, its message containing `says` if given.
 */
async function expectUnavailable(waiting: Promise<Reply>, tag: string, says?: string): Promise<void> {
  const waited = await answerWithin(20_000, waiting);
  expect(waited, 'the ?wait=1 request never answered').not.toBeNull();
  expect([waited!.status, waited!.body.error?.code]).toEqual([503, 'E_REDIS_UNAVAILABLE']);
  for (const request of [() => createBox(`during${tag}`), () => call(s.url, 'GET', '/api/jobs/ops/nope'), () => call(s.url, 'GET', '/metrics')]) {
    const r = await answerWithin(20_000, request());
    expect(r, 'the request never answered').not.toBeNull();
    expect([r!.status, r!.body.error?.code], JSON.stringify(r!.body)).toEqual([503, 'E_REDIS_UNAVAILABLE']);
    if (says !== undefined) expect(r!.body.error?.message).toContain(says);
    expect(r!.headers['retry-after']).toBe('1');
  }
}

describe('http: its Redis gone', () => {
  it('answers 503 E_REDIS_UNAVAILABLE at once, a waiting ?wait=1 request too, and works again once Redis is back', { timeout: 60_000 }, async () => {
    expect((await createBox('before')).status).toBe(202);
    const waiting = createBox('waiting', '?wait=1'); // queued; no worker reads this Redis, so it waits
    await waitFor('the job to be queued', async () => (await call(s.url, 'GET', `/api/jobs/ops/${opJobId('box-create', 'op-waiting')}`)).status === 200, 10_000, 20);

    process.kill(redis.pid, 'SIGKILL');
    await expectUnavailable(waiting, ''); // requests made while Redis is gone: ioredis between reconnect attempts

    redis = await startEmbeddedRedis(redisRun); // the same socket and data: ioredis reconnects to it
    await waitFor('requests to work again', async () => (await createBox('after')).status === 202, 30_000, 200);
  });

  it('answers 503 E_REDIS_UNAVAILABLE when its Redis stops answering with the connection open (SIGSTOP), and works again once it resumes', { timeout: 60_000 }, async () => {
    await waitFor('requests to work', async () => (await createBox('before-stop')).status === 202, 30_000, 200);
    const waiting = createBox('waiting-stop', '?wait=1');
    await waitFor('the job to be queued', async () => (await call(s.url, 'GET', `/api/jobs/ops/${opJobId('box-create', 'op-waiting-stop')}`)).status === 200, 10_000, 20);
    process.kill(redis.pid, 'SIGSTOP');
    try {
      await expectUnavailable(waiting, '-stop', 'Command timed out');
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
    await waitFor('requests to work again', async () => (await createBox('after-stop')).status === 202, 30_000, 200);
  });
});
