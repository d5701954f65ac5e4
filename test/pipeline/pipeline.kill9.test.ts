/**
 * kill -9 of `forkpoint serve` in the middle of a 200-clone batch: the next
 * `serve` recovers, hands the cut-off job back to its queue, and the batch
 * completes with every disk valid and nothing leaked.
 */
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { Forkpoint } from '../../src/producers/client.js';
import {
  auditHome,
  goldenImage,
  homeIdOf,
  readyBoxes,
  runCli,
  startServe,
  TEST_PREFIX,
  useCleanup,
} from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-kill9-');
const { defer, killAtEnd } = useCleanup();

describe('pipeline: kill -9 of serve mid-batch', () => {
  it('retries the cut-off batch on the next start; every disk is valid and nothing leaks', { timeout: 120_000 }, async () => {
    const dir = tmp();
    const home = join(dir, 'home');
    const redisUrl = inject('redisUrl');
    const golden = goldenImage(join(dir, 'golden.qcow2'), 0x5a);
    const made = await runCli(['--home', home, '--redis', redisUrl, 'box', 'create', 'src', '--from', golden]);
    expect(made.status, made.stderr).toBe(0);

    // The service kills itself (SIGKILL) once the batch's first group of children is committed:
    // mid-batch for certain, however fast the batch runs (stopping it from here raced the batch).
    const first = await startServe(home, redisUrl, [], { env: { FORKPOINT_FAULT: 'clone:after-group:kill' } });
    killAtEnd(first);
    const client = await Forkpoint.connect({ redisUrl, homeId: homeIdOf(home), prefix: TEST_PREFIX });
    defer(() => client.close());

    const targets = Array.from({ length: 200 }, (_, i) => `k${i}`);
    const handle = await client.clone('src', targets);
    expect((await first.exited).signal).toBe('SIGKILL');
    // Cut off mid-batch: some targets made, not all (1 = the source box).
    const readyWhenKilled = readyBoxes(home) - 1;
    expect(readyWhenKilled).toBeGreaterThan(0);
    expect(readyWhenKilled).toBeLessThan(200);

    const second = await startServe(home, redisUrl);
    killAtEnd(second);
    // The new owner moves the dead one's active job back to wait (requeue-orphans.ts) and runs it.
    const result = await handle.result();
    expect(result.targets).toEqual(targets);

    const goldenOf = new Map(['src', ...targets].map((id) => [id, golden]));
    expect(await auditHome(homeLayout(home), { goldenOf })).toEqual([]);
    expect(readyBoxes(home)).toBe(201);
    const check = await runCli(['--home', home, '--json', 'check']);
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    expect((JSON.parse(check.stdout) as { problems: unknown[] }).problems).toEqual([]);

    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });
});
