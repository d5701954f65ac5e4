/**
 * kill -9 of `forkpoint serve` in the middle of a 200-clone batch: the next
 * `serve` recovers, BullMQ's stalled-job check hands the job back, and the
 * batch completes with every disk valid and nothing leaked.
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
  waitFor,
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

    // One file thread makes the batch slow enough to stop part-way, and SIGSTOP freezes it at once.
    const first = await startServe(home, redisUrl, [], { env: { FORKPOINT_POOL_SIZE: '1' } });
    killAtEnd(first);
    const client = await Forkpoint.connect({ redisUrl, homeId: homeIdOf(home), prefix: TEST_PREFIX });
    defer(() => client.close());

    const targets = Array.from({ length: 200 }, (_, i) => `k${i}`);
    const handle = await client.clone('src', targets);
    let stoppedAt = -1;
    handle.onProgress((p) => {
      if (stoppedAt < 0 && p.done >= 60) {
        first.child.kill('SIGSTOP');
        stoppedAt = p.done;
      }
    });
    await waitFor('the batch to pass 30%', () => stoppedAt >= 0, 60_000, 10);
    // Frozen mid-batch: not every target is done (1 = the source box).
    const readyWhenStopped = readyBoxes(home) - 1;
    expect(readyWhenStopped, 'the batch finished before it could be stopped').toBeLessThan(200);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const second = await startServe(home, redisUrl);
    killAtEnd(second);
    // The stalled-job check (lock 10 s, checked every 5 s) hands the job to the new service.
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
