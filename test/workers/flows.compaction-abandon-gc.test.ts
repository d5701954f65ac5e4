/**
 * A compaction journalled while its boxes still read the base, whose boxes are all removed before
 * its copy is written: the removals' GC keeps the base (the copy's creating row is a child of it),
 * so when the compaction gives up, the base must be asked about again, or it stays, read by
 * nothing, until a sweep happens to find it.
 */
import { describe, expect, it } from 'vitest';
import { planGcOf } from '../../src/db/rules/gcPlan.js';
import { listBoxes } from '../../src/db/sql/listBoxes.js';
import { listPendingOps } from '../../src/db/sql/listPendingOps.js';
import { SOFT_CHAIN_DEPTH } from '../../src/workers/flows/compact.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

describe('flows: a compaction that loses all its boxes', () => {
  it('gives up and leaves nothing read by nothing', async () => {
    const d = open(newHome(), { compaction: false });
    makeBox(d, 'S');
    for (let i = 1; i <= SOFT_CHAIN_DEPTH; i++) await d.run('clone', { op: newOp('clone'), source: 'S', targets: [`T${i}`] });
    const deep = listBoxes(d.reader).find((b) => b.id === 'S')!.baseId!;
    d.writer.apply({ type: 'beginCompact', op: newOp('compact'), baseId: deep }); // as if its job were about to flatten
    await d.run('remove-box', { op: newOp('rm'), boxIds: ['S', 'T4'] }); // every box that read the deep base
    const { result } = await d.run('compact', { baseId: deep }); // the job goes on
    expect([result.compacted, result.reason]).toEqual([false, expect.stringMatching(/no box reads it/)]);
    expect(listPendingOps(d.reader)).toEqual([]);
    expect(planGcOf(d.reader), 'bases read by nothing').toEqual([]);
  });
});
