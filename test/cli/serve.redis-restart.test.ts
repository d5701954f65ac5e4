/**
 * `serve`'s private redis-server dies while serve runs: serve says so at error level and starts
 * it again on the same data (AOF) and socket, so what was queued is still there and work through
 * serve goes on; a server that keeps dying (more than 3 restarts within a minute) makes serve
 * stop with exit 3 instead of looping (runtime/embedded-redis-keeper.ts, docs/service.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { auditHome, cliEnv, goldenImage, readyBoxes, redisServersOn, runCli, startServe, useCleanup, useRedisServerCleanup, waitFor } from '../helpers/pipeline.js';
import { errorLines, onSocket } from '../helpers/serve-log.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-redis-restart-');
const { killAtEnd } = useCleanup();
const killRedisOn = useRedisServerCleanup();
const env = cliEnv({ REDIS_URL: undefined });

/** Whether an AOF file under `dir` (the private server's data folder) holds `text`. */
function aofHolds(dir: string, text: string): boolean {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).some((f) => f.endsWith('.aof') && readFileSync(join(dir, f), 'latin1').includes(text));
}



/** Kill the one redis-server on `socket` and wait for serve to have started another; returns the new pid. */
async function killAndAwaitRestart(socket: string, serve: { stderr(): string }, restartsBefore: number): Promise<number> {
  const [pid] = redisServersOn(socket);
  expect(pid).toBeDefined();
  process.kill(pid!, 'SIGKILL');
  const restarted = () => (serve.stderr().match(/restarted the private redis-server \(pid \d+\)/g) ?? []).length;
  await waitFor(`serve to restart redis-server ${pid}`, () => restarted() > restartsBefore || /not again|cannot restart/.test(serve.stderr()), 20_000, 20);
  const now = redisServersOn(socket);
  return now.length === 1 && now[0] !== pid ? now[0]! : -1;
}

describe('serve: its private redis-server dies', () => {
  it('is restarted on the same data and socket; a clone through serve then completes; SIGTERM exits 0', { timeout: 90_000 }, async () => {
    const dir = tmp();
    const home = join(dir, 'home');
    const golden = goldenImage(join(dir, 'golden.qcow2'), 0x5a);
    const made = await runCli(['--home', home, 'box', 'create', 'src', '--from', golden], { env });
    expect(made.status, made.stderr).toBe(0);
    const socket = join(home, 'run', 'redis.sock');
    killRedisOn(socket);
    const serve = killAtEnd(await startServe(home, null, ['--grace', '1']));
    await serve.waitForStderr(/listening on/);
    const [before] = redisServersOn(socket);
    await onSocket(socket, (c) => c.set('fp-test-marker', 'kept'));
    // appendfsync everysec may hold a write back while a flush runs (up to 2 s): the kill comes once it is in the AOF.
    await waitFor('the marker in the AOF', () => aofHolds(join(home, 'run', 'redis'), 'fp-test-marker'), 10_000, 50);

    const after = await killAndAwaitRestart(socket, serve, 0);
    expect(after, serve.stderr()).toBeGreaterThan(0);
    expect(errorLines(serve.stderr()).some((m) => m.includes(`redis-server (pid ${before}) exited (SIGKILL); restarting it on the same data`)), serve.stderr()).toBe(true);
    expect(await onSocket(socket, (c) => c.get('fp-test-marker')), 'the new server read the AOF of the old one').toBe('kept');

    const clone = await runCli(['--home', home, 'clone', 'src', '--count', '3', '--prefix', 'r-'], { env, timeoutMs: 60_000 });
    expect(clone.status, clone.stderr).toBe(0);
    expect(clone.stdout).toMatch(/cloned src into 3 boxes/);
    expect(readyBoxes(home)).toBe(4);
    const goldenOf = new Map(['src', 'r-1', 'r-2', 'r-3'].map((id) => [id, golden]));
    expect(await auditHome(homeLayout(home), { goldenOf })).toEqual([]);

    serve.child.kill('SIGTERM');
    expect(await serve.exited, serve.stderr()).toEqual({ code: 0, signal: null });
    expect(redisServersOn(socket)).toEqual([]);
  });

  it('a server that keeps dying: 3 restarts within a minute, then serve stops by itself with exit 3 (no loop)', { timeout: 90_000 }, async () => {
    const home = join(tmp(), 'home');
    const socket = join(home, 'run', 'redis.sock');
    killRedisOn(socket);
    const serve = killAtEnd(await startServe(home, null, ['--grace', '1']));
    await serve.waitForStderr(/listening on/);
    for (let i = 0; i < 3; i++) expect(await killAndAwaitRestart(socket, serve, i), serve.stderr()).toBeGreaterThan(0);
    const [last] = redisServersOn(socket);
    process.kill(last!, 'SIGKILL'); // the fourth death within the minute
    expect(await serve.exited, serve.stderr()).toEqual({ code: 3, signal: null });
    expect(errorLines(serve.stderr()).some((m) => m.includes(`redis-server (pid ${last}) exited (SIGKILL); restarted 3 times within 60 s already: not again`)), serve.stderr()).toBe(true);
    expect(serve.stderr()).toMatch(/not again.*\[E_REDIS_UNAVAILABLE\]/);
    expect(redisServersOn(socket)).toEqual([]);
  });
});
