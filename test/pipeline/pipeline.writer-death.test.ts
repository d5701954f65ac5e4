/**
 * The DB writer thread dying (here an injected throw in its flush; in life a
 * native crash) stops `serve` with exit 1 and a message naming the writer,
 * instead of leaving it up to fail every job. The job it cut off stays queued,
 * and the next `serve` finishes it: nothing is lost.
 */
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { homeLayout } from '../../src/layout.js';
import { auditHome, readyBoxes, runCli, startServe, useCleanup, waitFor } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-writer-death-');
const { killAtEnd } = useCleanup();

describe('pipeline: the DB writer thread dies', () => {
  it('serve exits 1 naming the writer; the cut-off job is finished by the next serve', { timeout: 120_000 }, async () => {
    const home = join(tmp(), 'home');
    const redisUrl = inject('redisUrl');
    const doomed = await startServe(home, redisUrl, [], { env: { FORKPOINT_FAULT: 'writer:flush:throw' } });
    killAtEnd(doomed);

    // Through the service: the job's first writer command kills the writer thread.
    const cli = await runCli(['--home', home, 'box', 'create', 'x', '--size', '8M'], { timeoutMs: 60_000 });
    expect(await doomed.exited).toEqual({ code: 1, signal: null });
    expect(doomed.stderr()).toMatch(/the database writer thread died: injected fault at writer:flush/);
    // The command is told its service went away and that the job stays queued.
    expect(cli.status, cli.stderr).toBe(3);
    expect(cli.stderr).toMatch(/stopped before finishing; the job stays queued/);
    expect(readyBoxes(home)).toBe(0);

    const next = await startServe(home, redisUrl);
    killAtEnd(next);
    await waitFor('the queued box-create to finish', () => readyBoxes(home) === 1, 60_000);
    expect(await auditHome(homeLayout(home))).toEqual([]);
    next.child.kill('SIGTERM');
    expect(await next.exited).toEqual({ code: 0, signal: null });
  });
});
