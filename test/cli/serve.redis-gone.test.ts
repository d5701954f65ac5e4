/**
 * `serve` stops on SIGTERM even when its Redis is gone. BullMQ's Worker.close() (and the HTTP
 * side's QueueEvents) wait for Redis for ever once it stops answering; serve used to loop on
 * ECONNREFUSED until kill -9. Now the Redis side of the close is bounded (docs/service.md):
 * - its private redis-server killed -9 just before the signal: the server is restarted on its
 *   data, the close goes on, exit 0, no redis-server left;
 * - its private redis-server alive but not answering (stopped): exit 3, E_REDIS_UNAVAILABLE,
 *   an error-level line says Redis did not answer and what stays queued, the server is stopped;
 * - an external Redis that was shut down: exit 3 the same way.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redisServersOn, startServe, useCleanup, useRedisServerCleanup, waitFor } from '../helpers/pipeline.js';
import { errorLines } from '../helpers/serve-log.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-redis-gone-');
const { defer, killAtEnd } = useCleanup();
const killRedisOn = useRedisServerCleanup();


async function serveOnPrivateRedis() {
  const home = join(tmp(), 'home');
  const socket = join(home, 'run', 'redis.sock');
  killRedisOn(socket);
  const serve = killAtEnd(await startServe(home, null, ['--grace', '1']));
  await serve.waitForStderr(/listening on/);
  const [pid] = redisServersOn(socket);
  expect(pid, serve.stderr()).toBeDefined();
  return { home, socket, serve, redisPid: pid! };
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe('serve: SIGTERM with its Redis gone', () => {
  it('private redis-server killed -9, then SIGTERM: the server comes back for the close, exit 0, no redis-server left', { timeout: 60_000 }, async () => {
    const { home, socket, serve, redisPid } = await serveOnPrivateRedis();
    process.kill(redisPid, 'SIGKILL');
    serve.child.kill('SIGTERM');
    expect(await serve.exited, serve.stderr()).toEqual({ code: 0, signal: null });
    expect(errorLines(serve.stderr()).some((m) => m.includes(`redis-server (pid ${redisPid}) exited (SIGKILL)`)), serve.stderr()).toBe(true);
    expect(redisServersOn(socket)).toEqual([]);
    expect(existsSync(join(home, 'run', 'owner.json'))).toBe(false);
  });

  it('private redis-server alive but not answering (SIGSTOP), then SIGTERM: exit 3 naming the Redis, the server stopped', { timeout: 60_000 }, async () => {
    const { home, socket, serve, redisPid } = await serveOnPrivateRedis();
    process.kill(redisPid, 'SIGSTOP');
    defer(() => void (existsSync(`/proc/${redisPid}`) && process.kill(redisPid, 'SIGKILL')));
    serve.child.kill('SIGTERM');
    expect(await serve.exited, serve.stderr()).toEqual({ code: 3, signal: null });
    expect(serve.stderr()).toMatch(/stopped without a clean close: Redis at unix:\/\/.*redis\.sock did not answer.*\[E_REDIS_UNAVAILABLE\]/);
    expect(errorLines(serve.stderr()).some((m) => /closing without Redis \(unix:.*does not answer\): no job was running; queued jobs stay in Redis/.test(m)), serve.stderr()).toBe(true);
    await waitFor('the stopped redis-server to be gone', () => redisServersOn(socket).length === 0, 10_000);
    expect(existsSync(join(home, 'run', 'owner.json'))).toBe(false);
  });

  it('an external Redis that was shut down, then SIGTERM: exit 3, not a loop on ECONNREFUSED', { timeout: 60_000 }, async () => {
    const dir = tmp();
    const port = await freePort();
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    const redisExited = new Promise((r) => redis.once('exit', r));
    defer(() => void (redis.exitCode === null && redis.signalCode === null && redis.kill('SIGKILL')));
    const url = `redis://127.0.0.1:${port}`;
    const home = join(dir, 'home');
    let serve: Awaited<ReturnType<typeof startServe>> | null = null;
    await waitFor('the external redis-server to take a serve', async () => {
      try {
        serve = killAtEnd(await startServe(home, url, ['--grace', '1']));
        return true;
      } catch {
        return false; // not listening yet: serve refused an explicit URL that does not answer
      }
    }, 20_000, 100);
    const s = serve!;
    await s.waitForStderr(/listening on/);
    redis.kill('SIGTERM');
    await redisExited;
    await s.waitForStderr(/ECONNREFUSED/); // serve has noticed
    s.child.kill('SIGTERM');
    expect(await s.exited, s.stderr()).toEqual({ code: 3, signal: null });
    expect(s.stderr()).toMatch(new RegExp(`Redis at redis://127\\.0\\.0\\.1:${port} did not answer.*\\[E_REDIS_UNAVAILABLE\\]`));
    expect(errorLines(s.stderr()).some((m) => m.startsWith(`closing without Redis (redis://127.0.0.1:${port} does not answer)`)), s.stderr()).toBe(true);
    expect(existsSync(join(home, 'run', 'owner.json'))).toBe(false);
  });
});
