/**
 * `box rm` is a request like every other mutating command (request.ts): the same command after
 * a crash joins its job, or runs it again under its op, whose journal answers what the first
 * run removed. Before, the rerun was a new job that found the boxes the first one had removed
 * gone, and reported each as an unknown box (exit 2) although the removal had succeeded. The
 * crash is the command's own: its pipeline kills it after the first folder of the job is gone
 * (the fault point `remove-boxes:after-first`), its job left in Redis.
 */
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { cliEnv, runCli } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-box-rm-rerun-');
const COUNT = 40;

describe('cli: box rm run again after it was killed', () => {
  it('finishes the removal and reports every box removed (exit 0); once seen, the same command is a new request', { timeout: 120_000 }, async () => {
    const home = join(tmp(), 'home');
    const fp = (args: string[], env = cliEnv()) => runCli(['--home', home, '--redis', inject('redisUrl'), ...args], { env });
    expect((await fp(['box', 'create', 'src', '--size', '1M'])).status).toBe(0);
    const cloned = await fp(['--json', 'clone', 'src', '--count', String(COUNT), '--prefix', 'r-']);
    expect(cloned.status, cloned.stderr).toBe(0);
    const ids = (JSON.parse(cloned.stdout) as { targets: string[] }).targets;
    expect(ids).toHaveLength(COUNT);

    const killed = await fp(['box', 'rm', ...ids], cliEnv({ FORKPOINT_FAULT: 'remove-boxes:after-first:kill' }));
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).toBe(''); // it saw nothing of its job's end

    // The same boxes in another order are the same request; the outcomes come in the order given.
    const reversed = [...ids].reverse();
    const rerun = await fp(['--json', 'box', 'rm', ...reversed]);
    expect(rerun.status, rerun.stderr).toBe(0);
    expect(rerun.stderr).toContain('resuming the unfinished request of an earlier run of this command');
    const outcomes = JSON.parse(rerun.stdout) as { boxId: string; outcome: string }[];
    expect(outcomes.map((o) => o.boxId)).toEqual(reversed);
    expect(outcomes.filter((o) => o.outcome !== 'removed')).toEqual([]);
    const left = JSON.parse((await fp(['--json', 'box', 'ls'])).stdout) as { id: string }[];
    expect(left.map((b) => b.id)).toEqual(['src']);
    const check = await fp(['--json', 'check']);
    expect(check.status, check.stdout + check.stderr).toBe(0);

    // Seen to succeed: the same command again is a new request, and those boxes are gone.
    const again = await fp(['box', 'rm', ...ids]);
    expect(again.status).toBe(2);
    expect(again.stderr).not.toContain('resuming');
    expect(again.stderr.match(/unknown box r-\d+ \[E_UNKNOWN_BOX\]/g)).toHaveLength(COUNT);
  });

  it('resumed after the box was made again, removes the new box too (the old answer says "removed" either way)', { timeout: 120_000 }, async () => {
    const home = join(tmp(), 'home');
    const fp = (args: string[], env = cliEnv()) => runCli(['--home', home, '--redis', inject('redisUrl'), ...args], { env });
    expect((await fp(['box', 'create', 'web', '--size', '1M'])).status).toBe(0);
    expect((await fp(['box', 'rm', 'web'], cliEnv({ FORKPOINT_FAULT: 'remove-boxes:after-first:kill' }))).signal).toBe('SIGKILL');
    // The next command's pipeline finishes the removal (its recovery, the requeued job); then a new box of that id.
    const made = await fp(['box', 'create', 'web', '--size', '2M']);
    expect(made.status, made.stderr).toBe(0);
    const rm = await fp(['--json', 'box', 'rm', 'web']);
    expect(rm.status, rm.stderr).toBe(0);
    expect(rm.stderr).toContain('resuming the unfinished request');
    expect((JSON.parse(rm.stdout) as { boxId: string; outcome: string }[]).map((o) => [o.boxId, o.outcome])).toEqual([['web', 'removed']]);
    expect(JSON.parse((await fp(['--json', 'box', 'ls'])).stdout)).toEqual([]);
  });
});
