/**
 * The owner of a private redis-server hears when it ends other than by stop() (its own child by
 * the exit event, an adopted one by its pid), and keepEmbeddedRedis restarts it on the same data
 * within its budget, then gives up (onLost) instead of looping.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmbeddedRedis } from '../../src/runtime/embedded-redis.js';
import { keepEmbeddedRedis } from '../../src/runtime/embedded-redis-keeper.js';
import type { ForkpointError } from '../../src/errors.js';
import { redisServersOn, waitFor } from '../helpers/pipeline.js';
import { onSocket } from '../helpers/serve-log.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-keeper-');


describe('embedded redis-server: exits noticed, restarts kept within a budget', () => {
  it('an adopted server killed -9 is noticed by its pid; stop() of a live one is not an exit', async () => {
    const runDir = join(tmp(), 'run');
    const first = await startEmbeddedRedis(runDir);
    const adopted = await startEmbeddedRedis(runDir); // the first owner "crashed"
    expect(adopted.adoptedPid).toBe(first.pid);
    const heard: string[] = [];
    adopted.onExit((how) => heard.push(how));
    process.kill(adopted.pid, 'SIGKILL');
    await waitFor('the adopted server to be missed', () => heard.length > 0, 10_000, 20);
    expect(heard).toEqual([`the adopted redis-server (pid ${adopted.pid}) is gone`]);

    const own = await startEmbeddedRedis(runDir);
    const ownHeard: string[] = [];
    own.onExit((how) => ownHeard.push(how));
    await own.stop();
    await new Promise((r) => setTimeout(r, 50)); // give a wrongly sent exit note the chance to arrive
    expect(ownHeard).toEqual([]);
    expect(redisServersOn(own.socket)).toEqual([]);
  });

  it('restarts on the same data up to the budget, then reports the server lost', async () => {
    const runDir = join(tmp(), 'run');
    const lines: { line: string; level: string | undefined }[] = [];
    const kept = keepEmbeddedRedis(await startEmbeddedRedis(runDir), runDir, (line, level) => lines.push({ line, level }), { max: 1, windowMs: 60_000 });
    let lost: ForkpointError | null = null;
    kept.onLost((err) => (lost = err));
    try {
      const firstPid = kept.current().pid;
      await onSocket(kept.current().socket, (c) => c.set('queued', 'still here'));
      process.kill(firstPid, 'SIGKILL');
      await waitFor('the restart', () => kept.current().pid !== firstPid, 10_000, 20);
      expect(lines.find((l) => l.level === 'error')?.line).toMatch(new RegExp(`^the private redis-server \\(pid ${firstPid}\\) exited \\(SIGKILL\\); restarting it on the same data`));
      expect(await onSocket(kept.current().socket, (c) => c.get('queued'))).toBe('still here');
      expect(lost).toBeNull();

      const secondPid = kept.current().pid;
      process.kill(secondPid, 'SIGKILL'); // over the budget of 1 a minute
      await waitFor('the server to be reported lost', () => lost !== null, 10_000, 20);
      expect(lost!.code).toBe('E_REDIS_UNAVAILABLE');
      expect(lost!.message).toMatch(/restarted 1 time within 60 s already: not again/);
      expect(kept.current().pid).toBe(secondPid);
      expect(redisServersOn(kept.current().socket)).toEqual([]);
    } finally {
      await kept.stop();
    }
  });
});
