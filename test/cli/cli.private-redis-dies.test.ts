/**
 * A CLI command with no serve runs its own pipeline on the home's private redis-server; when that
 * server dies mid-batch (killed, crashed), the command starts it again on its data and socket, as
 * serve does, and the batch completes: the command ends by itself, exit 0, the home consistent.
 * It used to wait for ever on a Redis nobody would bring back, holding the home.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { auditHome, cliEnv, goldenImage, readyBoxes, redisServersOn, runCli, spawnCli, useCleanup, useRedisServerCleanup, waitFor } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-cli-redis-dies-');
const { defer } = useCleanup();
const killRedisOn = useRedisServerCleanup();
const COUNT = 1500;
// One file thread: the batch takes long enough to be cut into.
const env = cliEnv({ REDIS_URL: undefined, FORKPOINT_POOL_SIZE: '1' });

/** A home with box `src` and `clone src --count COUNT --prefix P` under way in a CLI of its own, on the home's private redis-server. */
async function batchUnderWay(prefix: string) {
  const dir = tmp();
  const home = join(dir, 'home');
  const golden = goldenImage(join(dir, 'golden.qcow2'), 0x6b);
  const made = await runCli(['--home', home, 'box', 'create', 'src', '--from', golden], { env });
  expect(made.status, made.stderr).toBe(0);
  const socket = join(home, 'run', 'redis.sock');
  killRedisOn(socket);
  const cli = spawnCli(['--home', home, '--progress', 'json', 'clone', 'src', '--count', String(COUNT), '--prefix', prefix], env);
  defer(() => void (cli.child.exitCode === null && cli.child.kill('SIGKILL')));
  await waitFor('the batch to be under way', () => cli.progress().some((p) => p.done >= 32) || cli.child.exitCode !== null, 60_000, 5);
  return { home, golden, socket, cli };
}

describe('cli: its private redis-server dies under a command', () => {
  it('is started again on the same data; the batch completes and the command exits 0', { timeout: 120_000 }, async () => {
    const { home, golden, socket, cli } = await batchUnderWay('d-');
    const [pid] = redisServersOn(socket);
    expect(pid, cli.stderr()).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    expect(readyBoxes(home) - 1, 'the batch finished before its Redis was killed').toBeLessThan(COUNT);

    const ended = await Promise.race([cli.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 90_000))]);
    expect(ended, `the command still waits: ${cli.stderr()}`).toBe(true);
    expect(cli.child.exitCode, cli.stderr()).toBe(0);
    expect(cli.stderr()).toMatch(new RegExp(`redis-server \\(pid ${pid}\\) exited \\(SIGKILL\\); restarting it on the same data`));
    expect(cli.stderr()).toMatch(/restarted the private redis-server \(pid \d+\)/);
    expect(readyBoxes(home)).toBe(COUNT + 1);
    const targets = Array.from({ length: COUNT }, (_, i) => `d-${i + 1}`);
    expect(await auditHome(homeLayout(home), { goldenOf: new Map(['src', ...targets].map((id) => [id, golden])) })).toEqual([]);
    expect(redisServersOn(socket), 'the command stops the server it started again').toEqual([]);
    const check = await runCli(['--home', home, 'check'], { env });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });

  it('one that keeps dying (a fourth death within a minute) ends the command: E_REDIS_UNAVAILABLE, exit 3, the home left to the next command', { timeout: 180_000 }, async () => {
    const { home, socket, cli } = await batchUnderWay('e-');
    for (let death = 1; death <= 4 && cli.child.exitCode === null; death++) {
      const [pid] = redisServersOn(socket);
      if (pid === undefined) break;
      process.kill(pid, 'SIGKILL');
      if (death < 4) await waitFor(`restart ${death}`, () => (cli.stderr().match(/restarted the private redis-server/g) ?? []).length >= death || cli.child.exitCode !== null, 20_000, 10);
    }
    const ended = await Promise.race([cli.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 120_000))]);
    expect(ended, `the command still waits: ${cli.stderr()}`).toBe(true);
    expect(cli.child.exitCode, cli.stderr()).toBe(3);
    expect(cli.stderr()).toMatch(/not again\. Stopping; queued jobs stay in its data for the next start \[E_REDIS_UNAVAILABLE\]\n$/);
    expect(redisServersOn(socket)).toEqual([]);
    // The next command owns the home, settles what was cut off, and the same request finishes.
    const again = await runCli(['--home', home, 'clone', 'src', '--count', String(COUNT), '--prefix', 'e-'], { env, timeoutMs: 120_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(readyBoxes(home)).toBe(COUNT + 1);
    const check = await runCli(['--home', home, 'check'], { env });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });
});
