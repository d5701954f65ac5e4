import { describe, expect, it } from 'vitest';
import { isForkpointError } from '../../src/errors.js';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { listBases } from '../../src/db/sql/listBases.js';
import { forkRecords, nextOp, readyBox, useWriters, removeBoxRecords } from './support/writer.js';

const newWriter = useWriters();

describe('writer: removeSnapshot', () => {
  it('tombstones a snapshot its source box still reads; the name becomes free; GC collects it once unread', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const snap = forkRecords(w, 'src', { kind: 'snapshot', name: 'v1' });
    expect(w.apply({ type: 'removeSnapshot', op: nextOp(), baseId: snap, force: false })).toEqual({
      baseId: snap,
      action: 'tombstoned',
    });
    expect(listBases(w.connection, { kind: 'snapshot' })).toEqual([]);
    expect(listBases(w.connection, { kind: 'snapshot', includeTombstoned: true }).map((b) => b.id)).toEqual([snap]);
    forkRecords(w, 'src', { kind: 'snapshot', name: 'v1', parentId: snap }); // name reusable
    expect(w.apply({ type: 'claimGc', baseId: snap })).toMatchObject({ claimed: false, reason: 'has_refs' });
  });

  it('refuses while other boxes or child bases read it, naming them, unless forced', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const snap = forkRecords(w, 'src', { kind: 'snapshot', name: 'v1' });
    const clone = forkRecords(w, 'src', { targets: ['c1'], parentId: snap });
    let err: unknown;
    try {
      w.apply({ type: 'removeSnapshot', op: nextOp(), baseId: snap, force: false });
    } catch (e) {
      err = e;
    }
    expect(isForkpointError(err, 'E_HAS_DEPENDENTS')).toBe(true);
    expect((err as Error).message).toContain(`base ${clone}`);
    expect(findBaseById(w.connection, snap)!.tombstoned).toBe(false);
    expect(w.apply({ type: 'removeSnapshot', op: nextOp(), baseId: snap, force: true }).action).toBe('tombstoned');
  });

  it('claims a snapshot nothing reads', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const snap = forkRecords(w, 'src', { kind: 'snapshot', name: 'v1' });
    removeBoxRecords(w, 'src');
    const out = w.apply({ type: 'removeSnapshot', op: nextOp(), baseId: snap, force: false });
    expect(out).toMatchObject({ action: 'claimed', claim: { claimed: true, baseId: snap } });
    expect(findBaseById(w.connection, snap)!.state).toBe('deleting');
  });
});

describe('writer: rootfs', () => {
  it('registers one entry per key and refuses removal while a box reads it', () => {
    const w = newWriter();
    const disk = { basePath: `${w.layout.basesDir}/Alpine01.ext4`, containerDiskBytes: 1 << 30, sizeBytes: 1 << 20 };
    const rec = w.apply({ type: 'registerRootfs', op: nextOp(), key: 'alpine', disk });
    expect(rec).toMatchObject({ id: 'Alpine01', kind: 'rootfs', sourceBoxId: '__global__', name: 'alpine', state: 'ready' });
    expect(() =>
      w.apply({ type: 'registerRootfs', op: nextOp(), key: 'alpine', disk: { ...disk, basePath: `${w.layout.basesDir}/Alpine02.ext4` } }),
    ).toThrow(/already registered as base Alpine01/);
    readyBox(w, 'vm', 'Alpine01');
    expect(() => w.apply({ type: 'removeRootfs', op: nextOp(), baseId: 'Alpine01' })).toThrow(/read by box vm/);
    removeBoxRecords(w, 'vm');
    expect(w.apply({ type: 'removeRootfs', op: nextOp(), baseId: 'Alpine01' })).toMatchObject({ claimed: true });
  });
});
