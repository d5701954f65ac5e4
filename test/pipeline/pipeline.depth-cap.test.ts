import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { MAX_CHAIN_DEPTH } from '../../src/qcow2/constants.js';
import { readBackingChain } from '../../src/qcow2/index.js';
import { boxDiskPath } from '../../src/layout.js';
import { auditHome, gcSettled, goldenImage, useTestPipelines } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-depth-');
const startPipeline = useTestPipelines();

describe('pipeline: repeated forks of one box respect the depth cap', () => {
  it('snapshots and clones a box far past the cap; every fork is recorded, every disk stays valid and readable', async () => {
    const dir = tmp();
    const t = await startPipeline(dir);
    const golden = goldenImage(join(dir, 'golden.qcow2'), 0x3c);
    await (await t.client.createBox('src', { fromImage: golden })).result();
    const goldenOf = new Map([['src', golden]]);
    // Each fork of the same box nests one level: 2 * MAX_CHAIN_DEPTH forks go well past the cap.
    for (let i = 0; i < MAX_CHAIN_DEPTH * 2; i++) {
      if (i % 2 === 0) await (await t.client.snapshot('src', `s${i}`)).result();
      else {
        await (await t.client.clone('src', [`c${i}`])).result();
        goldenOf.set(`c${i}`, golden);
      }
      // Whatever the fork did, the source's chain stays readable and within the cap.
      expect(readBackingChain(boxDiskPath(t.layout, "src")).length, `after fork ${i}`).toBeLessThanOrEqual(MAX_CHAIN_DEPTH);
    }
    await (await t.client.gc()).result();
    await gcSettled(t.client);
    expect(await auditHome(t.layout, { goldenOf, noGarbage: true })).toEqual([]);
    const reader = openReader(t.layout.home);
    try {
      expect(reader.listBases({ kind: 'snapshot' })).toHaveLength(MAX_CHAIN_DEPTH);
    } finally {
      reader.close();
    }
  });
});
