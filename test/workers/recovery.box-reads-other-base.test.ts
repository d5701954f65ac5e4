/**
 * `check` reports a ready box whose disk reads another file than its record says (a disk
 * re-pointed by hand: `qemu-img rebase -u`), naming both, as needing attention: GC keeps what a
 * disk reads, but forks and removals go by the record. A home whose disks agree with their
 * records, compactions included, reports nothing of the kind.
 */
import { describe, expect, it } from 'vitest';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { boxDiskPath } from '../../src/layout.js';
import { recover } from '../../src/workers/recovery/index.js';
import { qemuImg } from '../helpers/qemu.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

describe('recovery: a box disk against its record', () => {
  it('reports a disk that reads another base than its record says; nothing when they agree', async () => {
    const home = newHome();
    const d = open(home);
    makeBox(d, 'a');
    makeBox(d, 'z');
    const { baseId: aBase } = (await d.run('clone', { op: newOp('clone'), source: 'a', targets: ['b'] })).result;
    const { baseId: zBase } = (await d.run('clone', { op: newOp('clone'), source: 'z', targets: ['w'] })).result;
    // Repeated clones of one box compact its chain in the background: agreeing disks, copies included.
    for (let i = 0; i < 4; i++) await d.run('clone', { op: newOp('clone'), source: 'a', targets: [`a${i}`] });
    const compactions = d.writer.connection.prepare(`SELECT count(*) AS n FROM op WHERE command = 'beginCompact' AND state = 'done'`).get() as { n: number };
    expect(compactions.n, 'no compaction ran: the agreeing case is not the one meant').toBeGreaterThan(0);
    const aPath = findBaseById(d.reader, aBase)!.basePath;
    const zPath = findBaseById(d.reader, zBase)!.basePath;
    d.close();
    expect((await recover(home, { repair: false })).problems.filter((p) => p.subject === 'box')).toEqual([]);

    const w = boxDiskPath(open(home).layout, 'w');
    qemuImg(['rebase', '-u', '-F', 'qcow2', '-b', aPath, w]);
    const report = await recover(home, { repair: false });
    expect(report.problems.filter((p) => p.subject === 'box')).toEqual([
      {
        subject: 'box',
        id: 'w',
        path: w,
        problem: `its disk reads ${aPath}, but its record says base ${zBase} (${zPath}): changed outside forkpoint? GC keeps what a disk reads; forks and removals go by the record`,
        action: 'none',
        repaired: false,
      },
    ]);
    expect(report.summary.needsAttention).toBe(1);
  });
});
