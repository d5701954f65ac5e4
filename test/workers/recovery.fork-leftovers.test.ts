/**
 * A fork cut off while copying the disk across filesystems (EXDEV) leaves a
 * partial file in bases/ and the source untouched: recovery deletes the
 * partial copy and aborts the fork, and the box reads what it read before.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recover } from '../../src/workers/recovery/index.js';
import { boxDiskPath } from '../../src/layout.js';
import { expectBasesConsistent, expectBoxesIntact, guestBytes, makeBox, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

describe('recovery: a fork cut off mid-copy', () => {
  it('deletes the partial base, aborts the fork and leaves the box as it was', async () => {
    const home = newHome();
    const d = open(home);
    makeBox(d, 'src');
    const before = { src: guestBytes(boxDiskPath(d.layout, 'src')) };
    const begun = d.writer.apply({ type: 'beginFork', op: 'cut-copy', sourceBox: 'src', kind: 'clone_base', mode: 'move' });
    writeFileSync(begun.basePath, Buffer.from('QFI\xfb partial', 'latin1')); // what a cut-off copy leaves
    d.close(); // recover opens the home's writer itself

    const report = await recover(home, { repair: true, fsync: false });
    expect(report.problems.map((p) => `${p.action}:${p.repaired}`)).toEqual(['delete the partial base and abort:true']);
    expect(existsSync(begun.basePath)).toBe(false);

    const again = open(home);
    expectBoxesIntact(again.layout, before);
    expectBasesConsistent(again.layout, again.reader);
    again.close();
    expect((await recover(home, { repair: false })).problems).toEqual([]);
  });
});
