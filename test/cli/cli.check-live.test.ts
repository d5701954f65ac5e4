/**
 * `forkpoint check` while `serve` owns the home asks the service, which knows
 * what its running jobs are working on; when it cannot ask (a token it does
 * not have), it says so and reads the files itself.
 */
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { readOwner } from '../../src/runtime/home-lock.js';
import { cliEnv, runCli, startServe, useCleanup } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-check-live-');
const { killAtEnd } = useCleanup();

describe('cli: check with serve running', () => {
  it('asks the service (naming it), falls back to the files without the token, and reports the same problem both ways', { timeout: 90_000 }, async () => {
    const home = join(tmp(), 'home');
    mkdirSync(home);
    const token = 'check-live-secret';
    const serve = await startServe(home, inject('redisUrl'), [], { env: { FORKPOINT_TOKEN: token } });
    killAtEnd(serve);
    await serve.waitForStderr(/listening on (http:\S+)/);
    const url = serve.stderr().match(/listening on (http:\S+)/)![1]!;
    expect(readOwner(homeLayout(home).runDir)).toMatchObject({ kind: 'serve', httpUrl: url });
    // A box folder with no record: a problem, and no job is working on it.
    mkdirSync(join(homeLayout(home).boxesDir, 'stray'));

    const asked = await runCli(['--home', home, '--json', 'check'], { env: cliEnv({ FORKPOINT_TOKEN: token }) });
    expect(asked.status, asked.stderr).toBe(1);
    const viaService = JSON.parse(asked.stdout);
    expect(viaService.checkedBy).toBe(url);
    expect(viaService.problems).toEqual([expect.objectContaining({ subject: 'box', id: 'stray' })]);
    expect(viaService.summary).toMatchObject({ found: 1, needsAttention: 1, inFlight: 0 });
    expect(asked.stderr).toBe('');

    const text = await runCli(['--home', home, 'check'], { env: cliEnv({ FORKPOINT_TOKEN: token }) });
    expect(text.stdout).toContain(`checked by forkpoint serve at ${url}`);

    const alone = await runCli(['--home', home, '--json', 'check'], { env: cliEnv({ FORKPOINT_TOKEN: undefined }) });
    expect(alone.status).toBe(1);
    expect(alone.stderr).toContain(`forkpoint serve at ${url} answered 401 (set FORKPOINT_TOKEN); reading the files instead`);
    const fromFiles = JSON.parse(alone.stdout);
    expect(fromFiles.checkedBy).toBeUndefined();
    expect(fromFiles.problems).toEqual(viaService.problems);

    serve.child.kill('SIGTERM');
    expect(await serve.exited).toEqual({ code: 0, signal: null });
  });

  it('check --repair exits 1 while something still needs a person after it (through the service and alone), 0 once nothing does', { timeout: 90_000 }, async () => {
    const home = join(tmp(), 'home');
    mkdirSync(home);
    const serve = await startServe(home, inject('redisUrl'));
    killAtEnd(serve);
    // Asked only once it listens: until then its owner file names no HTTP address to ask.
    await serve.waitForStderr(/listening on http/);
    const stray = join(homeLayout(home).boxesDir, 'stray');
    mkdirSync(stray); // no record, and recovery never removes a box folder by itself

    const viaService = await runCli(['--home', home, '--json', 'check', '--repair']);
    expect(viaService.status, viaService.stderr).toBe(1);
    expect(JSON.parse(viaService.stdout)).toMatchObject({ checkedBy: expect.any(String), summary: { found: 1, needsAttention: 1 } });
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toEqual({ code: 0, signal: null });

    const alone = await runCli(['--home', home, '--json', 'check', '--repair']);
    expect(alone.status, alone.stderr).toBe(1);
    expect(JSON.parse(alone.stdout)).toMatchObject({ repair: true, summary: { found: 1, needsAttention: 1 } });

    rmdirSync(stray);
    const settled = await runCli(['--home', home, '--json', 'check', '--repair']);
    expect(settled.status, settled.stderr).toBe(0);
    expect(JSON.parse(settled.stdout)).toMatchObject({ summary: { found: 0, needsAttention: 0 } });
  });
});
