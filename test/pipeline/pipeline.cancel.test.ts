/**
 * Cancelling through a real pipeline (BullMQ workers, Piscina pool, DB writer
 * thread, the test Redis): a 2,000-clone batch cancelled once its first
 * children are committed stops between chunks; the boxes it made are ready
 * and valid, the rest were never made (no row, no folder), recovery finds
 * nothing to do, and the base is still read by the source and collected once
 * nothing reads it. A job cancelled while it waits is removed and does nothing.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { ErrorCodes, isForkpointError } from '../../src/errors.js';
import { boxDiskPath } from '../../src/layout.js';
import { recover } from '../../src/workers/recovery/index.js';
import { qemuCheck, qemuCompare } from '../helpers/qemu.js';
import { auditHome, gcSettled, goldenImage, useTestPipelines } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-cancel-');
const startPipeline = useTestPipelines();

describe('pipeline: cancelling a job', () => {
  it('a running 2,000-clone batch stops between chunks: what it made is ready and valid, the rest was never made', { timeout: 120_000 }, async () => {
    const dir = tmp();
    // One file thread: the batch is still writing when the cancel lands (progress shows done > 0
    // only at the first group commit, by when two threads may have written most of the batch).
    const t = await startPipeline(dir, { poolSize: 1 });
    const golden = goldenImage(join(dir, 'golden.qcow2'), 0x3c);
    await (await t.client.createBox('src', { fromImage: golden })).result();

    const count = 2000;
    const handle = await t.client.clone('src', { count, prefix: 'c-' });
    const phases = new Set<string>();
    let asked: Promise<unknown> | null = null;
    handle.onProgress((p) => {
      if (p.phase) phases.add(p.phase);
      // As soon as some children are committed: the job is certainly running, and far from its end.
      if (p.done > 0 && asked === null) asked = t.client.cancel(handle.id);
    });
    const failure = await handle.result().then(
      () => null,
      (err: unknown) => err,
    );
    expect(asked, 'the job reported progress').not.toBeNull();
    expect(await asked).toMatchObject({ id: handle.id, outcome: 'cancelling' });
    expect(isForkpointError(failure, ErrorCodes.CANCELLED), String(failure)).toBe(true);
    const { made, undone } = (failure as { details: { made: number; undone: number } }).details;
    expect(made).toBeGreaterThan(0);
    expect(undone).toBeGreaterThan(0);
    expect(made + undone).toBe(count);
    expect(phases).toEqual(new Set(['forking', 'writing children']));
    // Not retried: a cancelled job fails for good.
    expect((await t.client.getJob('ops', handle.id))?.state).toBe('failed');

    await gcSettled(t.client);
    const reader = openReader(t.layout.home);
    let baseId: string;
    try {
      const clones = reader.listBoxes().filter((b) => b.id !== 'src');
      expect(clones.length).toBe(made);
      expect(clones.every((b) => b.state === 'ready')).toBe(true);
      baseId = reader.findBox('src')!.baseId!;
      expect(clones.every((b) => b.baseId === baseId)).toBe(true);
      // The boxes not made have no folder either (only src and the made ones are in boxes/).
      expect(readdirSync(t.layout.boxesDir).length).toBe(made + 1);
      expect(reader.findBase(baseId)?.state).toBe('ready');
    } finally {
      reader.close();
    }
    // Every record has its file and vice versa; qemu-img check passes on every box disk (the made ones and src).
    expect(await auditHome(t.layout)).toEqual([]);
    for (const id of ['src', 'c-1']) expect(qemuCompare(golden, boxDiskPath(t.layout, id)).status, id).toBe(0);
    expect((await recover(t.layout.home, { repair: false })).problems).toEqual([]);

    // The base is still collectable: once nothing reads it, GC takes it.
    const ids = ['src', ...Array.from({ length: count }, (_, i) => `c-${i + 1}`).filter((id) => existsSync(boxDiskPath(t.layout, id)))];
    expect(qemuCheck(join(t.layout.basesDir, `${baseId}.qcow2`)).status).toBe(0);
    await Promise.all((await Promise.all(ids.map((id) => t.client.removeBox(id)))).map((h) => h.result()));
    await gcSettled(t.client);
    expect(readdirSync(t.layout.basesDir)).toEqual([]);
  });

  it('a job cancelled while it waits is removed, and nothing of it runs', async () => {
    const dir = tmp();
    // No workers take ops jobs: the clone stays waiting (opsConcurrency 0 is refused, so pause them).
    // One file thread: the batch is still writing when the cancel lands (progress shows done > 0
    // only at the first group commit, by when two threads may have written most of the batch).
    const t = await startPipeline(dir, { poolSize: 1 });
    const golden = goldenImage(join(dir, 'golden.qcow2'), 0x5a);
    await (await t.client.createBox('src', { fromImage: golden })).result();
    await t.client.queue('ops').pause();
    const handle = await t.client.clone('src', ['a', 'b']);
    expect(await t.client.cancel(handle.id)).toMatchObject({ id: handle.id, outcome: 'removed', state: 'waiting' });
    expect(await t.client.getJob('ops', handle.id)).toBeNull();
    await t.client.queue('ops').resume();
    await expect(t.client.cancel(handle.id)).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    const reader = openReader(t.layout.home);
    try {
      expect(reader.listBoxes().map((b) => b.id)).toEqual(['src']);
    } finally {
      reader.close();
    }
  });
});
