import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { findBox } from '../../src/db/sql/findBox.js';
import { listBases } from '../../src/db/sql/listBases.js';
import type { BaseDiskRecord } from '../../src/db/types.js';
import { MAX_CHAIN_DEPTH } from '../../src/qcow2/constants.js';
import { readBackingChain } from '../../src/qcow2/chain.js';
import { boxDiskPath } from '../../src/layout.js';
import type { InProcessDriver } from '../../src/workers/in-process.js';
import { qemuCheck } from '../helpers/qemu.js';
import { expectBasesConsistent, expectBoxesIntact, guestBytes, makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

const baseOf = (d: InProcessDriver, id: string): BaseDiskRecord => findBaseById(d.reader, id)!;
const clone = async (d: InProcessDriver, source: string, targets: string[]) => baseOf(d, (await d.run('clone', { op: newOp('clone'), source, targets })).result.baseId);
const snapshot = async (d: InProcessDriver, boxId: string, name: string) =>
  baseOf(d, (await d.run('snapshot-create', { op: newOp('snap'), boxId, name })).result.baseId);
/** remove-box; the bases its GC requests collected. */
const removeBox = async (d: InProcessDriver, boxId: string) => (await d.run('remove-box', { op: newOp('rm'), boxId })).collected;
const listSnapshots = (d: InProcessDriver, boxId: string) => listBases(d.reader, { kind: 'snapshot', sourceBoxId: boxId });

describe('flows: chains', () => {
  it('a clone base read by a snapshot survives its boxes; removing the snapshot cascades to it', async () => {
    const d = open(newHome());
    const sDisk = makeBox(d, 'S');
    const bytes = guestBytes(sDisk);
    const b1 = await clone(d, 'S', ['C']);
    const b2 = await snapshot(d, 'S', 'pinned');
    expect(b2.parentId).toBe(b1.id);
    expectBoxesIntact(d.layout, { S: bytes, C: bytes });

    expect(await removeBox(d, 'C')).toEqual([]);
    expect(await removeBox(d, 'S')).toEqual([]); // B1: B2 reads it; B2: a snapshot
    expect(existsSync(b1.basePath)).toBe(true);
    expect(existsSync(b2.basePath)).toBe(true);
    expect(qemuCheck(b2.basePath).status).toBe(0);

    const removed = await d.run('snapshot-remove', { op: newOp('unsnap'), boxId: 'S', name: 'pinned' });
    // The snapshot itself goes in the snapshot-remove flow; its parent through the GC request it makes.
    expect(removed.result).toMatchObject({ baseId: b2.id, action: 'claimed' });
    expect(removed.collected).toEqual([b1.id]);
    expect(existsSync(b1.basePath)).toBe(false);
    expect(existsSync(b2.basePath)).toBe(false);
    expectBasesConsistent(d.layout, d.reader);
  });

  it('a removed snapshot still read is hidden, then collected with its last reader', async () => {
    const d = open(newHome());
    const disk = makeBox(d, 'S');
    const snap = await snapshot(d, 'S', 'v1');
    const removed = await d.run('snapshot-remove', { op: newOp('unsnap'), boxId: 'S', name: 'v1' });
    expect(removed.result.action).toBe('tombstoned');
    expect(removed.collected).toEqual([]);
    expect(listSnapshots(d, 'S')).toEqual([]);
    expect(qemuCheck(disk).status).toBe(0);
    expect(await removeBox(d, 'S')).toEqual([snap.id]);
    expect(existsSync(snap.basePath)).toBe(false);
  });

  it('refuses removing a snapshot other boxes read, naming them', async () => {
    const d = open(newHome());
    makeBox(d, 'S');
    const snap = await snapshot(d, 'S', 'v1');
    await d.run('snapshot-clone', { op: newOp('sclone'), name: 'v1', boxId: 'S', target: 'fromsnap' });
    await expect(d.run('snapshot-remove', { op: newOp('unsnap'), boxId: 'S', name: 'v1' })).rejects.toThrow(/read by box fromsnap/);
    expect(findBaseById(d.reader, snap.id)!.tombstoned).toBe(false);
  });

  it(`caps the chain at ${MAX_CHAIN_DEPTH} by flattening the source, keeping its bytes`, async () => {
    const d = open(newHome(), { compaction: false }); // the cap's inline fallback (flows.compaction covers the background job)
    const disk = makeBox(d, 'S');
    const bytes = guestBytes(disk);
    for (let i = 0; i < MAX_CHAIN_DEPTH + 2; i++) {
      await snapshot(d, 'S', `s${i}`);
      expect(readBackingChain(disk).length).toBeLessThanOrEqual(MAX_CHAIN_DEPTH);
    }
    expectBoxesIntact(d.layout, { S: bytes });
    const snaps = listSnapshots(d, 'S');
    expect(snaps.some((s) => s.parentId === null && s.name !== 's0')).toBe(true); // a flattened one
    // the snapshots before the flatten are still there (snapshots are never collected on their own)
    expect(snaps).toHaveLength(MAX_CHAIN_DEPTH + 2);
    for (const s of snaps) expect(qemuCheck(s.basePath).status).toBe(0);
    expectBasesConsistent(d.layout, d.reader);
  });

  it('clones many targets from one fork and removes them all', async () => {
    const d = open(newHome());
    const disk = makeBox(d, 'S');
    const bytes = guestBytes(disk);
    const targets = ['t1', 't2', 't3'];
    const base = await clone(d, 'S', targets);
    expect(targets.map((t) => findBox(d.reader, t)).map((b) => [b?.id, b?.state, b?.baseId])).toEqual(targets.map((t) => [t, 'ready', base.id]));
    expectBoxesIntact(d.layout, Object.fromEntries(['S', ...targets].map((b) => [b, bytes])));
    for (const t of targets) expect(await removeBox(d, t)).toEqual([]);
    expect(await removeBox(d, 'S')).toEqual([base.id]);
    expect(existsSync(boxDiskPath(d.layout, 'S'))).toBe(false);
    expectBasesConsistent(d.layout, d.reader);
  });
});
