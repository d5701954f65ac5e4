/**
 * GC keeps a base that an image of the home names as its backing file even when no record says
 * so (a disk re-pointed by hand: `qemu-img rebase -u`): invariant 1 does not rest on the records
 * being right. The gc job and a sweep leave it, saying which disk reads it; once that disk
 * reads another base again, the base is collected.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { boxDiskPath } from '../../src/layout.js';
import { qemuCheck, qemuImg } from '../helpers/qemu.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

describe('flows: gc and the images themselves', () => {
  it('keeps a base a disk names by its header though no record says so; collects it once nothing does', async () => {
    const d = open(newHome());
    makeBox(d, 'a');
    makeBox(d, 'z');
    const { baseId: readByB } = (await d.run('clone', { op: newOp('clone'), source: 'a', targets: ['b'] })).result;
    const { baseId: readByW } = (await d.run('clone', { op: newOp('clone'), source: 'z', targets: ['w'] })).result;
    const target = findBaseById(d.reader, readByB)!.basePath;
    const w = boxDiskPath(d.layout, 'w');
    qemuImg(['rebase', '-u', '-F', 'qcow2', '-b', target, w]); // by hand: w now reads a's base, its records still say z's

    // While the records keep it too, they give the reason: not "though no record says so".
    expect((await d.run('gc', { baseId: readByB })).result).toMatchObject({ collected: false, reason: 'has_refs' });
    for (const box of ['a', 'b']) await d.run('remove-box', { op: newOp('rm'), boxId: box });
    const { result } = await d.run('gc', { baseId: readByB });
    expect(result).toMatchObject({ collected: false, reason: expect.stringContaining(`${w} names it as its backing file`) });
    expect(existsSync(target)).toBe(true);
    expect(findBaseById(d.reader, readByB)?.state).toBe('ready');
    expect(qemuCheck(w).status).toBe(0);
    // A sweep (the images read once for all its bases) keeps it too.
    const swept = (await d.run('sweep', {})).result;
    expect(swept.bases).toContainEqual(expect.objectContaining({ baseId: readByB, collected: false, reason: expect.stringContaining(w) }));
    expect(existsSync(target)).toBe(true);

    qemuImg(['rebase', '-u', '-F', 'qcow2', '-b', findBaseById(d.reader, readByW)!.basePath, w]); // put back
    expect((await d.run('gc', { baseId: readByB })).result).toMatchObject({ collected: true });
    expect(existsSync(target)).toBe(false);
  });
});
