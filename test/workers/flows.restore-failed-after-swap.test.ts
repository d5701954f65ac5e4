/**
 * A restore whose file step fails after its rename (the folder's fsync, say) has already swapped
 * the box's disk for a child of the snapshot. Aborting it then left records saying the box reads
 * its old chain and holds no ref on the snapshot its disk reads: removing the snapshot collected
 * it under the box (invariant 1). Whatever the failed job reports, the box's records must match
 * what its disk reads, and the snapshot must outlive its reader.
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { findBox } from '../../src/db/sql/findBox.js';
import { findSnapshot } from '../../src/db/sql/findSnapshot.js';
import { refsOfBox } from '../../src/db/sql/refsOfBox.js';
import { armFault, disarmFaults } from '../../src/faults.js';
import { boxDiskPath } from '../../src/layout.js';
import { readBackingChain } from '../../src/qcow2/chain.js';
import { SOFT_CHAIN_DEPTH } from '../../src/workers/flows/compact.js';
import { qemuCheck } from '../helpers/qemu.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();
afterEach(() => disarmFaults());

describe('flows: a restore that fails after its swap', () => {
  it('leaves records that match the disk, and the snapshot is kept while the box reads it', async () => {
    const d = open(newHome());
    makeBox(d, 'S', 0x11);
    await d.run('snapshot-create', { op: newOp('snap'), boxId: 'S', name: 'v1' });
    const v1 = findSnapshot(d.reader, 'S', 'v1')!;
    // Deep enough for a compaction: S then reads a standalone copy and refs nothing of v1's line.
    for (let i = 1; i < SOFT_CHAIN_DEPTH; i++) await d.run('clone', { op: newOp('clone'), source: 'S', targets: [`T${i}`] });
    for (let i = 1; i < SOFT_CHAIN_DEPTH; i++) await d.run('remove-box', { op: newOp('rm'), boxId: `T${i}` });
    expect(refsOfBox(d.reader, 'S'), 'S reads a compacted copy').not.toContain(v1.id);
    armFault('restore:after-swap', 'fail');
    await expect(d.run('snapshot-restore', { op: newOp('restore'), boxId: 'S', name: 'v1' })).rejects.toThrow(/injected failure/);
    disarmFaults();
    const disk = boxDiskPath(d.layout, 'S');
    if (readBackingChain(disk)[0]?.path === v1.basePath) {
      // The disk was swapped: the records must say so.
      expect(findBox(d.reader, 'S')?.baseId, 'S reads v1').toBe(v1.id);
    }
    await d.run('snapshot-remove', { op: newOp('snap-rm'), boxId: 'S', name: 'v1' });
    expect(existsSync(v1.basePath) || readBackingChain(disk)[0]?.path !== v1.basePath, 'the snapshot S reads is kept').toBe(true);
    expect(qemuCheck(disk).status, 'S opens clean').toBe(0);
  });
});
