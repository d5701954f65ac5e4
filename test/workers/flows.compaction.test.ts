/**
 * Background compaction on the in-process driver (which drains it before run() returns, as GC):
 * a box cloned 20 times in a row and a clone-of-a-clone line of 20 generations never meet the
 * depth cap's inline flatten, no disk ever reads SOFT_CHAIN_DEPTH backing files once a run is
 * over (so never more than 8), every disk and base passes qemu-img check, every box reads exactly
 * what its source read when it was cloned (qemu-img compare against a copy taken then), and GC
 * leaves nothing unread.
 */
import { execFileSync } from 'node:child_process';
import { linkSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planGcOf } from '../../src/db/rules/gcPlan.js';
import { listBoxes } from '../../src/db/sql/listBoxes.js';
import { listPendingOps } from '../../src/db/sql/listPendingOps.js';
import { boxDiskPath } from '../../src/layout.js';
import { readBackingChain } from '../../src/qcow2/chain.js';
import { MAX_CHAIN_DEPTH } from '../../src/qcow2/constants.js';
import { SOFT_CHAIN_DEPTH } from '../../src/workers/flows/compact.js';
import type { InProcessDriver } from '../../src/workers/in-process.js';
import { qemuCheck, qemuCompare, qemuWrite } from '../helpers/qemu.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { recover } from '../../src/workers/recovery/index.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();
const refs = useTmpDirs('fp-compact-ref-');

/** A standalone copy of what `disk` reads now (qemu-img convert): what a clone made now must read forever. */
function snapshotOf(disk: string, dir: string, name: string): string {
  const out = join(dir, `${name}.qcow2`);
  execFileSync('qemu-img', ['convert', '-U', '-O', 'qcow2', disk, out]);
  return out;
}

/** What no run may leave: a deep disk, an inline flatten, an invalid image, a base nothing reads. */
function expectCompactHome(d: InProcessDriver, expected: Map<string, string>): void {
  const flattened = d.reader.prepare(`SELECT op_id FROM op WHERE command = 'beginFork' AND json_extract(payload_json, '$.mode') = 'flatten'`).all();
  expect(flattened, 'forks that flattened inline').toEqual([]);
  for (const box of listBoxes(d.reader)) {
    expect(readBackingChain(box.diskPath).length, `${box.id} chain`).toBeLessThan(SOFT_CHAIN_DEPTH);
    expect(qemuCheck(box.diskPath).status, `${box.id} check`).toBe(0);
    const ref = expected.get(box.id);
    if (ref) expect(qemuCompare(box.diskPath, ref).status, `${box.id} reads what it was cloned from`).toBe(0);
  }
  for (const name of readdirSync(d.layout.basesDir)) expect(qemuCheck(join(d.layout.basesDir, name)).status, `base ${name}`).toBe(0);
  expect(planGcOf(d.reader), 'bases nothing reads').toEqual([]);
  expect(listPendingOps(d.reader), 'journal entries left pending').toEqual([]);
}

