/**
 * issue 11 §1: `serve` on the home's private redis-server (no --redis, no REDIS_URL) is killed
 * with -9 in the middle of a batch a CLI command waits for. The redis-server it started outlives
 * it with the queue intact (and keeps it in the home's AOF): the next serve adopts it, hands the
 * cut-off job back as it starts (not BullMQ's stalled check, once the lock expired), the batch
 * completes, and the waiting command follows the job to its end. And when the job is lost
 * (serve, its redis-server and the command all killed, the Redis data gone), running the same
 * command again finishes the same request.
 */
import { Queue } from 'bullmq';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { Forkpoint } from '../../src/producers/client.js';
import { embeddedDataDir } from '../../src/runtime/embedded-redis.js';
import {
  BIN,
  REPO_ROOT,
  TEST_PREFIX,
  auditHome,
  cliEnv,
  goldenImage,
  homeIdOf,
  readyBoxes,
  redisServersOn,
  runCli,
  startServe,
  useCleanup,
  waitFor,
  useRedisServerCleanup,
} from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-embedded-crash-');
const { defer, killAtEnd } = useCleanup();
const killRedisOn = useRedisServerCleanup();

const COUNT = 600;
const env = cliEnv({ REDIS_URL: undefined, FORKPOINT_POOL_SIZE: '1' });

/** A home with box `src` (made by the CLI on its own private redis-server) and a serve on that home's private Redis. */
async function homeWithServe() {
  const dir = tmp();
  const home = join(dir, 'home');
  const golden = goldenImage(join(dir, 'golden.qcow2'), 0x3c);
  const made = await runCli(['--home', home, 'box', 'create', 'src', '--from', golden], { env });
  expect(made.status, made.stderr).toBe(0);
  const socket = join(home, 'run', 'redis.sock');
  killRedisOn(socket);
  const first = killAtEnd(await startServe(home, null, [], { env: { FORKPOINT_POOL_SIZE: '1' } }));
  expect(first.stderr()).toMatch(/started a private redis-server/);
  return { home, golden, socket, first };
}

/** `clone src --count COUNT --prefix k-`, waiting on serve; and a watcher that freezes serve (SIGSTOP) part-way. */
async function cloneCutOffMidBatch(home: string, socket: string, freeze: () => void) {
  const watcher = await Forkpoint.connect({ redisUrl: `unix://${socket}`, homeId: homeIdOf(home), prefix: TEST_PREFIX });
  let frozenAt = -1;
  watcher.watch('ops', (e) => {
    const done = e.type === 'progress' ? (e.data as { done?: number }).done ?? 0 : 0;
    if (frozenAt < 0 && done >= 32) {
      freeze();
      frozenAt = done;
    }
  });
  const cli = spawn(process.execPath, [BIN, '--home', home, 'clone', 'src', '--count', String(COUNT), '--prefix', 'k-'], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  defer(() => void (cli.exitCode === null && cli.signalCode === null && cli.kill('SIGKILL')));
  let stdout = '';
  let stderr = '';
  cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => cli.once('exit', (code, signal) => r({ code, signal })));
  await waitFor('the batch to be frozen part-way', () => frozenAt >= 0 || cli.exitCode !== null, 60_000, 10);
  await watcher.close(); // before anything happens to its Redis
  expect(frozenAt, `the command ended before the batch was cut off: ${stderr}`).toBeGreaterThanOrEqual(0);
  expect(readyBoxes(home) - 1, 'the batch finished before it could be cut off').toBeLessThan(COUNT);
  return { cli, exited, out: () => stdout, err: () => stderr };
}

async function expectCleanHome(home: string, golden: string) {
  const targets = Array.from({ length: COUNT }, (_, i) => `k-${i + 1}`);
  expect(readyBoxes(home)).toBe(COUNT + 1);
  const goldenOf = new Map(['src', ...targets].map((id) => [id, golden]));
  expect(await auditHome(homeLayout(home), { goldenOf })).toEqual([]); // qemu-img check (and compare) of every disk
  const check = await runCli(['--home', home, '--json', 'check'], { env });
  expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  expect((JSON.parse(check.stdout) as { problems: unknown[] }).problems).toEqual([]);
}

