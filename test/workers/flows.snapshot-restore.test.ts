/**
 * snapshot-restore through the in-process driver: the box's disk becomes a
 * fresh child of the snapshot (qemu-img check clean, compare equal to the
 * snapshot base), what it read before is released and collected, and bad
 * requests change nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { findBox } from '../../src/db/sql/findBox.js';
import { findSnapshot } from '../../src/db/sql/findSnapshot.js';
import { listBases } from '../../src/db/sql/listBases.js';
import { refsOfBox } from '../../src/db/sql/refsOfBox.js';
import { ErrorCodes, ForkpointError } from '../../src/errors.js';
import { boxDiskPath } from '../../src/layout.js';
import { readBackingChain } from '../../src/qcow2/chain.js';
import type { InProcessDriver } from '../../src/workers/in-process.js';
import { qemuCheck, qemuCompare, qemuWrite, sha256 } from '../helpers/qemu.js';
import { expectBasesConsistent, expectBoxesIntact, guestBytes, makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();

const restore = (d: InProcessDriver, boxId: string, name: string, o: { op?: string; checkInUse?: boolean } = {}) =>
  d.run('snapshot-restore', { op: o.op ?? newOp('restore'), boxId, name, ...(o.checkInUse ? { checkInUse: true } : {}) });

/** Records and files a refused request must leave as they were. */
function state(d: InProcessDriver, boxes: string[]) {
  return {
    bases: listBases(d.reader, { includeTombstoned: true }),
    boxes: boxes.map((b) => [findBox(d.reader, b), refsOfBox(d.reader, b)]),
    files: readdirSync(d.layout.basesDir).sort(),
    disks: boxes.map((b) => readdirSync(dirname(boxDiskPath(d.layout, b))).sort()),
  };
}

async function refused(d: InProcessDriver, boxes: string[], run: () => Promise<unknown>, code: string) {
  const before = state(d, boxes);
  // The disk files themselves, byte for byte: a refusal must not even rewrite them.
  const files = () => boxes.map((b) => sha256(boxDiskPath(d.layout, b)));
  const bytes = files();
  const err = await run().then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ForkpointError);
  expect((err as ForkpointError).code).toBe(code);
  expect(state(d, boxes)).toEqual(before);
  expect(files()).toEqual(bytes);
}

