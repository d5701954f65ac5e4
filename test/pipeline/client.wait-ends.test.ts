/**
 * A handle's result() always ends: it listens to the queue's events and also
 * reads the job back from Redis on a timer, so a missed event (a job that ends
 * before QueueEvents' first read), a job that vanished (Redis restarted empty,
 * FLUSHDB, eviction, a removal) and a caller's time limit all end the wait.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Forkpoint } from '../../src/producers/client.js';
import { TEST_PREFIX, useTestPipelines, waitFor } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-waitends-');
const startPipeline = useTestPipelines();
const toClose: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of toClose.splice(0).reverse()) await f();
});

/** A client of our own on the pipeline's queues, reading job state back every `pollMs`. */
async function connect(redisUrl: string, homeId: string, o: { pollMs?: number; waitTimeoutMs?: number } = {}): Promise<Forkpoint> {
  const c = await Forkpoint.connect({ redisUrl, homeId, prefix: TEST_PREFIX, pollMs: o.pollMs ?? 100, ...o });
  toClose.push(() => c.close());
  return c;
}

/** A redis-server of this test alone (FLUSHDB and restarts must never hit the shared one). */
async function privateRedis(dir: string): Promise<{ url: string; socket: string; stop(): Promise<void> }> {
  const socket = join(dir, 'redis.sock');
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    });
    await waitFor('the private redis-server socket', () => existsSync(socket), 10_000, 10);
  };
  await start();
  const stop = async () => {
    const c = child as ChildProcess | null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  toClose.push(stop);
  return {
    url: `redis+unix://${socket}`,
    socket,
    async stop() {
      await stop();
      await start(); // an empty one in its place, as a restart without persistence leaves
    },
  };
}

const eventsOf = (c: Forkpoint) => (c as unknown as { events: Record<'ops' | 'gc', QueueEvents> }).events;

describe('client: a wait that cannot miss the end', () => {
  it('settles a job whose completed and failed events never reach the client', async () => {
    const t = await startPipeline(tmp());
    const c = await connect(t.redisUrl, t.homeId);
    // As when a job ends before QueueEvents has issued its first read: its events are never delivered.
    await eventsOf(c).ops.close();
    const made = await c.createBox('quiet', { sizeBytes: 1 << 20 });
    expect(await made.result()).toMatchObject({ boxId: 'quiet' });
    const again = await c.createBox('quiet', { sizeBytes: 1 << 20 });
    await expect(again.result()).rejects.toMatchObject({ name: 'ForkpointError', code: 'E_ALREADY_EXISTS' });
  });

  it('a job deleted from Redis while waited on is E_JOB_LOST naming the job and its op', async () => {
    const t = await startPipeline(tmp());
    await t.pipeline.close(); // nobody consumes: the job waits until it is deleted
    const c = await connect(t.redisUrl, t.homeId);
    const h = await c.createBox('lost', { sizeBytes: 1 << 20 }, 'op-lost-1');
    expect(h.id).toBe('box-create-op-lost-1');
    await c.queue('ops').remove(h.id);
    const err = await h.result().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_JOB_LOST', details: { id: h.id, op: 'op-lost-1', queue: 'ops' } });
    expect((err as Error).message).toMatch(/job box-create-op-lost-1 vanished from Redis before it finished/);
    expect((err as Error).message).toMatch(/run the same request again under op op-lost-1/);
    expect((err as { exitCode: number }).exitCode).toBe(3);
  });

  it('a gc job that vanished is a completed one with an unknown result (gc jobs are removed when they end)', async () => {
    const t = await startPipeline(tmp());
    await t.pipeline.close();
    const c = await connect(t.redisUrl, t.homeId);
    const h = await c.gc('Abcdefgh');
    await c.queue('gc').remove(h.id);
    await expect(h.result()).resolves.toBeUndefined();
  });

  it('FLUSHDB, and a restart that comes back empty, under a waiting client end the wait with E_JOB_LOST', async () => {
    const dir = tmp();
    const redis = await privateRedis(dir);
    const c = await connect(redis.url, 'tflush');
    const admin = new Redis({ path: redis.socket, maxRetriesPerRequest: null });
    toClose.push(async () => admin.disconnect());
    const flushed = await c.createBox('a', { sizeBytes: 1 << 20 });
    await admin.flushdb();
    await expect(flushed.result()).rejects.toMatchObject({ code: 'E_JOB_LOST', details: { id: flushed.id } });

    const restarted = await c.removeBox('a');
    await redis.stop();
    await expect(restarted.result()).rejects.toMatchObject({ code: 'E_JOB_LOST', details: { id: restarted.id } });
  });

  it('waitTimeoutMs ends the wait with E_TIMEOUT naming the job and where to follow it; the job stays queued', async () => {
    const t = await startPipeline(tmp());
    await t.pipeline.close();
    const c = await connect(t.redisUrl, t.homeId, { waitTimeoutMs: 300 });
    const h = await c.createBox('slow', { sizeBytes: 1 << 20 });
    const started = Date.now();
    const err = await h.result().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err).toMatchObject({ code: 'E_TIMEOUT', details: { id: h.id, queue: 'ops' } });
    expect((err as Error).message).toContain(`GET /api/jobs/ops/${h.id}`);
    expect((err as { exitCode: number }).exitCode).toBe(3);
    expect(await c.getJob('ops', h.id)).toMatchObject({ state: 'waiting' });
  });
});
