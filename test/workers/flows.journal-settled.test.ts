/**
 * Every flow run to its end settles what it journalled: a pending entry is
 * recovery's (never pruned, read as "cut off here"), so one left behind by a
 * finished job would grow the journal for ever and tell recovery a lie.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobName } from '../../src/contract/jobs.js';
import { listPendingOps } from '../../src/db/sql/listPendingOps.js';
import { rawExt4Image } from '../helpers/qemu.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

const pending = (d: ReturnType<typeof open>) => listPendingOps(d.reader).map((e) => `${e.command} ${e.opId}`);

describe('flows: the journal after finished jobs', () => {
  const cases: [JobName, (op: string) => object][] = [
    ['clone', (op) => ({ op, source: 'S', targets: ['c1', 'c2'] })],
    ['snapshot-create', (op) => ({ op, boxId: 'S', name: 'v1' })],
    ['box-create', (op) => ({ op, boxId: 'fresh', sizeBytes: 1 << 20 })],
    ['remove-box', (op) => ({ op, boxId: 'S' })],
  ];
  it.each(cases)('%s leaves nothing pending', async (job, payload) => {
    const d = open(newHome());
    makeBox(d, 'S');
    await d.run(job, payload(newOp('j')));
    expect(pending(d)).toEqual([]);
  });

  it('a snapshot clone and a box on the rootfs cache (their own createBox, finished by addRefs) leave nothing pending', async () => {
    const home = newHome();
    const d = open(home);
    makeBox(d, 'S');
    await d.run('snapshot-create', { op: newOp('s'), boxId: 'S', name: 'v1' });
    await d.run('snapshot-clone', { op: newOp('sc'), name: 'v1', boxId: 'S', target: 'fromsnap' });
    const raw = rawExt4Image(join(home, '..', `root-${process.pid}.ext4`), 8);
    await d.run('rootfs-import', { op: newOp('ri'), key: 'debian-12', image: raw });
    await d.run('box-create', { op: newOp('rb'), boxId: 'r', rootfs: 'debian-12' });
    expect(pending(d)).toEqual([]);
  });
});
