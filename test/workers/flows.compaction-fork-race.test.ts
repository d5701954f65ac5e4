/**
 * A compaction that re-pointed some box disks at its copy and then failed (an ordinary error, not a
 * crash: in the re-point itself or in the commit) would leave its journal pending: those disks read
 * the copy while their rows still name the old base. It puts them back before it gives up. A fork of such a box before the compaction is finished must not end with a base whose
 * backing is a copy that the compaction's undo may still delete (invariant 2): every box keeps its
 * bytes, every image passes qemu-img check, and nothing is left pending once it is all re-run.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listBoxes } from '../../src/db/sql/listBoxes.js';
import { listPendingOps } from '../../src/db/sql/listPendingOps.js';
import { ErrorCodes, ForkpointError } from '../../src/errors.js';
import { armHook, disarmFaults } from '../../src/faults.js';
import { boxDiskPath } from '../../src/layout.js';
import { readBackingChain } from '../../src/qcow2/chain.js';
import { SOFT_CHAIN_DEPTH } from '../../src/workers/flows/compact.js';
import { recover } from '../../src/workers/recovery/index.js';
import { qemuCheck } from '../helpers/qemu.js';
import { bytesOf, expectBoxesIntact, makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();
afterEach(() => disarmFaults());

/** A home where S alone reads a base SOFT_CHAIN_DEPTH deep, and the bytes of every box. */
async function deepHome(o: Parameters<typeof open>[1] = {}) {
  const home = newHome();
  const d = open(home, { compaction: false, ...o });
  makeBox(d, 'S');
  for (let i = 1; i <= SOFT_CHAIN_DEPTH; i++) await d.run('clone', { op: newOp('clone'), source: 'S', targets: [`T${i}`] });
  const deep = listBoxes(d.reader).find((b) => b.id === 'S')!.baseId!;
  await d.run('remove-box', { op: newOp('rm'), boxId: 'T4' }); // S alone reads the deep base now
  return { home, d, deep, before: bytesOf(d.layout, listBoxes(d.reader).map((b) => b.id)) };
}

/** A clone of S and the compaction again, then recovery and a sweep: every box keeps its bytes, every base passes check, nothing pending. */
async function expectWholeAfterward(home: string, d: ReturnType<typeof open>, deep: string, before: Record<string, string>) {
  await d.run('clone', { op: newOp('clone'), source: 'S', targets: ['U'] });
  await d.run('compact', { baseId: deep });
  d.close();
  const report = await recover(home, { fsync: false });
  expect(report.problems.filter((p) => !p.repaired), 'problems recovery could not repair').toEqual([]);
  const after = open(home);
  await after.run('sweep', {});
  expectBoxesIntact(after.layout, before);
  for (const name of readdirSync(after.layout.basesDir)) expect(qemuCheck(join(after.layout.basesDir, name)).status, `base ${name}`).toBe(0);
  expect(listPendingOps(after.reader), 'journal entries left pending').toEqual([]);
}

describe('flows: a compaction whose commit fails', () => {
  it('puts the re-pointed disks back before it gives up', async () => {
    let failed = false;
    const { home, d, deep, before } = await deepHome({
      beforePortCall: (c) => {
        if (failed || c.port !== 'writer' || c.command !== 'commitCompact') return;
        failed = true; // once: the transaction that commits the compaction could not commit
        throw new ForkpointError(ErrorCodes.IO, 'injected: commitCompact could not commit');
      },
    });
    await expect(d.run('compact', { baseId: deep })).rejects.toThrow(/commitCompact could not commit/);
    expect(failed).toBe(true);
    expect(readBackingChain(boxDiskPath(d.layout, 'S')).length, 'S reads its old chain again').toBe(SOFT_CHAIN_DEPTH);
    expect(listPendingOps(d.reader), 'the failed compaction is undone').toEqual([]);
    await expectWholeAfterward(home, d, deep, before);
  });
});

describe('flows: a fork of a box a failed compaction re-pointed', () => {
  it('keeps every chain whole, whatever runs next', async () => {
    const { home, d, deep, before } = await deepHome();
    let failed = false;
    armHook('compact:after-repoint', () => {
      if (failed) return;
      failed = true; // once: S's disk reads the copy, then the step fails (a full disk, say)
      throw new ForkpointError(ErrorCodes.IO, 'injected failure after the first re-point');
    });
    await expect(d.run('compact', { baseId: deep })).rejects.toThrow(/injected failure/);
    disarmFaults();
    expect(readBackingChain(boxDiskPath(d.layout, 'S')).length, 'S reads its old chain again').toBe(SOFT_CHAIN_DEPTH);
    expect(listPendingOps(d.reader), 'the failed compaction is undone').toEqual([]);
    // The user clones S now, and the compaction is asked for again: nothing may be lost.
    await expectWholeAfterward(home, d, deep, before);
  });
});
