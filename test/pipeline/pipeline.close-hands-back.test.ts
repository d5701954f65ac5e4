/**
 * A pipeline closed with no grace (a Ctrl-C'd command's own pipeline; serve past --grace) while a
 * 2,000-clone batch runs: the batch stops between chunks and its job goes back to the queue
 * whole, waiting, no attempt spent (not left active to be found stalled once its lock runs out,
 * not failed and delayed for a retry). What it made is ready. The next pipeline on the home
 * recovers (rolls back the rows of boxes not made), takes the job at once and finishes it: every
 * box ready, recovery finds nothing more, qemu-img passes the base and a sample of children.
 * Cancelled as it resumes, such a job says how many boxes it really made (its E_CANCELLED details).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cancelKey } from '../../src/contract/cancel.js';
import { queueName } from '../../src/contract/queues.js';
import { openReader } from '../../src/db/reader.js';
import { ErrorCodes, isForkpointError } from '../../src/errors.js';
import { boxDiskPath } from '../../src/layout.js';
import { recover } from '../../src/workers/recovery/index.js';
import { qemuCheck, qemuCompare } from '../helpers/qemu.js';
import { TEST_PREFIX, goldenImage, useTestPipelines, waitFor, type TestPipeline } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-close-back-');
const startPipeline = useTestPipelines();

function readyCount(home: string): number {
  const r = openReader(home);
  try {
    return r.listBoxes({ state: 'ready' }).length;
  } finally {
    r.close();
  }
}

/** Clone `count` boxes of a new `src` on `first` and close it (no grace) once some children are committed. */
async function batchStoppedPartWay(dir: string, first: TestPipeline, count: number) {
  const golden = goldenImage(join(dir, 'golden.qcow2'), 0x71);
  await (await first.client.createBox('src', { fromImage: golden })).result();
  const handle = await first.client.clone('src', { count, prefix: 'h-' });
  let closed: Promise<void> | null = null;
  handle.onProgress((p) => {
    // Once some children are committed: the job certainly runs, far from its end.
    if (p.done > 0 && closed === null) closed = first.pipeline.close(0);
  });
  await waitFor('the batch to commit children', () => closed !== null, 60_000, 5);
  await closed;
  return { golden, handle };
}

describe('pipeline: close(0) mid-batch hands the job back whole', () => {
  it('stops between chunks, the job waits with no attempt spent; the next pipeline finishes it', { timeout: 120_000 }, async () => {
    const dir = tmp();
    // One file thread: the batch is still writing when close(0) lands (progress shows done > 0
    // only at the first group commit, by when two threads may have written most of the batch).
    const first = await startPipeline(dir, { poolSize: 1 });
    const count = 2000;
    const { golden, handle } = await batchStoppedPartWay(dir, first, count);

    const parked = await first.client.getJob('ops', handle.id);
    expect(parked).toMatchObject({ state: 'waiting', attemptsMade: 0, failedReason: null });
    const readyAtStop = readyCount(first.layout.home);
    expect(readyAtStop).toBeGreaterThan(1);
    expect(readyAtStop).toBeLessThan(count + 1);

    const second = await startPipeline(dir, { homeId: first.homeId });
    // Recovery undid the rows the stop left unmade before the job came back.
    expect(second.pipeline.recovery.summary.repaired).toBe(count + 1 - readyAtStop);
    const result = (await handle.result()) as { targets: string[]; baseId: string };
    expect(result.targets).toHaveLength(count);
    // One attempt in all: the hand-back spent none, and it did not run twice.
    expect((await second.client.getJob('ops', handle.id))?.attemptsMade).toBe(1);
    expect(readyCount(second.layout.home)).toBe(count + 1);
    expect((await recover(second.layout.home, { repair: false })).problems).toEqual([]);

    expect(qemuCheck(join(second.layout.basesDir, `${result.baseId}.qcow2`)).status).toBe(0);
    for (const n of [1, 2, readyAtStop, readyAtStop + 1, 1000, count]) {
      const disk = boxDiskPath(second.layout, `h-${n}`);
      expect(qemuCheck(disk).status, disk).toBe(0);
      expect(qemuCompare(golden, disk).status, disk).toBe(0);
    }
  });

  it('a handed-back job cancelled as it resumes reports what it really made (recovery undid the rest first)', { timeout: 120_000 }, async () => {
    const dir = tmp();
    const first = await startPipeline(dir, { poolSize: 1 }); // one file thread, as above
    const count = 2000;
    const { handle } = await batchStoppedPartWay(dir, first, count);
    const made = readyCount(first.layout.home) - 1;
    expect(made).toBeLessThan(count);
    // The request as `jobs cancel` sets it first (contract/cancel.ts), here before the next owner takes the job.
    const redis = await first.client.queue('ops').getBackend().client;
    await redis.set(cancelKey(TEST_PREFIX, queueName(first.homeId, 'ops'), handle.id), 'test', { EX: 600 });

    const second = await startPipeline(dir, { homeId: first.homeId });
    const failure = await handle.result().then(() => null, (err: unknown) => err);
    expect(isForkpointError(failure, ErrorCodes.CANCELLED), String(failure)).toBe(true);
    expect((failure as { details: { made: number; undone: number } }).details).toMatchObject({ made, undone: count - made });
    expect((failure as Error).message).toContain(`after making ${made} of ${count} boxes`);
    expect(readyCount(second.layout.home)).toBe(made + 1);
    expect(readdirSync(second.layout.boxesDir)).toHaveLength(made + 1);
    expect((await recover(second.layout.home, { repair: false })).problems).toEqual([]);
  });
});
