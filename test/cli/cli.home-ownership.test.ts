/**
 * One pipeline per home: a second `serve` is refused; a `serve` started
 * while a CLI command holds the home waits for it; a CLI command while
 * `serve` runs goes through the service; without one, the CLI runs an
 * embedded pipeline (on the given Redis, or on a private redis-server it
 * starts and stops itself).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { ownerNow, readOwner, tryLockHome, type HomeLock } from '../../src/runtime/home-lock.js';
import { auditHome, cliEnv, goldenImage, readyBoxes, runCli, startServe, useCleanup, redisServersOn } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-own-');
const { killAtEnd } = useCleanup();


describe('cli: who owns a home', () => {
  it('refuses a second serve (exit 3, names the home and the owner pid); a CLI command meanwhile goes through the service', { timeout: 90_000 }, async () => {
    const dir = tmp();
    const home = join(dir, 'home');
    const redisUrl = inject('redisUrl');
    const golden = goldenImage(join(dir, 'golden.qcow2'), 0x42);
    expect((await runCli(['--home', home, '--redis', redisUrl, 'box', 'create', 'src', '--from', golden])).status).toBe(0);

    const first = await startServe(home, redisUrl);
    killAtEnd(first);
    const second = await startServe(home, redisUrl, [], { waitReady: false });
    killAtEnd(second);
    const refused = await second.exited;
    expect(refused.code, second.stderr()).toBe(3);
    expect(second.stderr()).toContain(home);
    expect(second.stderr()).toContain(`pid ${first.pid}`);
    expect(second.stderr()).toMatch(/already owned/);
    expect(first.child.exitCode).toBeNull();

    // No --redis: the CLI finds the service's Redis in the owner file and enqueues there.
    const r = await runCli(['--home', home, '--json', 'clone', 'src', '--count', '3', '--prefix', 'via-serve-'], { timeoutMs: 20_000 });
    expect(r.status, `cli: ${r.stderr}\nserve: ${first.stderr()}`).toBe(0);
    const out = JSON.parse(r.stdout) as { targets: string[] };
    expect(out.targets).toEqual(['via-serve-1', 'via-serve-2', 'via-serve-3']);
    expect(r.stderr).not.toMatch(/redis-server/);
    expect(await auditHome(homeLayout(home), { goldenOf: new Map(['src', ...out.targets].map((id) => [id, golden])) })).toEqual([]);

    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
  });

  /**
   * Start a serve while `holder` (ours) keeps the home: it must say `waiting` and neither take the
   * home nor give up; once the holder lets go, it owns the home and stops cleanly.
   */
  async function serveWaitsThenOwns(home: string, holder: HomeLock, waiting: RegExp): Promise<void> {
    const runDir = homeLayout(home).runDir;
    const heldBy = readOwner(runDir);
    let released = false;
    try {
      const serve = await startServe(home, inject('redisUrl'), [], { waitReady: false });
      killAtEnd(serve);
      await serve.waitForStderr(waiting);
      expect(readOwner(runDir)).toEqual(heldBy);
      expect(serve.child.exitCode).toBeNull();
      holder.release();
      released = true;
      await serve.waitForStderr(/listening on http/);
      expect(readOwner(runDir)).toMatchObject({ pid: serve.pid, kind: 'serve' });
      serve.child.kill('SIGTERM');
      expect(await serve.exited).toEqual({ code: 0, signal: null });
    } finally {
      if (!released) holder.release();
    }
  }

  it('a serve started while a CLI command holds the home waits for it, then owns the home', { timeout: 90_000 }, async () => {
    const home = join(tmp(), 'home');
    mkdirSync(home);
    const cli = tryLockHome(homeLayout(home).runDir, ownerNow('cli', 'h'))!;
    await serveWaitsThenOwns(home, cli, new RegExp(`busy with a forkpoint command \\(pid ${process.pid}\\); waiting`));
  });

  it('an owner file naming a serve that has exited, while another process holds the lock, is waited out, not refused', { timeout: 90_000 }, async () => {
    // The race this models: a command probing the home after its serve's crash holds the lock for a
    // moment before it rewrites the file; a serve starting then read the dead serve's name.
    const home = join(tmp(), 'home');
    mkdirSync(home);
    const dead = spawnSync('true');
    expect(dead.status).toBe(0);
    const holder = tryLockHome(homeLayout(home).runDir, ownerNow('cli', 'h'))!;
    holder.update({ pid: dead.pid!, kind: 'serve', redisUrl: inject('redisUrl') });
    await serveWaitsThenOwns(home, holder, new RegExp(`still names forkpoint serve pid ${dead.pid}, which has exited\\); waiting`));
  });

  it("an owner file written in another pid namespace (a container sharing the home) is not judged by its pid: a live serve's is still refused at once", { timeout: 60_000 }, async () => {
    const home = join(tmp(), 'home');
    mkdirSync(home);
    const dead = spawnSync('true');
    const holder = tryLockHome(homeLayout(home).runDir, ownerNow('cli', 'h'))!;
    holder.update({ pid: dead.pid!, kind: 'serve', redisUrl: inject('redisUrl'), pidNs: 'pid:[1]' });
    try {
      const serve = killAtEnd(await startServe(home, inject('redisUrl'), [], { waitReady: false }));
      expect((await serve.exited).code, serve.stderr()).toBe(3);
      expect(serve.stderr()).toMatch(new RegExp(`already owned by forkpoint serve \\(pid ${dead.pid}, since [^)]*\\); only one pipeline may own a home \\[E_HOME_LOCKED\\]`));
      expect(serve.stderr()).not.toMatch(/waiting for it to finish/); // refused at once, as a live serve is
    } finally {
      holder.release();
    }
  });

  it('a command meeting that stale owner file waits for the lock too, then runs the work itself', { timeout: 90_000 }, async () => {
    const dir = tmp();
    const home = join(dir, 'home');
    const golden = goldenImage(join(dir, 'golden.qcow2'), 0x42);
    mkdirSync(home);
    const runDir = homeLayout(home).runDir;
    const dead = spawnSync('true');
    const holder = tryLockHome(runDir, ownerNow('cli', 'h'))!;
    holder.update({ pid: dead.pid!, kind: 'serve', redisUrl: inject('redisUrl') });
    let released = false;
    const release = setTimeout(() => {
      holder.release();
      released = true;
    }, 1500);
    try {
      const r = await runCli(['--home', home, '--redis', inject('redisUrl'), '--json', 'box', 'create', 'src', '--from', golden], { timeoutMs: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(readyBoxes(home)).toBe(1);
      expect(readOwner(runDir)).toBeNull(); // the command owned the home, and let go
    } finally {
      clearTimeout(release);
      if (!released) holder.release();
    }
  });

  it('a serve that waited --home-wait for a CLI command gives up with exit 3, naming the holder, and leaves the home to it', { timeout: 60_000 }, async () => {
    const home = join(tmp(), 'home');
    mkdirSync(home);
    const runDir = homeLayout(home).runDir;
    const cli = tryLockHome(runDir, ownerNow('cli', 'h'))!;
    try {
      const serve = await startServe(home, inject('redisUrl'), ['--home-wait', '0.3'], { waitReady: false });
      killAtEnd(serve);
      expect((await serve.exited).code, serve.stderr()).toBe(3);
      expect(serve.stderr()).toMatch(new RegExp(`already owned by a forkpoint command \\(pid ${process.pid}, since .*\\[E_HOME_LOCKED\\]`));
      expect(readOwner(runDir)).toMatchObject({ pid: process.pid, kind: 'cli' });
    } finally {
      cli.release();
    }
  });

  it('SIGTERM to a serve waiting for the home stops it at once, cleanly (exit 0), without taking the home', { timeout: 60_000 }, async () => {
    const home = join(tmp(), 'home');
    mkdirSync(home);
    const runDir = homeLayout(home).runDir;
    const cli = tryLockHome(runDir, ownerNow('cli', 'h'))!;
    try {
      // A wait far longer than the test: had the signal waited for it to end, the test would time out
      // (or, with the home still held, end in exit 3 E_HOME_LOCKED).
      const serve = await startServe(home, inject('redisUrl'), ['--home-wait', '3600'], { waitReady: false });
      killAtEnd(serve);
      await serve.waitForStderr(/waiting for it to finish/);
      serve.child.kill('SIGTERM');
      expect(await serve.exited, serve.stderr()).toEqual({ code: 0, signal: null });
      expect(serve.stderr()).toMatch(/stopped before starting/);
      expect(readOwner(runDir)).toMatchObject({ pid: process.pid, kind: 'cli' });
    } finally {
      cli.release();
    }
  });

  it('without serve, runs an embedded pipeline on the given Redis', async () => {
    const dir = tmp();
    const home = join(dir, 'home');
    const redisUrl = inject('redisUrl');
    expect((await runCli(['--home', home, '--redis', redisUrl, 'box', 'create', 'src', '--size', '8M'])).status).toBe(0);
    const r = await runCli(['--home', home, '--redis', redisUrl, 'clone', 'src', '--count', '3']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/redis-server/);
    expect(readyBoxes(home)).toBe(4);
    // The command released the home: nothing owns it now.
    expect(existsSync(join(home, 'run', 'owner.json'))).toBe(false);
  });

  it('with no Redis given, starts a private redis-server, says so, and stops it after the command', async () => {
    const dir = tmp();
    const home = join(dir, 'home');
    // No REDIS_URL, no --redis: the home's own (cli.redis-default.test.ts: whatever answers on 127.0.0.1:6379).
    const env = cliEnv({ REDIS_URL: undefined });
    const r1 = await runCli(['--home', home, 'box', 'create', 'src', '--size', '8M'], { env });
    expect(r1.status, r1.stderr).toBe(0);
    const said = r1.stderr.match(/started a private redis-server[^\n]*unix:(\S+)/);
    if (!said) {
      expect.fail(`expected a private redis-server notice: ${r1.stderr}`);
    }
    expect(r1.stderr.match(/started a private redis-server/g)).toHaveLength(1);
    const socket = said[1]!;
    expect(existsSync(socket)).toBe(false);
    expect(redisServersOn(socket)).toEqual([]);

    const r2 = await runCli(['--home', home, '--json', 'clone', 'src', '--count', '2'], { env });
    expect(r2.status, r2.stderr).toBe(0);
    expect((JSON.parse(r2.stdout) as { targets: string[] }).targets).toHaveLength(2);
    expect(redisServersOn(socket)).toEqual([]);
    expect(readyBoxes(home)).toBe(3);
  });
});
