/**
 * `forkpoint serve` fails to start in one line with a typed error: a port in
 * use is E_CONFLICT (exit 3) naming host:port, an address that is not this
 * machine's is E_INVALID_ARGUMENT naming `host`, and a bad `--grace` is
 * E_INVALID_ARGUMENT naming `grace` (exit 2) before the home is touched.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isForkpointError, type ForkpointError } from '../../src/errors.js';
import { toListenError } from '../../src/producers/http/server.js';
import { startTestService } from './support.js';

let blocker: Server;
let busyPort: number;
let dir: string;
beforeAll(async () => {
  blocker = createServer();
  await new Promise<void>((resolve, reject) => {
    blocker.once('error', reject);
    blocker.listen(0, '127.0.0.1', resolve);
  });
  busyPort = (blocker.address() as { port: number }).port;
  dir = mkdtempSync(join(tmpdir(), 'forkpoint-listen-'));
});
afterAll(async () => {
  await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function serve(home: string, args: string[]): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const env = { ...process.env, FORKPOINT_HOME: home, REDIS_URL: inject('redisUrl'), FORKPOINT_POOL_SIZE: '1' } as NodeJS.ProcessEnv;
  delete env.FORKPOINT_TOKEN;
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['bin/forkpoint.js', 'serve', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.once('error', reject);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** What the CLI prints for a typed error: exactly one line, no stack. */
function oneLine(stderr: string): string {
  // The service's pino lines (JSON, not a terminal) may come first; the error is the last line.
  const lines = stderr.trimEnd().split('\n').filter((l) => !l.startsWith('{'));
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe('listen failures', () => {
  it('startHttpServer on a port in use throws E_CONFLICT naming host:port', async () => {
    const err = await startTestService({ port: busyPort }).catch((e: unknown) => e);
    expect(isForkpointError(err, 'E_CONFLICT')).toBe(true);
    expect((err as ForkpointError).message).toContain(`127.0.0.1:${busyPort}`);
    expect((err as ForkpointError).details).toMatchObject({ field: 'port', host: '127.0.0.1', port: busyPort });
    expect((err as ForkpointError).exitCode).toBe(3);
  });

  it('startHttpServer on an address this machine does not have throws E_INVALID_ARGUMENT naming host', async () => {
    // 192.0.2.0/24 is TEST-NET-1: never assigned. Beyond loopback a token is needed to get as far as listen.
    const err = await startTestService({ host: '192.0.2.1', port: 0, token: 'test-token-0123456789' }).catch((e: unknown) => e);
    expect(isForkpointError(err, 'E_INVALID_ARGUMENT')).toBe(true);
    expect((err as ForkpointError).details).toMatchObject({ field: 'host', host: '192.0.2.1' });
    expect((err as ForkpointError).exitCode).toBe(2);
  });

  it('maps the other listen errnos', () => {
    const errno = (code: string) => Object.assign(new Error(`listen ${code}`), { code });
    const map = (code: string, host = '127.0.0.1', port = 7420) => toListenError(errno(code), host, port) as ForkpointError;
    expect(map('ENOTFOUND', 'nosuch.invalid')).toMatchObject({ code: 'E_INVALID_ARGUMENT', details: { field: 'host', host: 'nosuch.invalid' } });
    expect(map('EACCES', '127.0.0.1', 80)).toMatchObject({ code: 'E_INVALID_ARGUMENT', details: { field: 'port', port: 80 } });
    expect(map('EACCES', '127.0.0.1', 8080)).toMatchObject({ code: 'E_INVALID_ARGUMENT', details: { field: 'host' } });
    expect(map('EADDRINUSE', '::1', 7420).message).toContain('[::1]:7420');
    const other = errno('EMFILE');
    expect(toListenError(other, '127.0.0.1', 7420)).toBe(other);
  });

  it('`forkpoint serve --port <busy>` exits 3 with one line naming host:port, and stops the pipeline it started', async () => {
    const home = join(dir, 'busy');
    const r = await serve(home, ['--port', String(busyPort)]);
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 3, signal: null });
    expect(oneLine(r.stderr)).toMatch(new RegExp(`^forkpoint: cannot listen on 127\\.0\\.0\\.1:${busyPort}: the port is already in use.*\\[E_CONFLICT\\]$`));
    expect(r.stdout).toBe('');
    // The service was stopped before the exit, not abandoned: it got as far as locking the home,
    // and released the lock (owner.json goes only in release(); bin/forkpoint.js exits right after main).
    expect(existsSync(join(home, 'run'))).toBe(true);
    expect(existsSync(join(home, 'run', 'owner.json'))).toBe(false);
  });
});

describe('serve --grace and --home-wait', () => {
  it.each(['grace', 'home-wait'].flatMap((flag) => ['abc', '', '-1', 'Infinity', '1e12'].map((value) => [flag, value])))(
    '`--%s %j` exits 2 with one line naming the flag, before the home is touched',
    async (flag, value) => {
      const home = join(dir, `${flag}-${Math.random().toString(36).slice(2)}`);
      const r = await serve(home, ['--port', '0', `--${flag}`, value!]);
      expect(r.code).toBe(2);
      expect(oneLine(r.stderr)).toMatch(new RegExp(`^forkpoint: --${flag} must be a number of seconds .*\\[E_INVALID_ARGUMENT\\]$`));
      expect(existsSync(home)).toBe(false);
    },
  );

  it('`--grace abc --json` reports the field on stdout for scripts', async () => {
    const home = join(dir, 'grace-json');
    const r = await serve(home, ['--port', '0', '--grace', 'abc', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'E_INVALID_ARGUMENT', details: { field: 'grace' } });
  });
});
