/**
 * A CLI command on a home that `forkpoint serve` owns enqueues on the service's
 * Redis and under the service's queue prefix (both read from run/owner.json),
 * whatever FORKPOINT_PREFIX the shell it runs in has: a job under another
 * prefix would never be consumed, and the command would wait for ever.
 */
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { readyBoxes, runCli, startServe, useCleanup } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-prefix-');
const { killAtEnd } = useCleanup();

describe('cli: CLI through a service started with another FORKPOINT_PREFIX', () => {
  it('the command reaches the service (or says why), instead of waiting on a queue nobody consumes', { timeout: 90_000 }, async () => {
    const home = join(tmp(), 'home');
    const serve = killAtEnd(await startServe(home, inject('redisUrl'), [], { env: { FORKPOINT_PREFIX: '{fp-review3-svc}' } }));
    // The operator's shell has the default test prefix (cliEnv), not the service's.
    const r = await runCli(['--home', home, 'box', 'create', 'web', '--size', '1M'], { timeoutMs: 30_000 });
    // Killed by the timeout (status null) today: the job sits in {fp-test}:forkpoint-<home>-ops.
    expect(r.signal, `cli: ${r.stderr}\nserve: ${serve.stderr()}`).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(readyBoxes(home)).toBe(1);
  });
});