describe('flows: background compaction keeps chains shallow', () => {
  it('a box cloned 20 times in a row', { timeout: 120_000 }, async () => {
    const d = open(newHome());
    const dir = refs();
    makeBox(d, 'S', 0x11);
    const expected = new Map<string, string>();
    let compacted = 0;
    for (let i = 1; i <= 20; i++) {
      qemuWrite(boxDiskPath(d.layout, 'S'), 0x20 + i, i * 65536, 65536); // each generation differs
      expected.set(`T${i}`, snapshotOf(boxDiskPath(d.layout, 'S'), dir, `T${i}`));
      await d.run('clone', { op: newOp('clone'), source: 'S', targets: [`T${i}`] });
      for (const box of listBoxes(d.reader)) expect(readBackingChain(box.diskPath).length, `after clone ${i}: ${box.id}`).toBeLessThanOrEqual(MAX_CHAIN_DEPTH);
      compacted = (d.reader.prepare(`SELECT count(*) AS n FROM op WHERE command = 'commitCompact'`).get() as { n: number }).n;
    }
    expected.set('S', snapshotOf(boxDiskPath(d.layout, 'S'), dir, 'S'));
    expect(compacted, 'compactions that ran').toBeGreaterThan(0);
    expectCompactHome(d, expected);
  });

  it('a clone-of-a-clone line of 20 generations', { timeout: 120_000 }, async () => {
    const d = open(newHome());
    const dir = refs();
    makeBox(d, 'G0', 0x33);
    const expected = new Map<string, string>();
    for (let i = 1; i <= 20; i++) {
      const parent = `G${i - 1}`;
      qemuWrite(boxDiskPath(d.layout, parent), 0x40 + i, i * 65536, 65536);
      // The parent is never written again: from now on it and its clone read these bytes.
      const ref = snapshotOf(boxDiskPath(d.layout, parent), dir, `G${i}`);
      expected.set(parent, ref).set(`G${i}`, ref);
      await d.run('clone', { op: newOp('gen'), source: parent, targets: [`G${i}`] });
      for (const box of listBoxes(d.reader)) expect(readBackingChain(box.diskPath).length, `after generation ${i}: ${box.id}`).toBeLessThanOrEqual(MAX_CHAIN_DEPTH);
    }
    expectCompactHome(d, expected);
  });

  it('the sweep asks again for a compaction whose request was lost (a Redis that lost its queue)', async () => {
    const home = newHome();
    const off = open(home, { compaction: false }); // the forks' requests go nowhere, as with a lost queue
    makeBox(off, 'S');
    for (let i = 1; i <= SOFT_CHAIN_DEPTH; i++) await off.run('clone', { op: newOp('clone'), source: 'S', targets: [`T${i}`] });
    expect(readBackingChain(boxDiskPath(off.layout, 'S')).length).toBe(SOFT_CHAIN_DEPTH);
    off.close();
    const d = open(home);
    await d.run('sweep', {});
    expect(readBackingChain(boxDiskPath(d.layout, 'S')).length).toBe(1);
    expectCompactHome(d, new Map());
  });

  it('a compaction in progress never refuses a fork of its boxes', async () => {
    const home = newHome();
    const d = open(home, { compaction: false });
    makeBox(d, 'S');
    for (let i = 1; i <= SOFT_CHAIN_DEPTH; i++) await d.run('clone', { op: newOp('clone'), source: 'S', targets: [`T${i}`] });
    const deep = listBoxes(d.reader).find((b) => b.id === 'S')!.baseId!;
    d.writer.apply({ type: 'beginCompact', op: newOp('compact'), baseId: deep }); // as if its job were flattening now
    await d.run('clone', { op: newOp('clone'), source: 'S', targets: ['U'] });
    await d.run('remove-box', { op: newOp('rm'), boxId: 'T1' });
    d.close();
    const report = await recover(home, { fsync: false }); // the cut-off compaction: nothing read its copy, so it is undone
    expect(report.problems.filter((p) => !p.repaired)).toEqual([]);
    const after = open(home);
    await after.run('sweep', {}); // and the sweep asks for it again
    expectCompactHome(after, new Map());
  });

  it('leaves a box disk no fork may take (a hard link out of the home) reading its old chain', async () => {
    const home = newHome();
    const off = open(home, { compaction: false });
    makeBox(off, 'S');
    for (let i = 1; i <= SOFT_CHAIN_DEPTH; i++) await off.run('clone', { op: newOp('clone'), source: 'S', targets: [`T${i}`] });
    const deep = listBoxes(off.reader).find((b) => b.id === 'S')!.baseId!;
    off.close();
    const outside = join(refs(), 'linked.qcow2');
    linkSync(boxDiskPath(off.layout, 'T4'), outside); // rewriting its header would write outside the home
    const d = open(home);
    const { result } = await d.run('compact', { baseId: deep });
    expect(result.repointed).toEqual(['S']);
    expect(readBackingChain(outside).length, 'the linked disk still reads its chain').toBe(SOFT_CHAIN_DEPTH);
    expect(qemuCheck(boxDiskPath(d.layout, 'S')).status).toBe(0);
    const again = await d.run('compact', { baseId: deep });
    expect([again.result.compacted, again.result.reason], 'asked again: no copy for a disk it may not rewrite').toEqual([false, expect.stringMatching(/may be rewritten/)]);
    expect(readdirSync(d.layout.basesDir)).toHaveLength(SOFT_CHAIN_DEPTH + 1); // the old chain (T1..T4 read it) and S's copy
    expect(listPendingOps(d.reader)).toEqual([]);
  });

  it('compaction turned off: the fork meets the cap and flattens inline (the fallback stays)', async () => {
    const d = open(newHome(), { compaction: false });
    makeBox(d, 'S');
    for (let i = 1; i <= MAX_CHAIN_DEPTH + 1; i++) await d.run('clone', { op: newOp('clone'), source: 'S', targets: [`T${i}`] });
    const flattened = d.reader.prepare(`SELECT count(*) AS n FROM op WHERE command = 'beginFork' AND json_extract(payload_json, '$.mode') = 'flatten'`).get() as { n: number };
    expect(flattened.n).toBe(1);
    expect(readBackingChain(boxDiskPath(d.layout, 'S')).length).toBeLessThanOrEqual(MAX_CHAIN_DEPTH);
  });
});
