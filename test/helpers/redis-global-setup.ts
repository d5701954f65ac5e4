/**
 * Starts a private redis-server for the test run, on a unix socket in a temp
 * folder (no port to collide with, nothing anyone else runs is touched), and
 * stops it at the end. Tests read the URL with `inject('redisUrl')` or
 * `process.env.FORKPOINT_TEST_REDIS_URL`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'forkpoint-test-redis-'));
  const socket = join(dir, 'redis.sock');
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no',
      '--maxmemory-policy', 'noeviction', '--dir', dir],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const spawnError = new Promise<never>((_, reject) => child.once('error', (err) =>
    reject(new Error(`cannot start redis-server for the tests (${err.message}); run \`npm run setup\` first`))));
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline) throw new Error('redis-server did not create its socket within 10 s');
    await Promise.race([new Promise((r) => setTimeout(r, 20)), spawnError]);
  }
  const url = `redis+unix://${socket}`;
  process.env.FORKPOINT_TEST_REDIS_URL = url;
  project.provide('redisUrl', url);
  return async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  };
}
