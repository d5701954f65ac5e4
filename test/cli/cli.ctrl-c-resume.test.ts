/**
 * issue 11 §5: Ctrl-C on a 10,000-clone batch run by the command's own pipeline (no serve, the
 * home's private redis-server). The pipeline stops the batch between chunks instead of running
 * it to its end: the command exits 130 with part of the batch made, naming the job, that it
 * resumes with the next command on the home, and how to follow or cancel it. The job stays in
 * the private Redis (its data in the home); `jobs wait JOB`, the next command, resumes it: the
 * targets the stop left unmade (rolled back by that command's recovery, journalled again by the
 * job) are made, every box is ready, `check` is clean, and qemu-img passes the base and a sample
 * of children from both sides of the stop.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { cliEnv, goldenImage, runCli, spawnCli, useRedisServerCleanup, waitFor } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-ctrlc-resume-');
const killRedisOn = useRedisServerCleanup();

const COUNT = 10_000;
const env = cliEnv({ REDIS_URL: undefined });

interface BoxRow {
  id: string;
  state: string;
  diskPath: string;
}

describe('cli: Ctrl-C stops a large batch of its own pipeline between chunks; the next command resumes it', () => {
  it('exits 130 part-way naming the job; jobs wait completes all 10,000, check clean, qemu-img clean', { timeout: 120_000 }, async () => {
    const dir = tmp();
    const home = join(dir, 'home');
    killRedisOn(join(home, 'run', 'redis.sock'));
    const fp = (args: string[]) => runCli(['--home', home, ...args], { env, timeoutMs: 90_000 });
    const golden = goldenImage(join(dir, 'golden.qcow2'), 0x5d);
    const made = await fp(['box', 'create', 'src', '--from', golden]);
    expect(made.status, made.stderr).toBe(0);
    expect(made.stderr).toMatch(/started a private redis-server/);

    const cli = spawnCli(['--home', home, '--progress', 'json', 'clone', 'src', '--count', String(COUNT), '--prefix', 'r-'], env);
    const doneSoFar = () => Math.max(0, ...cli.progress().map((p) => (p.phase === 'writing children' ? p.done : 0)));
    await waitFor('the clone to have written some children', () => doneSoFar() >= 64 || cli.child.exitCode !== null, 60_000, 5);
    expect(cli.child.exitCode, cli.stderr()).toBeNull();
    await cli.interrupt();
    const stderr = cli.stderr();
    expect(cli.child.signalCode, stderr).toBe('SIGINT');
    expect(stderr).toMatch(/interrupted by SIGINT; stopped the pipeline and its private redis-server\n/);
    const canonical = homeLayout(home).home;
    const named = /job (clone-\S+) \(queue \S+\) stays queued and resumes with the next command or `forkpoint serve` on this home/.exec(stderr);
    expect(named, stderr).not.toBeNull();
    const job = named![1]!;
    expect(stderr).toContain(`follow it: forkpoint --home ${canonical} jobs wait ${job}`);
    expect(stderr).toContain(`cancel it: forkpoint --home ${canonical} jobs cancel ${job}`);

    // Stopped part-way: what it made is ready, and not all of it was made.
    const atStop = JSON.parse((await fp(['--json', 'box', 'ls'])).stdout) as BoxRow[];
    const readyAtStop = new Set(atStop.filter((b) => b.state === 'ready' && b.id !== 'src').map((b) => b.id));
    expect(readyAtStop.size).toBeGreaterThan(0);
    expect(readyAtStop.size).toBeLessThan(COUNT);

    const waited = await fp(['--json', '--progress', 'none', 'jobs', 'wait', job]);
    expect(waited.status, waited.stderr).toBe(0);
    // One run resumed it: a lost lock or a second run would be logged here (or fail the job).
    expect(waited.stderr).not.toMatch(/renew lock|stalled|E_ALREADY_EXISTS/);
    expect((JSON.parse(waited.stdout) as { result: { targets: string[] } }).result.targets).toHaveLength(COUNT);

    const boxes = JSON.parse((await fp(['--json', 'box', 'ls'])).stdout) as BoxRow[];
    expect(boxes.filter((b) => b.state === 'ready')).toHaveLength(COUNT + 1);
    const check = await fp(['--json', 'check']);
    expect(check.status, check.stderr).toBe(0);
    expect((JSON.parse(check.stdout) as { problems: unknown[] }).problems).toEqual([]);

    // qemu-img on the base and on children made before the stop and after the resume.
    const bases = JSON.parse((await fp(['--json', 'bases', 'ls'])).stdout) as { basePath: string; kind: string }[];
    expect(bases.filter((b) => b.kind === 'clone_base')).toHaveLength(1);
    const clones = boxes.filter((b) => b.id !== 'src');
    const before = clones.filter((b) => readyAtStop.has(b.id));
    const after = clones.filter((b) => !readyAtStop.has(b.id));
    const every = (rows: BoxRow[], n: number) => rows.filter((_, i) => i % Math.ceil(rows.length / n) === 0);
    const sample = [...every(before, 5), ...every(after, 15), after[after.length - 1]!];
    for (const path of [...bases.map((b) => b.basePath), ...sample.map((b) => b.diskPath)]) {
      execFileSync('qemu-img', ['check', '-U', path], { stdio: 'pipe' }); // throws on a non-zero exit
    }
    for (const b of sample) execFileSync('qemu-img', ['compare', '-U', golden, b.diskPath], { stdio: 'pipe' });
  });
});
