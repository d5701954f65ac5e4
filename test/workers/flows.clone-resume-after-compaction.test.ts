/**
 * A clone cut off part-way (a crash after some chunks were committed), whose new base is deep
 * enough to be compacted before the request runs again: recovery rolls back the unmade targets,
 * the compaction re-points the made boxes at its flat copy, and GC collects the base the fork
 * made. The same request again (same op) finds its base gone and must go on from the copy (it
 * reads the same bytes), not refuse for ever with "its base is gone". Found by hand: kill -9 of
 * `forkpoint clone --count 10000`, then the same command again.
 */
import { describe, expect, it } from 'vitest';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { findBox } from '../../src/db/sql/findBox.js';
import { InjectedFault } from '../../src/faults.js';
import { boxDiskPath } from '../../src/layout.js';
import { SOFT_CHAIN_DEPTH } from '../../src/workers/flows/compact.js';
import { recover } from '../../src/workers/recovery/index.js';
import { qemuCheck } from '../helpers/qemu.js';
import { guestBytes, makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();
const targets = Array.from({ length: 100 }, (_, i) => `t${i + 1}`);

describe('flows: a cut-off clone whose base was compacted away', () => {
  it('the same request again makes the rest from the compaction’s copy', async () => {
    const home = newHome();
    const prep = open(home, { compaction: false });
    makeBox(prep, 'S');
    const source = guestBytes(boxDiskPath(prep.layout, 'S'));
    for (let i = 1; i < SOFT_CHAIN_DEPTH; i++) await prep.run('clone', { op: newOp('deepen'), source: 'S', targets: [`d${i}`] });
    prep.close();

    const request = { op: newOp('clone'), source: 'S', targets };
    let refs = 0;
    const cut = open(home, {
      compaction: false,
      afterPortCall: (c) => {
        if (c.port === 'writer' && c.command === 'addRefs' && ++refs === 2) throw new InjectedFault('crash after 2 chunks');
      },
    });
    await expect(cut.run('clone', request)).rejects.toBeInstanceOf(InjectedFault);
    cut.close();
    expect((await recover(home)).problems.filter((p) => !p.repaired)).toEqual([]);

    const d = open(home);
    const forked = findBox(d.reader, 't1')!.baseId!;
    const { result: compacted } = await d.run('compact', { baseId: forked });
    expect(compacted.compacted, compacted.reason).toBe(true);
    expect(findBaseById(d.reader, forked), 'the fork’s base, collected').toBeNull();

    const { result } = await d.run('clone', request);
    expect(result.targets).toEqual(targets);
    for (const id of targets) expect(findBox(d.reader, id)?.state, id).toBe('ready');
    for (const id of ['t1', 't64', 't100']) {
      const check = qemuCheck(boxDiskPath(d.layout, id));
      expect(check.status, `${id}: ${check.output}`).toBe(0);
      expect(guestBytes(boxDiskPath(d.layout, id)), id).toBe(source);
    }
    expect((await recover(home, { repair: false })).problems).toEqual([]);
  });
});
