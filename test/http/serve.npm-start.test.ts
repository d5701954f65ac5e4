/**
 * `npm start` (the README's "run it") on a fresh home: the script starts
 * `forkpoint serve`, prints the URL, serves the page and turns ready within
 * seconds, and SIGTERM shuts it down in order with exit code 0. The test
 * Redis is passed in REDIS_URL so nothing else's Redis is touched.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { call, until } from './support.js';

let child: ChildProcess | null = null;
let dir: string | null = null;
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

describe('npm start', () => {
  it('serves the page on a fresh home, is ready within seconds, and exits 0 on SIGTERM', async () => {
    dir = mkdtempSync(join(tmpdir(), 'forkpoint-start-'));
    const env = { ...process.env, UV_THREADPOOL_SIZE: undefined, FORKPOINT_HOME: join(dir, 'home'), REDIS_URL: inject('redisUrl'), FORKPOINT_POOL_SIZE: '1' } as NodeJS.ProcessEnv;
    delete env.FORKPOINT_TOKEN;
    const proc = spawn('npm', ['start', '--', '--port', '0', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));

    const url = await until('the URL on stdout', () => {
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as { url: string }).url : null;
    }, 15_000);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toMatch(/:7420$/);
    expect(stderr).toContain(`forkpoint: listening on ${url}`);

    const ready = await until('/readyz to answer 200', async () => {
      const r = await call(url, 'GET', '/readyz').catch(() => null);
      return r?.status === 200 ? r : null;
    }, 10_000);
    expect(ready.body.ready).toBe(true);
    const page = await call(url, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('id="total-bytes"');
    expect((await call(url, 'GET', '/api/forest')).body.totals).toMatchObject({ bases: 0, boxes: 0 });
    // The service runs with 16 libuv threads (a batch's fsyncs go 4 at a time with the default).
    const servePid = execFileSync('pgrep', ['-P', String(proc.pid)], { encoding: 'utf8' }).trim().split('\n')[0]!;
    expect(readFileSync(`/proc/${servePid}/environ`, 'utf8').split('\0')).toContain('UV_THREADPOOL_SIZE=16');

    proc.kill('SIGTERM');
    const { code, signal } = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    // Shut down in order: HTTP first (the port is closed), then the service.
    expect(stderr).toMatch(/stopping[\s\S]*stopped/);
    expect(await call(url, 'GET', '/healthz').then(() => 'open', () => 'closed')).toBe('closed');
  });
});
