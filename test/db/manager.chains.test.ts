import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { MAX_CHAIN_DEPTH } from '../../src/qcow2/constants.js';
import { readBackingChain } from '../../src/qcow2/chain.js';
import { boxDiskPath } from '../../src/layout.js';
import { qemuCheck } from '../helpers/qemu.js';
import { expectBasesConsistent, expectBoxesIntact, guestBytes, makeBox, useManagers } from './support/home.js';

const { newHome, open } = useManagers();

describe('manager: chains', () => {
  it('a clone base read by a snapshot survives its boxes; removing the snapshot cascades to it', () => {
    const mgr = open(newHome());
    const sDisk = makeBox(mgr, 'S');
    const bytes = guestBytes(sDisk);
    const { base: b1 } = mgr.clone('S', ['C']);
    const b2 = mgr.createSnapshot('S', 'pinned');
    expect(b2.parentId).toBe(b1.id);
    expectBoxesIntact(mgr, { S: bytes, C: bytes });

    expect(mgr.removeBox('C')).toEqual([]);
    expect(mgr.removeBox('S')).toEqual([]); // B1: B2 reads it; B2: a snapshot
    expect(existsSync(b1.basePath)).toBe(true);
    expect(existsSync(b2.basePath)).toBe(true);
    expect(qemuCheck(b2.basePath).status).toBe(0);

    const removed = mgr.removeSnapshot('S', 'pinned');
    expect(removed).toEqual({ action: 'claimed', collected: [b2.id, b1.id] });
    expect(existsSync(b1.basePath)).toBe(false);
    expect(existsSync(b2.basePath)).toBe(false);
    expectBasesConsistent(mgr);
  });

  it('a removed snapshot still read is hidden, then collected with its last reader', () => {
    const mgr = open(newHome());
    const disk = makeBox(mgr, 'S');
    const snap = mgr.createSnapshot('S', 'v1');
    expect(mgr.removeSnapshot('S', 'v1')).toEqual({ action: 'tombstoned', collected: [] });
    expect(mgr.listSnapshots('S')).toEqual([]);
    expect(qemuCheck(disk).status).toBe(0);
    expect(mgr.removeBox('S')).toEqual([snap.id]);
    expect(existsSync(snap.basePath)).toBe(false);
  });

  it('refuses removing a snapshot other boxes read, naming them', () => {
    const mgr = open(newHome());
    makeBox(mgr, 'S');
    const snap = mgr.createSnapshot('S', 'v1');
    mgr.createBoxFromBase('fromsnap', snap.id);
    expect(() => mgr.removeSnapshot('S', 'v1')).toThrow(/read by box fromsnap/);
    expect(findBaseById(mgr.writer.connection, snap.id)!.tombstoned).toBe(false);
  });

  it(`caps the chain at ${MAX_CHAIN_DEPTH} by flattening the source, keeping its bytes`, () => {
    const mgr = open(newHome());
    const disk = makeBox(mgr, 'S');
    const bytes = guestBytes(disk);
    for (let i = 0; i < MAX_CHAIN_DEPTH + 2; i++) {
      mgr.createSnapshot('S', `s${i}`);
      expect(readBackingChain(disk).length).toBeLessThanOrEqual(MAX_CHAIN_DEPTH);
    }
    expectBoxesIntact(mgr, { S: bytes });
    const snaps = mgr.listSnapshots('S');
    expect(snaps.some((s) => s.parentId === null && s.name !== 's0')).toBe(true); // a flattened one
    // the snapshots before the flatten are still there (snapshots are never collected on their own)
    expect(snaps).toHaveLength(MAX_CHAIN_DEPTH + 2);
    for (const s of snaps) expect(qemuCheck(s.basePath).status).toBe(0);
    expectBasesConsistent(mgr);
  });

  it('clones many targets from one fork and removes them all', () => {
    const mgr = open(newHome());
    const disk = makeBox(mgr, 'S');
    const bytes = guestBytes(disk);
    const targets = ['t1', 't2', 't3'];
    const { base, boxes } = mgr.clone('S', targets);
    expect(boxes.map((b) => [b.id, b.state, b.baseId])).toEqual(targets.map((t) => [t, 'ready', base.id]));
    expectBoxesIntact(mgr, Object.fromEntries(['S', ...targets].map((b) => [b, bytes])));
    for (const t of targets) expect(mgr.removeBox(t)).toEqual([]);
    expect(mgr.removeBox('S')).toEqual([base.id]);
    expect(existsSync(boxDiskPath(mgr.layout, 'S'))).toBe(false);
    expectBasesConsistent(mgr);
  });
});
