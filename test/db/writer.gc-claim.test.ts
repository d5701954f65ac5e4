import { describe, expect, it } from 'vitest';
import { isForkpointError } from '../../src/errors.js';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { forkRecords, nextOp, readyBox, useWriters, removeBoxRecords } from './support/writer.js';

const newWriter = useWriters();

describe('writer: claimGc / finishGc', () => {
  it('claims only an unread ready clone base, and finishGc names its parent', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const b1 = forkRecords(w, 'src', { targets: ['c1'] });
    const b2 = forkRecords(w, 'src', { parentId: b1 });
    expect(w.apply({ type: 'claimGc', baseId: b2 })).toEqual({ claimed: false, baseId: b2, reason: 'has_refs' });
    removeBoxRecords(w, 'src');
    expect(w.apply({ type: 'claimGc', baseId: b1 })).toEqual({ claimed: false, baseId: b1, reason: 'has_refs' });
    removeBoxRecords(w, 'c1');
    // b1 is unreferenced now but b2 reads it through its backing chain
    expect(w.apply({ type: 'claimGc', baseId: b1 })).toEqual({ claimed: false, baseId: b1, reason: 'has_children' });
    const claim = w.apply({ type: 'claimGc', baseId: b2 });
    expect(claim).toMatchObject({ claimed: true, baseId: b2, parentId: b1, path: `${w.layout.basesDir}/${b2}.qcow2` });
    expect(findBaseById(w.connection, b2)!.state).toBe('deleting');
    // a retried GC job gets the same claim again
    expect(w.apply({ type: 'claimGc', baseId: b2 })).toEqual(claim);
    expect(w.apply({ type: 'finishGc', baseId: b2 })).toEqual({ baseId: b2, parentId: b1 });
    expect(w.apply({ type: 'finishGc', baseId: b2 })).toEqual({ baseId: b2, parentId: null });
    expect(w.apply({ type: 'claimGc', baseId: b1 })).toMatchObject({ claimed: true, parentId: null });
    expect(w.apply({ type: 'claimGc', baseId: b1 })).toMatchObject({ claimed: true });
    w.apply({ type: 'finishGc', baseId: b1 });
    expect(w.apply({ type: 'claimGc', baseId: b1 })).toEqual({ claimed: false, baseId: b1, reason: 'gone' });
  });

  it('keeps snapshots, rootfs and creating bases', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const snap = forkRecords(w, 'src', { kind: 'snapshot', name: 's' });
    removeBoxRecords(w, 'src');
    expect(w.apply({ type: 'claimGc', baseId: snap })).toMatchObject({ claimed: false, reason: 'snapshot' });
    const rootfs = w.apply({
      type: 'registerRootfs',
      op: nextOp(),
      key: 'alpine-3.20',
      disk: { basePath: `${w.layout.basesDir}/Rootfs01.ext4`, containerDiskBytes: 1, sizeBytes: 1 },
    });
    expect(w.apply({ type: 'claimGc', baseId: rootfs.id })).toMatchObject({ claimed: false, reason: 'rootfs' });
    readyBox(w, 'b');
    const begun = w.apply({ type: 'beginFork', op: nextOp(), sourceBox: 'b', kind: 'clone_base' });
    expect(w.apply({ type: 'claimGc', baseId: begun.baseId })).toMatchObject({ claimed: false, reason: 'not_ready' });
  });

  it('a clone target registered but not yet reffed protects its base', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const op = nextOp();
    const begun = w.apply({ type: 'beginFork', op, sourceBox: 'src', kind: 'clone_base', targets: ['t'] });
    w.apply({ type: 'commitFork', op, disk: { basePath: begun.basePath, containerDiskBytes: 1, sizeBytes: 1 }, parentId: null });
    removeBoxRecords(w, 'src');
    // t's child is being written right now: its row points at the base, so the base stays
    expect(w.apply({ type: 'claimGc', baseId: begun.baseId })).toMatchObject({ claimed: false, reason: 'has_refs' });
  });

  it('refuses finishGc on a base that was never claimed', () => {
    const w = newWriter();
    readyBox(w, 'src');
    const b = forkRecords(w, 'src');
    expect(() => w.apply({ type: 'finishGc', baseId: b })).toThrow(/was not claimed/);
  });
});

describe('writer: claimGc vs addRefs, both orders', () => {
  function setup() {
    const w = newWriter();
    readyBox(w, 'src');
    const base = forkRecords(w, 'src');
    removeBoxRecords(w, 'src'); // the base is garbage now
    return { w, base };
  }

  it('claim first: the later addRefs is refused with E_BASE_DELETING, and nothing reads the base', () => {
    const { w, base } = setup();
    expect(w.apply({ type: 'claimGc', baseId: base })).toMatchObject({ claimed: true });
    let err: unknown;
    try {
      w.apply({ type: 'addRefs', op: nextOp(), baseId: base, boxIds: ['late'] });
    } catch (e) {
      err = e;
    }
    expect(isForkpointError(err, 'E_BASE_DELETING')).toBe(true);
    expect((err as Error).message).toContain(base);
    expect(w.connection.prepare('SELECT count(*) FROM base_disk_ref WHERE base_disk_id = ?').pluck().get(base)).toBe(0);
  });

  it('addRefs first: the later claim keeps the base', () => {
    const { w, base } = setup();
    w.apply({ type: 'addRefs', op: nextOp(), baseId: base, boxIds: ['early'] });
    expect(w.apply({ type: 'claimGc', baseId: base })).toMatchObject({ claimed: false, reason: 'has_refs' });
    expect(findBaseById(w.connection, base)!.state).toBe('ready');
  });

  it('in one batch, in either order, the base is never both claimed and referenced', () => {
    for (const claimFirst of [true, false]) {
      const { w, base } = setup();
      const claim = { type: 'claimGc', baseId: base } as const;
      const add = { type: 'addRefs', op: nextOp(), baseId: base, boxIds: ['x'] } as const;
      const out = w.applyBatch(claimFirst ? [claim, add] : [add, claim]);
      const claimOut = out[claimFirst ? 0 : 1]!;
      const addOut = out[claimFirst ? 1 : 0]!;
      const claimed = claimOut.ok && (claimOut.value as { claimed: boolean }).claimed;
      expect(claimed).toBe(claimFirst);
      expect(addOut.ok).toBe(!claimFirst);
      if (!addOut.ok) expect(addOut.error.code).toBe('E_BASE_DELETING');
    }
  });
});
