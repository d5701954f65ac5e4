/**
 * A CLI command waiting on a job always returns: `--timeout <seconds>` bounds
 * the wait (exit 3, naming the job and how to follow it), and a job that
 * vanishes from Redis under it (FLUSHDB, a restart that comes back empty) is
 * reported as such (exit 3, naming the job) instead of waited on for ever.
 *
 * "forkpoint serve" is stood in for by this test holding the home's lock as a
 * serve owner: its jobs are queued and nobody takes them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { Forkpoint } from '../../src/producers/client.js';
import { readOrMintHomeId } from '../../src/runtime/home-id.js';
import { tryLockHome, type HomeLock } from '../../src/runtime/home-lock.js';
import { TEST_PREFIX, runCli, waitFor } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-cli-waitends-');
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** A home "served" by this test process on `redisUrl`: the CLI enqueues there and waits. */
function fakeServe(home: string, redisUrl: string, kind: 'serve' | 'cli' = 'serve'): { homeId: string; lock: HomeLock } {
  mkdirSync(home, { recursive: true });
  const homeId = readOrMintHomeId(home);
  const lock = tryLockHome(homeLayout(home).runDir, { pid: process.pid, kind, redisUrl, prefix: TEST_PREFIX, homeId, startedAt: new Date().toISOString() })!;
  cleanups.push(() => lock.release());
  return { homeId, lock };
}

async function clientOn(redisUrl: string, homeId: string): Promise<Forkpoint> {
  const c = await Forkpoint.connect({ redisUrl, homeId, prefix: TEST_PREFIX });
  cleanups.push(() => c.close());
  return c;
}

describe('cli: --timeout', () => {
  it('a job nobody takes: exit 3 after the timeout, one line naming the job and how to follow it; the job stays queued', async () => {
    const home = join(tmp(), 'home');
    const redisUrl = inject('redisUrl');
    const { homeId } = fakeServe(home, redisUrl);
    const c = await clientOn(redisUrl, homeId);
    cleanups.push(() => c.queue('ops').obliterate({ force: true }));
    const started = Date.now();
    const r = await runCli(['--home', home, '--timeout', '1.5', 'box', 'create', 'x', '--size', '1M'], { timeoutMs: 30_000 });
    expect(r.signal).toBeNull();
    expect(r.status, r.stderr).toBe(3);
    expect(Date.now() - started).toBeLessThan(20_000);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^forkpoint: job box-create-[\w-]+ did not finish within 1\.5 s; it was not cancelled: follow it with `forkpoint jobs wait box-create-[\w-]+` \(or GET \/api\/jobs\/ops\/box-create-[\w-]+ .*\), cancel it with `forkpoint jobs cancel box-create-[\w-]+`.*\[E_TIMEOUT\]$/);
    const jobId = /job (box-create-[\w-]+)/.exec(lines[0]!)![1]!;
    expect(await c.getJob('ops', jobId)).toMatchObject({ state: 'waiting', data: { boxId: 'x' } });
  });

  it('--json: the error as JSON on stdout, with the job id', async () => {
    const home = join(tmp(), 'home');
    const redisUrl = inject('redisUrl');
    const { homeId } = fakeServe(home, redisUrl);
    const c = await clientOn(redisUrl, homeId);
    cleanups.push(() => c.queue('ops').obliterate({ force: true }));
    const r = await runCli(['--home', home, '--json', '--timeout', '1', 'snapshot', 'create', 'x', 'pin'], { timeoutMs: 30_000 });
    expect(r.status, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'E_TIMEOUT', details: { id: expect.stringMatching(/^snapshot-create-/), queue: 'ops' } } });
  });

  it('bounds the wait for a home another command holds (exit 3, E_HOME_LOCKED)', async () => {
    const home = join(tmp(), 'home');
    fakeServe(home, '', 'cli');
    const started = Date.now();
    const r = await runCli(['--home', home, '--timeout', '1', 'box', 'rm', 'x'], { timeoutMs: 30_000 });
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/is busy \(its owner file names a forkpoint command, pid \d+\); waiting up to 1 s for it\n/); // said, not a silent wait
    expect(r.stderr).toMatch(/is busy with another forkpoint command \(pid \d+\).*\[E_HOME_LOCKED\]/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('refuses a timeout that is not a positive number of seconds (exit 2)', async () => {
    for (const v of ['0', '-1', 'soon', '']) {
      const r = await runCli(['--timeout', v, 'box', 'ls']);
      expect(r.status, `--timeout ${v}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/--timeout/);
    }
  });
});

describe('cli: the job vanishes from Redis under a waiting command', () => {
  it('FLUSHDB on the service’s Redis: exit 3, E_JOB_LOST naming the job, instead of waiting for ever', async () => {
    const dir = tmp();
    const socket = join(dir, 'redis.sock');
    // A redis-server of this test alone: FLUSHDB must never hit the shared one.
    const redis: ChildProcess = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    });
    // Stopped last (cleanups run in reverse): the client below closes while it still answers.
    cleanups.push(async () => {
      if (redis.exitCode !== null || redis.signalCode !== null) return;
      const exited = new Promise((r) => redis.once('exit', r));
      redis.kill('SIGKILL');
      await exited;
    });
    await waitFor('the private redis-server', () => existsSync(socket), 10_000, 10);
    const redisUrl = `redis+unix://${socket}`;
    const home = join(dir, 'home');
    const { homeId } = fakeServe(home, redisUrl);
    const c = await clientOn(redisUrl, homeId);
    const cli = runCli(['--home', home, 'box', 'create', 'x', '--size', '1M'], { timeoutMs: 30_000 });
    await waitFor('the job to be queued', async () => (await c.queue('ops').getJobs(['waiting'])).length === 1, 20_000, 20);
    const [job] = await c.queue('ops').getJobs(['waiting']);
    const admin = new Redis({ path: socket });
    try {
      await admin.flushdb();
    } finally {
      admin.disconnect();
    }
    const r = await cli;
    expect(r.signal, `still waiting after 30 s: ${r.stderr}`).toBeNull();
    expect(r.status, r.stderr).toBe(3);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toContain(`job ${job!.id} vanished from Redis before it finished`);
    expect(lines[0]).toMatch(/\[E_JOB_LOST\]$/);
  });
});
