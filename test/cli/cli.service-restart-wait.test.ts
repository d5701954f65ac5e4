/**
 * A CLI command waiting on `forkpoint serve` stops waiting when that service
 * goes, also when the home passes straight to another owner (a supervisor's
 * quick restart), which the lock alone does not show: the command compares
 * the owner it enqueued to with the one now recorded. With the default private
 * redis-server the next owner adopts the one the killed service left running
 * (the queue as it was), so the command follows its job to that owner and ends
 * with its result.
 *
 * Here the gap is closed by this test holding the lock between the two services
 * (as a quick restart does, or a CLI command in between).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { ownerNow, tryLockHome } from '../../src/runtime/home-lock.js';
import { BIN, REPO_ROOT, cliEnv, runCli, waitFor, type CliRun, redisServersOn } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-restart-');
const toKill: number[] = [];
const sockets: string[] = [];
afterEach(async () => {
  await new Promise((r) => setTimeout(r, 200));
  for (const s of sockets.splice(0)) toKill.push(...redisServersOn(s));
  for (const pid of toKill.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});


function serve(home: string, env: NodeJS.ProcessEnv, extra: string[] = []) {
  const child = spawn(process.execPath, [BIN, '--home', home, 'serve', '--port', '0', ...extra], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  toKill.push(child.pid!);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, stderr: () => stderr };
}

describe('cli: the service dies and is restarted while a CLI command waits', () => {
  it.each([
    ['takes the home straight from a command in between', false],
    ['comes after that command let go, the home free for a while', true],
  ])('the command follows its job to the next owner on the same private Redis (it %s) and ends with its result', { timeout: 240_000 }, async (_how, gap) => {
    const home = join(tmp(), 'home');
    const env = cliEnv({ REDIS_URL: undefined });
    expect((await runCli(['--home', home, 'box', 'create', 'src', '--size', '1M'], { env })).status).toBe(0);
    const socket = join(home, 'run', 'redis.sock');
    sockets.push(socket);
    const runDir = homeLayout(home).runDir;

    const a = serve(home, env);
    await waitFor('serve A', () => /listening on/.test(a.stderr()), 60_000, 20);
    const cliDone = runCli(['--home', home, 'clone', 'src', '--count', '2000'], { env, timeoutMs: 150_000 });
    await waitFor('the clone to be running', () => /clone done|"job":"clone"/.test(a.stderr()) || readdirSync(join(home, 'boxes')).length > 50, 60_000, 5);
    a.child.kill('SIGKILL');
    // The next owner takes the home at once (the test stands in for the moment in between).
    let bridge = null as ReturnType<typeof tryLockHome>;
    await waitFor('the lock to be free', () => (bridge = tryLockHome(runDir, ownerNow('cli', 'x'))) !== null, 30_000, 1);
    let b: ReturnType<typeof serve>;
    if (gap) {
      // The command in between holds the home over a few of the CLI's 1 s re-reads, lets go, and
      // for a few more nobody owns it: the waiting CLI must not take that for a clean stop.
      await new Promise((r) => setTimeout(r, 2500));
      bridge!.release();
      await new Promise((r) => setTimeout(r, 3500));
      b = serve(home, env);
    } else {
      b = serve(home, env);
      await waitFor('serve B to wait for the home', () => /waiting for it to finish/.test(b.stderr()), 60_000, 5);
      bridge!.release();
    }
    await waitFor('serve B', () => /listening on/.test(b.stderr()), 60_000, 20);
    const r: CliRun = await cliDone;
    expect(r.signal, `the CLI was still waiting after 150 s\ncli: ${r.stderr}\nserve B: ${b.stderr().slice(-2000)}`).toBeNull();
    // The clone finished before the kill, or serve B (which took over A's redis-server) finished it.
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/cloned src into 2000 boxes/);
    expect(r.stderr).not.toMatch(/kept nothing/);
  });

  it('a clean stop (SIGTERM, the batch handed back) ends the wait with where the job is: it does not follow the job to a later owner', { timeout: 120_000 }, async () => {
    const home = join(tmp(), 'home');
    const env = cliEnv({ REDIS_URL: undefined });
    expect((await runCli(['--home', home, 'box', 'create', 'src', '--size', '1M'], { env })).status).toBe(0);
    sockets.push(join(home, 'run', 'redis.sock'));
    const a = serve(home, env, ['--grace', '0']);
    await waitFor('serve A', () => /listening on/.test(a.stderr()), 60_000, 20);
    const cliDone = runCli(['--home', home, 'clone', 'src', '--count', '10000'], { env, timeoutMs: 100_000 });
    await waitFor('the clone to be running', () => readdirSync(join(home, 'boxes')).length > 50, 60_000, 5);
    a.child.kill('SIGTERM');
    await new Promise<void>((r) => a.child.once('exit', () => r()));
    // A crash would be followed to this owner; a clean stop was said before it came (the CLI looks every second).
    await new Promise((r) => setTimeout(r, 6000));
    const b = serve(home, env);
    await waitFor('serve B', () => /listening on/.test(b.stderr()), 60_000, 20);
    const r = await cliDone;
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/stopped before finishing; the job stays queued \(job clone-/);
  });
});