describe('cli: kill -9 of serve on its private Redis mid-batch', () => {
  it('the next serve adopts the redis-server, the batch completes and the waiting command follows it to its end', { timeout: 180_000 }, async () => {
    const { home, golden, socket, first } = await homeWithServe();
    const redisPids = redisServersOn(socket);
    expect(redisPids).toHaveLength(1);
    const cli = await cloneCutOffMidBatch(home, socket, () => first.child.kill('SIGSTOP'));
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(redisServersOn(socket), 'the redis-server outlives its owner').toEqual(redisPids);

    const second = killAtEnd(await startServe(home, null));
    expect(second.stderr()).toMatch(new RegExp(`took over the private redis-server \\(pid ${redisPids[0]}\\)`));
    // Handed back as it starts (requeue-orphans.ts), not by BullMQ's stalled check once the lock expired.
    const requeued = /job (\S+) \(clone\) on queue (\S+) was running when the home's last owner stopped without handing it back; back in its queue now/.exec(second.stderr());
    expect(requeued, second.stderr()).not.toBeNull();
    const end = await Promise.race([cli.exited, new Promise<null>((r) => setTimeout(() => r(null), 120_000))]);
    expect(end, `the command was still waiting: ${cli.err()}`).toEqual({ code: 0, signal: null });
    expect(cli.out()).toMatch(new RegExp(`cloned src into ${COUNT} boxes`));
    expect(cli.err()).not.toMatch(/kept nothing/);
    const queue = new Queue(requeued![2]!, { connection: { path: socket }, prefix: TEST_PREFIX });
    try {
      const job = await queue.getJob(requeued![1]!);
      expect(await job?.getState()).toBe('completed');
      expect(job?.stalledCounter, 'the stalled check handed it back, not the new owner').toBe(0);
    } finally {
      await queue.close();
    }

    await expectCleanHome(home, golden);
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(redisServersOn(socket), 'serve stops the redis-server it adopted').toEqual([]);
  });

  it('after a crash that lost the job (serve, redis-server and command killed, the Redis data gone), the same command again makes what is missing', { timeout: 180_000 }, async () => {
    const { home, golden, socket, first } = await homeWithServe();
    const cli = await cloneCutOffMidBatch(home, socket, () => first.child.kill('SIGSTOP'));
    first.child.kill('SIGKILL');
    for (const pid of redisServersOn(socket)) process.kill(pid, 'SIGKILL');
    cli.cli.kill('SIGKILL');
    await first.exited;
    await cli.exited;
    await waitFor('the redis-server to be gone', () => redisServersOn(socket).length === 0, 10_000);
    rmSync(embeddedDataDir(homeLayout(home).runDir), { recursive: true, force: true }); // the queued job is lost

    // No serve now: the command runs its own pipeline (recovery first), under the op of the first run.
    const again = await runCli(['--home', home, 'clone', 'src', '--count', String(COUNT), '--prefix', 'k-'], { env, timeoutMs: 120_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming the unfinished request of an earlier run of this command/);
    expect(again.stdout).toMatch(new RegExp(`cloned src into ${COUNT} boxes`));
    await expectCleanHome(home, golden);

    // Finished: the same command now is a new request, refused with every box that exists counted.
    const third = await runCli(['--home', home, 'clone', 'src', '--count', String(COUNT), '--prefix', 'k-'], { env });
    expect(third.status).toBe(3);
    expect(third.stderr).toMatch(new RegExp(`${COUNT} of the ${COUNT} clone target boxes already exist: k-1, k-2, k-3, k-4, k-5 and ${COUNT - 5} more; nothing was changed`));
    expect(redisServersOn(socket)).toEqual([]);
  });
});
