/**
 * Ctrl-C on a command waiting through `serve` stops the wait, not the job: the
 * command says on stderr which job goes on and the commands that follow and
 * cancel it, and ends by SIGINT (exit 130 in a shell). `jobs cancel` then stops
 * the running clone batch between chunks: what it made is ready and valid, the
 * rest was never made, `check` is clean; `jobs wait` reports the job's end
 * (E_CANCELLED, exit 4); serve still stops cleanly.
 */
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { auditHome, runCli, spawnCli, startServe, useCleanup, waitFor } from '../helpers/pipeline.js';
import { qemuCheck } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-ctrlc-');
const { killAtEnd } = useCleanup();

describe('cli: Ctrl-C on a waiting command, then jobs cancel', () => {
  it('names the job that goes on and how to follow or cancel it; cancelling stops the batch between chunks', { timeout: 120_000 }, async () => {
    const home = join(tmp(), 'home');
    const redis = inject('redisUrl');
    const fp = (args: string[]) => runCli(['--home', home, '--redis', redis, ...args]);
    expect((await fp(['box', 'create', 'src', '--size', '1M'])).status).toBe(0);
    // One file thread: a 10,000-clone batch then runs for seconds, long past the cancel below.
    const serve = killAtEnd(await startServe(home, redis, [], { env: { FORKPOINT_POOL_SIZE: '1' } }));

    const cli = spawnCli(['--home', home, '--redis', redis, '--progress', 'json', 'clone', 'src', '--count', '10000', '--prefix', 'c-']);
    await waitFor('the clone to report children made', () => cli.progress().some((p) => p.done > 0) || cli.child.exitCode !== null, 60_000, 5);
    expect(cli.child.exitCode, cli.stderr()).toBeNull();
    await cli.interrupt();
    const stderr = cli.stderr();
    expect(cli.child.signalCode, stderr).toBe('SIGINT');
    const job = /job (clone-\S+) \(queue \S+\) goes on in forkpoint serve \(pid (\d+)\); it was not cancelled/.exec(stderr);
    expect(job, stderr).not.toBeNull();
    expect(Number(job![2])).toBe(serve.pid);
    const id = job![1]!;
    expect(stderr).toContain(`follow it: forkpoint --home ${homeLayout(home).home} jobs wait ${id}`);
    expect(stderr).toContain(`cancel it: forkpoint --home ${homeLayout(home).home} jobs cancel ${id}`);

    const cancel = await fp(['--json', 'jobs', 'cancel', id]);
    expect(cancel.status, cancel.stderr).toBe(0);
    const report = JSON.parse(cancel.stdout) as { id: string; outcome: string; error: { code: string; details: { made: number; undone: number } } };
    expect(report).toMatchObject({ id, outcome: 'cancelled', error: { code: 'E_CANCELLED' } });
    const { made, undone } = report.error.details;
    expect(made).toBeGreaterThan(0);
    expect(undone).toBeGreaterThan(0);
    expect(made + undone).toBe(10_000);

    const waited = await fp(['jobs', 'wait', id]);
    expect(waited.status, waited.stderr).toBe(4);
    expect(waited.stderr).toMatch(/was cancelled after making \d+ of 10000 boxes \(the other \d+ were not made\) \[E_CANCELLED\]/);
    const again = await fp(['jobs', 'cancel', id]);
    expect(again.status).toBe(3);
    expect(again.stderr).toMatch(/had already failed: nothing to cancel .*\[E_CONFLICT\]/);
    expect((await fp(['jobs', 'cancel', 'clone-nosuch'])).status).toBe(2);

    const boxes = JSON.parse((await fp(['--json', 'box', 'ls'])).stdout) as { id: string; state: string; baseId: string }[];
    expect(boxes.length).toBe(made + 1);
    expect(boxes.every((b) => b.state === 'ready')).toBe(true);
    const check = await fp(['--json', 'check']);
    expect(check.status, check.stdout).toBe(0);
    expect((JSON.parse(check.stdout) as { problems: unknown[] }).problems).toEqual([]);
    // Records and files agree; qemu-img check passes on every made disk and on the base they read.
    expect(await auditHome(homeLayout(home))).toEqual([]);
    const base = boxes.find((b) => b.id === 'src')!.baseId;
    expect(qemuCheck(join(homeLayout(home).basesDir, `${base}.qcow2`)).status).toBe(0);

    serve.child.kill('SIGTERM');
    expect(await serve.exited).toEqual({ code: 0, signal: null });
  });
});
