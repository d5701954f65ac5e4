/**
 * No Redis named (no --redis, no REDIS_URL) means the home's private redis-server, even with a
 * Redis answering on 127.0.0.1:6379: one that answers without a password (a packaged
 * redis-server) takes commands from every local user, who could then read the home's job
 * payloads and queue jobs its pipeline runs with its owner's rights (serve often runs as root).
 * The test runs its own redis-server on 6379 when the port is free (a fresh machine), so the
 * default would have found one there; a Redis someone else runs there is never touched.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { pingRedis } from '../../src/runtime/connect-redis.js';
import { parseRedisUrl } from '../../src/runtime/redis-url.js';
import { cliEnv, runCli, useCleanup, waitFor } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-redis-default-');
const { defer } = useCleanup();

const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer().once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

/** A redis-server of this test's on 127.0.0.1:6379 (no files, no password), or null when the port is someone else's. */
async function ownRedisOn6379(): Promise<Redis | null> {
  if (!(await portIsFree(6379))) return null;
  const child = spawn('redis-server', ['--port', '6379', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore', cwd: '/' });
  defer(() => void child.kill('SIGKILL'));
  await waitFor('redis-server on 6379', async () => (await pingRedis(parseRedisUrl('redis://127.0.0.1:6379'), 500)) === null, 10_000, 50);
  const client = new Redis({ host: '127.0.0.1', port: 6379 });
  defer(() => client.disconnect());
  return client;
}

describe('cli: the Redis when none is named', () => {
  it('is the home\'s private redis-server, never the one answering on 127.0.0.1:6379', { timeout: 60_000 }, async () => {
    const local = await ownRedisOn6379();
    const home = join(tmp(), 'home');
    const r = await runCli(['--home', home, 'box', 'create', 'b', '--size', '1M'], { env: cliEnv() });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`started a private redis-server for this home at unix:${join(home, 'run', 'redis.sock')}`);
    if (local !== null) expect(await local.keys('*')).toEqual([]); // nothing of the home's went there
  });

  it('is the one named, when one is', { timeout: 60_000 }, async () => {
    const home = join(tmp(), 'home');
    const r = await runCli(['--home', home, '--redis', inject('redisUrl'), 'box', 'create', 'b', '--size', '1M'], { env: cliEnv() });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('private redis-server');
  });
});
