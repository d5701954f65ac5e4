/**
 * GC keeps a base that an image of the home names as its backing file even when no record says
 * so (a disk re-pointed by hand: `qemu-img rebase -u`): invariant 1 does not rest on the records
 * being right. The gc job and a sweep leave it, saying which disk reads it; once that disk
 * reads another base again, the base is collected. An explicit removal (snapshot rm --force,
 * rootfs rm) of such a base is refused, naming the disk, and changes nothing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { boxDiskPath } from '../../src/layout.js';
import { qemuCheck, qemuImg, rawExt4Image } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();
const tmp = useTmpDirs('fp-gc-readers-');

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

  type Home = ReturnType<typeof open>;
  const removals: { what: string; make: (d: Home) => Promise<{ baseId: string; remove: () => Promise<unknown> }> }[] = [
    {
      what: 'snapshot rm --force',
      make: async (d) => {
        makeBox(d, 'a');
        const { baseId } = (await d.run('snapshot-create', { op: newOp('snap'), boxId: 'a', name: 's1' })).result;
        await d.run('remove-box', { op: newOp('rm'), boxId: 'a' }); // the records: nothing reads s1 now
        return { baseId, remove: () => d.run('snapshot-remove', { op: newOp('snap-rm'), boxId: 'a', name: 's1', force: true }) };
      },
    },
    {
      what: 'rootfs rm',
      make: async (d) => {
        const image = join(tmp(), 'root.ext4');
        rawExt4Image(image);
        const { baseId } = (await d.run('rootfs-import', { op: newOp('rootfs'), key: 'r1', image })).result;
        return { baseId, remove: () => d.run('rootfs-remove', { op: newOp('rootfs-rm'), key: 'r1' }) };
      },
    },
  ];
  it.each(removals)('$what of a base a disk names though no record says so is refused, naming the disk, changing nothing', async ({ make }) => {
    const d = open(newHome());
    makeBox(d, 'w');
    const { baseId, remove } = await make(d);
    const target = findBaseById(d.reader, baseId)!.basePath;
    const w = boxDiskPath(d.layout, 'w');
    qemuImg(['rebase', '-u', '-F', target.endsWith('.qcow2') ? 'qcow2' : 'raw', '-b', target, w]); // by hand: w reads it, no record says so
    const err = await remove().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_HAS_DEPENDENTS', message: expect.stringContaining(`${w} names it as its backing file`), details: { baseId, readers: [w] } });
    expect(existsSync(target)).toBe(true);
    expect(findBaseById(d.reader, baseId)?.state).toBe('ready');
    expect(qemuCheck(w).status).toBe(0);
  });
});
