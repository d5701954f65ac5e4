import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { boxDiskPath } from '../../src/layout.js';
import { qemuCheck, qemuCompare, qemuCreate, qemuWrite } from '../helpers/qemu.js';
import { gcSettled, useTestPipelines, type TestPipeline } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-pipe-');
const startPipeline = useTestPipelines();

/** A source image with data in it, made by qemu-img, turned into box `src` by the pipeline. */
async function sourceBox(t: TestPipeline, dir: string): Promise<string> {
  const image = join(dir, 'golden.qcow2');
  qemuCreate(image, { size: '16M' });
  qemuWrite(image, 0xab, 0, 65536);
  qemuWrite(image, 0x5c, 5 * 1024 * 1024, 3 * 65536);
  await (await t.client.createBox('src', { fromImage: image })).result();
  return image;
}

describe('pipeline: clone through the queues, then GC', () => {
  it('clones a box 50 times; every child is valid and reads the source bytes; removing everything collects every clone base', async () => {
    const dir = tmp();
    const t = await startPipeline(dir);
    const golden = await sourceBox(t, dir);
    const targets = Array.from({ length: 50 }, (_, i) => `c${i}`);
    const progress: number[] = [];
    const handle = await t.client.clone('src', targets);
    handle.onProgress((p) => progress.push(p.done));
    const result = await handle.result();
    expect(result.targets).toEqual(targets);

    for (const id of ['src', ...targets]) {
      const disk = boxDiskPath(t.layout, id);
      expect(qemuCheck(disk).status, `${id}: ${qemuCheck(disk).output}`).toBe(0);
      expect(qemuCompare(golden, disk).status, id).toBe(0);
    }
    expect(progress.length).toBeGreaterThan(0);

    // A snapshot of the source on top of the clone base: never collected automatically.
    const snap = await (await t.client.snapshot('src', 'keep-me')).result();

    const removals = await Promise.all([...targets, 'src'].map((id) => t.client.removeBox(id)));
    await Promise.all(removals.map((h) => h.result()));
    await gcSettled(t.client);

    const reader = openReader(t.layout.home);
    try {
      // The snapshot was forked on top of the clone base, so it reads it: that one clone base stays.
      const snapRecord = reader.findBase(snap.baseId)!;
      expect(snapRecord.parentId).toBe(result.baseId);
      expect(reader.listBases({ kind: 'clone_base', includeTombstoned: true }).map((b) => b.id)).toEqual([result.baseId]);
      expect(reader.listBoxes()).toEqual([]);
      expect(readdirSync(t.layout.basesDir).sort()).toEqual([`${result.baseId}.qcow2`, `${snap.baseId}.qcow2`].sort());

      // Removing the snapshot lets the cascade take the clone base under it too.
      await (await t.client.removeSnapshot('keep-me', { boxId: 'src' })).result();
      await gcSettled(t.client);
      expect(reader.listBases({ includeTombstoned: true })).toEqual([]);
      expect(readdirSync(t.layout.basesDir)).toEqual([]);
    } finally {
      reader.close();
    }
    expect(readdirSync(t.layout.boxesDir)).toEqual([]);
    expect(existsSync(boxDiskPath(t.layout, 'c0'))).toBe(false);
  });
});
