/**
 * Ctrl-C on a command that runs its own pipeline (no serve): it stops that pipeline, whose
 * clone batch stops between chunks and goes back to its queue whole, and then says what is
 * true of the job it waited for: that it stays queued, and the commands that follow or
 * cancel it. It ends by SIGINT. `jobs wait` then runs the job to its end and gives its
 * result; `jobs cancel` says there is nothing left to cancel.
 * (The 10,000-clone case on the private Redis: cli.ctrl-c-resume.test.ts.)
 */
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { cliEnv, runCli, spawnCli, waitFor } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-ctrlc-embedded-');

describe('cli: Ctrl-C on a command running its own pipeline', () => {
  it('stops the pipeline and the batch between chunks, names the job; jobs wait finishes it', { timeout: 90_000 }, async () => {
    const home = join(tmp(), 'home');
    const redis = inject('redisUrl');
    const env = cliEnv({ FORKPOINT_POOL_SIZE: '1' });
    const fp = (args: string[]) => runCli(['--home', home, '--redis', redis, ...args], { env, timeoutMs: 60_000 });
    expect((await fp(['box', 'create', 'src', '--size', '1M'])).status).toBe(0);

    const cli = spawnCli(['--home', home, '--redis', redis, '--progress', 'json', 'clone', 'src', '--count', '2000', '--prefix', 'e-'], env);
    await waitFor('the clone to write children', () => cli.progress().some((p) => p.phase === 'writing children') || cli.child.exitCode !== null, 60_000, 5);
    expect(cli.child.exitCode, cli.stderr()).toBeNull();
    await cli.interrupt();
    const stderr = cli.stderr();
    expect(cli.child.signalCode, stderr).toBe('SIGINT');
    expect(stderr).toMatch(/interrupted by SIGINT; stopped the pipeline\n/);
    const job = /job (clone-\S+) \(queue \S+\) stays queued and resumes with the next command or `forkpoint serve` on this home.*\n.*follow it: forkpoint --home (\S+) jobs wait clone-/.exec(stderr);
    expect(job, stderr).not.toBeNull();
    expect(job![2]).toBe(homeLayout(home).home);
    expect(stderr).toContain(`cancel it: forkpoint --home ${job![2]} jobs cancel ${job![1]}`);
    // Stopped part-way, not run to its end: what it made is ready, the rest is not yet.
    const readyAtStop = (JSON.parse((await fp(['--json', 'box', 'ls'])).stdout) as { state: string }[]).filter((b) => b.state === 'ready').length;
    expect(readyAtStop).toBeLessThan(2001);

    const waited = await fp(['--json', 'jobs', 'wait', job![1]!]);
    expect(waited.status, waited.stderr).toBe(0);
    expect((JSON.parse(waited.stdout) as { result: { targets: string[] } }).result.targets).toHaveLength(2000);
    expect((await fp(['jobs', 'cancel', job![1]!])).status).toBe(3);
    const boxes = JSON.parse((await fp(['--json', 'box', 'ls'])).stdout) as { state: string }[];
    expect(boxes.filter((b) => b.state === 'ready')).toHaveLength(2001);
    expect((JSON.parse((await fp(['--json', 'check'])).stdout) as { problems: unknown[] }).problems).toEqual([]);
  });
});
