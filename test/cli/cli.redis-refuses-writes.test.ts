/**
 * A Redis that refuses writes because it cannot save its data (MISCONF: a full disk under its AOF,
 * a failed RDB save) moves no job. A command whose own pipeline meets it while waiting ends,
 * saying so in one line (E_REDIS_UNAVAILABLE, or E_NO_SPACE for a full disk), where it waited for
 * ever while its workers failed over and over; a command whose job cannot even be added says the
 * same, not "internal error" and a stack. Once Redis saves again, the same job completes. The
 * refusal is made real: a redis-server of the test's whose data folder is gone, so its RDB save
 * fails and `stop-writes-on-bgsave-error` stops writes.
 */
import { Queue } from 'bullmq';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { opJobId, queueName } from '../../src/contract/queues.js';
import { cliEnv, homeIdOf, readyBoxes, runCli, spawnCli, TEST_PREFIX, useCleanup, waitFor } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-redis-refuses-');
const { defer } = useCleanup();

/** A redis-server of this test's on a socket, saving into `dataDir` when asked (BGSAVE; its save point, needed for stop-writes-on-bgsave-error to act, is an hour away). */
async function redisServer(dir: string, dataDir: string): Promise<{ url: string; client: Redis }> {
  const socket = join(dir, 'redis.sock');
  const child = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--save', '3600 1', '--appendonly', 'no', '--dir', dataDir, '--stop-writes-on-bgsave-error', 'yes', '--enable-protected-configs', 'yes'], { stdio: 'ignore' });
  defer(() => void child.kill('SIGKILL'));
  await waitFor('redis-server to listen', () => existsSync(socket), 10_000, 20);
  const client = new Redis({ path: socket });
  defer(() => void client.disconnect());
  return { url: `unix://${socket}`, client };
}

async function saveStatus(client: Redis): Promise<string> {
  return /rdb_last_bgsave_status:(\w+)/.exec(await client.info('persistence'))?.[1] ?? '?';
}

/** BGSAVE and wait for it to end; true if it saved. */
async function bgsave(client: Redis): Promise<boolean> {
  await client.bgsave();
  await waitFor('the save to end', async () => /rdb_bgsave_in_progress:0/.test(await client.info('persistence')), 10_000, 20);
  return (await saveStatus(client)) === 'ok';
}

describe('cli: a Redis that refuses writes', () => {
  it('ends a waiting command with one typed line, refuses a new one the same way, and the job completes once Redis saves again', { timeout: 120_000 }, async () => {
    const dir = tmp();
    const home = join(dir, 'home');
    const data = join(dir, 'data');
    mkdirSync(data);
    const redis = await redisServer(dir, data);
    const env = cliEnv({ REDIS_URL: redis.url });
    const made = await runCli(['--home', home, 'box', 'create', 'src', '--size', '1M'], { env });
    expect(made.status, made.stderr).toBe(0);

    // A clone queued for later, as another service might: it comes due after the refusal begins.
    const connection = { path: join(dir, 'redis.sock'), maxRetriesPerRequest: null };
    const ops = new Queue(queueName(homeIdOf(home), 'ops'), { connection, prefix: TEST_PREFIX });
    defer(() => void ops.close());
    const jobId = opJobId('clone', 'refuse-1');
    await ops.add('clone', { op: 'refuse-1', source: 'src', targets: ['a1'] }, { jobId, delay: 8_000, attempts: 3 });

    const waiting = spawnCli(['--home', home, 'jobs', 'wait', jobId], env);
    defer(() => void (waiting.child.exitCode === null && waiting.child.kill('SIGKILL')));
    await waitFor("the command's own workers to be up", async () => (await ops.getWorkersCount()) > 0 || waiting.child.exitCode !== null, 20_000, 50);
    expect(waiting.child.exitCode, waiting.stderr()).toBeNull();
    rmdirSync(data); // the next save fails: writes stop
    expect(await bgsave(redis.client)).toBe(false);

    const ended = await Promise.race([waiting.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 60_000))]);
    expect(ended, `the command still waits: ${waiting.stderr()}`).toBe(true);
    expect(waiting.child.exitCode, waiting.stderr()).toBe(3);
    expect(waiting.stderr()).toMatch(/queue worker error: Redis at unix:\S+ refuses writes: it cannot save its data \(MISCONF/);
    expect(waiting.stderr()).toMatch(/refuses writes: it cannot save its data \(MISCONF .*\[E_REDIS_UNAVAILABLE\]/);
    expect(waiting.stderr()).not.toMatch(/internal error|\n\s+at /);

    const refused = await runCli(['--home', home, 'clone', 'src', 'a2'], { env, timeoutMs: 60_000 });
    expect(refused.status, refused.stderr).toBe(3);
    expect(refused.stderr).toMatch(/refuses writes: it cannot save its data \(MISCONF .*\[E_REDIS_UNAVAILABLE\]\n$/);
    expect(refused.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(readyBoxes(home)).toBe(1);

    mkdirSync(data);
    await redis.client.config('SET', 'dir', data); // its working folder again: the old one is gone
    expect(await bgsave(redis.client)).toBe(true); // writes go again
    const done = await runCli(['--home', home, 'jobs', 'wait', jobId], { env, timeoutMs: 60_000 });
    expect(done.status, done.stderr).toBe(0);
    expect(readyBoxes(home)).toBe(2);
    const check = await runCli(['--home', home, 'check'], { env });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });
});
