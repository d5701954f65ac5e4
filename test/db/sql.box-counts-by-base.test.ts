/** boxCountsByBase: the GC plan's box readers counted in SQL agree with counting the records. */
import { describe, expect, it } from 'vitest';
import { countBoxReaders, planGc, planGcOf } from '../../src/db/rules/gcPlan.js';
import { boxCountsByBase } from '../../src/db/sql/boxCountsByBase.js';
import { listBases } from '../../src/db/sql/listBases.js';
import { listBoxes } from '../../src/db/sql/listBoxes.js';
import { refCountsByBase } from '../../src/db/sql/refCountsByBase.js';
import { makeBox, newOp, useHomes } from './support/home.js';

const { newHome, open } = useHomes();

describe('boxCountsByBase', () => {
  it('counts the boxes reading each base, as countBoxReaders does over the records', async () => {
    const d = open(newHome());
    makeBox(d, 'S');
    makeBox(d, 'alone');
    const first = (await d.run('clone', { op: newOp('c1'), source: 'S', targets: ['C1', 'C2'] })).result.baseId;
    const second = (await d.run('clone', { op: newOp('c2'), source: 'C1', targets: ['D1'] })).result.baseId;
    await d.run('remove-box', { op: newOp('rm'), boxId: 'D1' });

    const counts = boxCountsByBase(d.reader);
    expect(counts).toEqual(countBoxReaders(listBoxes(d.reader)));
    expect(counts.get(first)).toBe(2); // S and C2 (C1's disk now reads the second base)
    expect(counts.get(second)).toBe(1); // C1
    expect(counts.has('alone')).toBe(false);
    expect(planGcOf(d.reader)).toEqual(planGc(listBases(d.reader, { includeTombstoned: true }), countBoxReaders(listBoxes(d.reader)), refCountsByBase(d.reader)));
    d.close();
  });
});