describe('flows: snapshot restore', () => {
  it('makes the disk a fresh child of the snapshot; the clone base only the box read is collected', async () => {
    const d = open(newHome());
    const disk = makeBox(d, 'S', 0x11);
    const snapBytes = guestBytes(disk);
    const snap = findBaseById(d.reader, (await d.run('snapshot-create', { op: newOp(), boxId: 'S', name: 'v1' })).result.baseId)!;
    qemuWrite(disk, 0x22, 0, 65536);
    const cloned = await d.run('clone', { op: newOp(), source: 'S', targets: ['C'] });
    const cBytes = guestBytes(boxDiskPath(d.layout, 'C'));
    expect(cBytes).not.toBe(snapBytes);
    qemuWrite(disk, 0x33, 1 << 20, 65536); // written after the clone: only S has it

    const r = await restore(d, 'S', 'v1');
    expect(r.result).toMatchObject({ boxId: 'S', name: 'v1', baseId: snap.id });
    expect(qemuCheck(disk).status, qemuCheck(disk).output).toBe(0);
    expect(qemuCompare(snap.basePath, disk).status, 'reads exactly like the snapshot').toBe(0);
    expect(readBackingChain(disk).map((l) => l.path)).toEqual([snap.basePath]); // the backing files, nearest first
    expect(findBox(d.reader, 'S')?.baseId).toBe(snap.id);
    expect(refsOfBox(d.reader, 'S')).toEqual([snap.id]);
    // The clone base is released by S but C still reads it: kept. C is untouched.
    expect(r.result.released).toContain(cloned.result.baseId);
    expect(r.collected).toEqual([]);
    expectBoxesIntact(d.layout, { C: cBytes });
    expect(readdirSync(dirname(disk))).toEqual(['container.qcow2']); // no staged file left

    // Once C goes, the clone base nothing reads goes with it; the snapshot stays.
    expect((await d.run('remove-box', { op: newOp(), boxId: 'C' })).collected).toEqual([cloned.result.baseId]);
    expect(listBases(d.reader).map((b) => b.id)).toEqual([snap.id]);
    expectBasesConsistent(d.layout, d.reader);
  });

  it('a retry of a finished restore under the same op does not throw away what the box wrote since', async () => {
    const d = open(newHome());
    const disk = makeBox(d, 'S', 0x11);
    await d.run('snapshot-create', { op: newOp(), boxId: 'S', name: 'v1' });
    qemuWrite(disk, 0x22, 0, 65536);
    const op = newOp('restore');
    await restore(d, 'S', 'v1', { op });
    qemuWrite(disk, 0x44, 0, 65536); // the guest writes after the restore
    const written = guestBytes(disk);
    const again = await restore(d, 'S', 'v1', { op });
    expect(again.result.boxId).toBe('S');
    expect(guestBytes(disk)).toBe(written);
  });

  it('restores a snapshot deeper in the chain, and again after later snapshots', async () => {
    const d = open(newHome());
    const disk = makeBox(d, 'S', 0x11);
    const v1 = guestBytes(disk);
    await d.run('snapshot-create', { op: newOp(), boxId: 'S', name: 'v1' });
    qemuWrite(disk, 0x22, 0, 65536);
    const v2 = guestBytes(disk);
    await d.run('snapshot-create', { op: newOp(), boxId: 'S', name: 'v2' });
    qemuWrite(disk, 0x33, 0, 65536);
    await restore(d, 'S', 'v1');
    expect(guestBytes(disk)).toBe(v1);
    await restore(d, 'S', 'v2');
    expect(guestBytes(disk)).toBe(v2);
    expect(qemuCompare(findSnapshot(d.reader, 'S', 'v2')!.basePath, disk).status).toBe(0);
    expect(refsOfBox(d.reader, 'S')).toEqual([findSnapshot(d.reader, 'S', 'v2')!.id]);
    expect(listBases(d.reader, { kind: 'snapshot' })).toHaveLength(2); // snapshots are never collected by GC
  });

  it('refuses bad requests with typed errors and changes nothing', async () => {
    const d = open(newHome());
    makeBox(d, 'S', 0x11);
    makeBox(d, 'K', 0x12);
    await d.run('snapshot-create', { op: newOp(), boxId: 'S', name: 'v1' });
    await d.run('snapshot-create', { op: newOp(), boxId: 'K', name: 'k1' });
    const boxes = ['S', 'K'];
    await refused(d, boxes, () => restore(d, 'S', 'nope'), ErrorCodes.UNKNOWN_SNAPSHOT);
    await refused(d, boxes, () => restore(d, 'S', 'k1'), ErrorCodes.UNKNOWN_SNAPSHOT); // another box's snapshot
    await refused(d, boxes, () => restore(d, 'ghost', 'v1'), ErrorCodes.UNKNOWN_BOX);
    await refused(d, boxes, () => restore(d, 'S', '..'), ErrorCodes.INVALID_NAME);
    await refused(d, boxes, () => restore(d, '../K', 'v1'), ErrorCodes.INVALID_NAME);
    expect(existsSync(boxDiskPath(d.layout, 'S'))).toBe(true);
  });

  it('with checkInUse, refuses a disk a QEMU process holds open, and restores it once released', async () => {
    const d = open(newHome());
    const disk = makeBox(d, 'S', 0x11);
    await d.run('snapshot-create', { op: newOp(), boxId: 'S', name: 'v1' });
    qemuWrite(disk, 0x22, 0, 65536);
    const holder = spawn('qemu-io', ['-f', 'qcow2', disk], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (b: Buffer) => b.toString().includes('qemu-io>') && resolve());
        holder.on('exit', () => reject(new Error('qemu-io exited early')));
      });
      await refused(d, ['S'], () => restore(d, 'S', 'v1', { checkInUse: true }), ErrorCodes.IMAGE_IN_USE);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('close', r));
    }
    await restore(d, 'S', 'v1', { checkInUse: true });
    expect(qemuCompare(findSnapshot(d.reader, 'S', 'v1')!.basePath, disk).status).toBe(0);
  });

  it('a failed file half leaves the box as it was and the same op succeeds later; a fork or removal meanwhile is refused', async () => {
    const home = newHome();
    const d = open(home);
    const disk = makeBox(d, 'S', 0x11);
    await d.run('snapshot-create', { op: newOp(), boxId: 'S', name: 'v1' });
    qemuWrite(disk, 0x22, 0, 65536);
    const before = state(d, ['S']);
    const bytes = guestBytes(disk);
    d.close();
    const full = open(home, { beforePortCall: (c) => { if (c.port === 'files' && c.task === 'restoreDisk') throw new ForkpointError(ErrorCodes.NO_SPACE, 'disk full (test)'); } });
    const op = newOp('restore');
    await expect(restore(full, 'S', 'v1', { op })).rejects.toMatchObject({ code: ErrorCodes.NO_SPACE });
    expect(state(full, ['S'])).toEqual(before);
    expect(guestBytes(disk)).toBe(bytes);
    full.close();

    const e = open(home);
    // A restore journalled and not finished holds the box: no fork moves the disk it replaces, no removal deletes it.
    const snap = findSnapshot(e.reader, 'S', 'v1')!;
    e.writer.apply({ type: 'beginRestore', op: 'held', boxId: 'S', baseId: snap.id });
    await expect(e.run('snapshot-create', { op: newOp(), boxId: 'S', name: 'v2' })).rejects.toMatchObject({ code: ErrorCodes.CONFLICT });
    await expect(e.run('remove-box', { op: newOp(), boxId: 'S' })).rejects.toMatchObject({ code: ErrorCodes.CONFLICT });
    e.writer.apply({ type: 'abortRestore', op: 'held' });
    await restore(e, 'S', 'v1', { op });
    expect(qemuCompare(snap.basePath, disk).status).toBe(0);
  });
});
