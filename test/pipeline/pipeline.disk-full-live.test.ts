/**
 * A full disk under a running pipeline does not leave the home stuck until a
 * restart: the clone that ran out of space fails (E_NO_SPACE), the pipeline
 * settles what it left half-done itself (as start-up recovery would), and
 * the same request under the same op completes once there is room again.
 * Needs root (a small tmpfs is the full disk).
 */
import { rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ForkpointError } from '../../src/errors.js';
import { boxDiskPath } from '../../src/layout.js';
import { recover } from '../../src/workers/recovery/index.js';
import { qemuCheck, qemuCompare } from '../helpers/qemu.js';
import { startTestPipeline, waitFor, type TestPipeline } from '../helpers/pipeline.js';
import { isRoot, useTmpfs } from '../helpers/tmp.js';

const tmpfs = useTmpfs('fp-full-');
const open: TestPipeline[] = [];
// Registered after useTmpfs's, so run before it (vitest runs after-hooks as a stack): the
// pipeline on the tmpfs closes before it is unmounted.
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

describe.skipIf(!isRoot)('pipeline: a full disk while the service runs (root: tmpfs)', () => {
  it('settles the failed clone by itself, and the same op completes once there is room', { timeout: 120_000 }, async () => {
    const mnt = tmpfs('24m');
    const t = await startTestPipeline(mnt);
    open.push(t);
    await (await t.client.createBox('src', { sizeBytes: 8 << 20 })).result();
    // Leave 128 KiB: the fork fits, 200 children do not.
    const { bavail, bsize } = statfsSync(mnt);
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(Math.max(0, Number(bavail) * Number(bsize) - (128 << 10))));
    const targets = Array.from({ length: 200 }, (_, i) => `t${i}`);

    const err = await (await t.client.clone('src', targets, 'full-1')).result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForkpointError);
    expect((err as ForkpointError).code, (err as Error).message).toBe('E_NO_SPACE');
    // No restart, no operator: once there is room again (even the database was full), the
    // pipeline's own repair settles what the failed clone left half-done.
    rmSync(filler);
    await waitFor('the live repair to settle the failed clone', async () => (await recover(t.layout.home, { repair: false })).problems.length === 0, 60_000, 200);

    const done = await (await t.client.clone('src', targets, 'full-1')).result();
    expect(done.targets).toEqual(targets);
    const src = boxDiskPath(t.layout, 'src');
    for (const id of targets) {
      const disk = boxDiskPath(t.layout, id);
      expect(qemuCheck(disk).status, id).toBe(0);
      expect(qemuCompare(src, disk).status, id).toBe(0);
    }
    expect((await recover(t.layout.home, { repair: false })).problems).toEqual([]);
  });
});
