/**
 * A fork cut off while copying the disk across filesystems (EXDEV) leaves a
 * partial file in bases/ and the source untouched: recovery deletes the
 * partial copy and aborts the fork, and the box reads what it read before.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recover } from '../../src/db/recovery/index.js';
import { boxDiskPath } from '../../src/layout.js';
import { expectBasesConsistent, expectBoxesIntact, guestBytes, makeBox, useManagers } from './support/home.js';

const { newHome, open } = useManagers();

describe('recovery: a fork cut off mid-copy', () => {
  it('deletes the partial base, aborts the fork and leaves the box as it was', () => {
    const home = newHome();
    const mgr = open(home);
    makeBox(mgr, 'src');
    const before = { src: guestBytes(boxDiskPath(mgr.layout, 'src')) };
    const begun = mgr.writer.apply({ type: 'beginFork', op: 'cut-copy', sourceBox: 'src', kind: 'clone_base', mode: 'move' });
    writeFileSync(begun.basePath, Buffer.from('QFI\xfb partial', 'latin1')); // what a cut-off copy leaves
    mgr.close();

    const report = recover(home, { repair: true });
    expect(report.problems.map((p) => `${p.action}:${p.repaired}`)).toEqual(['delete the partial base and abort:true']);
    expect(existsSync(begun.basePath)).toBe(false);

    const again = open(home);
    expectBoxesIntact(again, before);
    expectBasesConsistent(again);
    expect(recover(home, { repair: false }).problems).toEqual([]);
  });
});
