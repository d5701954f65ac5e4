/**
 * Ctrl-C on a command that runs its own pipeline (no serve): it stops that pipeline,
 * names the job that stays queued on its Redis and how to follow or cancel it, and ends
 * by SIGINT. `jobs cancel` then runs the pipeline itself: BullMQ hands the cut-off job
 * back, it reads the cancel request before its next chunk and undoes the targets it had
 * not made, so the home ends consistent with only whole boxes.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { BIN, REPO_ROOT, auditHome, cliEnv, runCli, waitFor } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-ctrlc-embedded-');

describe('cli: Ctrl-C on a command running its own pipeline', () => {
  it('names the job left queued; jobs cancel then stops it where it was cut off', { timeout: 120_000 }, async () => {
    const home = join(tmp(), 'home');
    const redis = inject('redisUrl');
    const env = cliEnv({ FORKPOINT_POOL_SIZE: '1' });
    const fp = (args: string[]) => runCli(['--home', home, '--redis', redis, ...args], { env, timeoutMs: 90_000 });
    expect((await fp(['box', 'create', 'src', '--size', '1M'])).status).toBe(0);

    const child = spawn(process.execPath, [BIN, '--home', home, '--redis', redis, '--progress', 'json', 'clone', 'src', '--count', '10000', '--prefix', 'e-'], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const someMade = () => stderr.split('\n').some((l) => l.startsWith('{') && (JSON.parse(l) as { done: number }).done > 0);
    await waitFor('the clone to report children made', () => someMade() || child.exitCode !== null, 60_000, 5);
    child.kill('SIGINT');
    await exited;
    expect(child.signalCode, stderr).toBe('SIGINT');
    expect(stderr).toMatch(/interrupted by SIGINT; stopped the pipeline\n/);
    const job = /job (clone-\S+) \(queue \S+\) stays queued and goes on when the home is next served \(`forkpoint serve`\) or followed; it was not cancelled/.exec(stderr);
    expect(job, stderr).not.toBeNull();
    const id = job![1]!;
    expect(stderr).toContain(`cancel it: forkpoint --home ${homeLayout(home).home} jobs cancel ${id}`);

    const cancel = await fp(['--json', 'jobs', 'cancel', id]);
    expect(cancel.status, cancel.stderr).toBe(0);
    const report = JSON.parse(cancel.stdout) as { outcome: string; error?: { details: { made: number; undone: number } } };
    expect(report.outcome).toBe('cancelled');
    const { made, undone } = report.error!.details;
    expect(made + undone).toBe(10_000);
    expect(undone).toBeGreaterThan(0);
    const boxes = JSON.parse((await fp(['--json', 'box', 'ls'])).stdout) as { state: string }[];
    expect(boxes.length).toBe(made + 1);
    expect(await auditHome(homeLayout(home))).toEqual([]);
    expect((JSON.parse((await fp(['--json', 'check'])).stdout) as { problems: unknown[] }).problems).toEqual([]);
  });
});
