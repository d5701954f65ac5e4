/**
 * Group durability's crash rule on the clone flow: its children are written
 * with no fsync each and flushed together before the commit (addRefs), so a
 * power cut between the write and the flush can leave a child missing, empty,
 * short, or with its header on disk and its refcount block not (a header that
 * still parses). The flow is stopped right after its writeChildren task, the
 * children are damaged the way such a cut leaves them, and then recovery must
 * remove every damaged one and keep only exact ones, or the retried request
 * must rewrite them: never trust one. Every disk left must pass qemu-img check
 * and read what the source read.
 */
import { existsSync, rmSync, truncateSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findBaseById } from '../../src/db/sql/findBaseById.js';
import { findBox } from '../../src/db/sql/findBox.js';
import { diskFacts } from '../../src/file-steps/disk-facts.js';
import { InjectedFault } from '../../src/faults.js';
import { boxDir, boxDiskPath, homeLayout, type HomeLayout } from '../../src/layout.js';
import { planChildOfBase } from '../../src/qcow2/plan-child-of-base.js';
import { recover } from '../../src/workers/recovery/index.js';
import { qemuCheck } from '../helpers/qemu.js';
import { patchBytes } from '../qcow2/helpers.js';
import { guestBytes, makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();
const TARGETS = ['Empty', 'Short', 'NoRefcounts', 'Gone', 'Intact'];

/** A clone of S into TARGETS, stopped (as a crash) once its children are written, before their refs are committed. */
async function cloneCutBeforeCommit(home: string): Promise<{ request: { op: string; source: string; targets: string[] }; sourceBytes: string; basePath: string }> {
  const d = open(home, {
    fsync: true, // the group flush is the path under test
    afterPortCall: (call) => {
      if (call.port === 'files' && call.task === 'writeChildren') throw new InjectedFault('power cut before the commit');
    },
  });
  makeBox(d, 'S');
  const sourceBytes = guestBytes(boxDiskPath(d.layout, 'S'));
  const request = { op: newOp('clone'), source: 'S', targets: TARGETS };
  await expect(d.run('clone', request)).rejects.toBeInstanceOf(InjectedFault);
  const basePath = findBaseById(d.reader, findBox(d.reader, 'S')!.baseId!)!.basePath; // S now reads the fork's base
  d.close();
  return { request, sourceBytes, basePath };
}

/** What a power cut may leave of children whose data and names were not flushed yet. */
function damage(layout: HomeLayout, basePath: string): void {
  truncateSync(boxDiskPath(layout, 'Empty'), 0);
  truncateSync(boxDiskPath(layout, 'Short'), 4096);
  const refcountBlock = planChildOfBase(basePath).writes.at(-1)!;
  patchBytes(boxDiskPath(layout, 'NoRefcounts'), refcountBlock.offset, Buffer.alloc(refcountBlock.bytes.length));
  rmSync(boxDiskPath(layout, 'Gone'));
  // The trap: this one's header parses, so a header check would commit a disk qemu finds broken.
  expect(diskFacts(boxDiskPath(layout, 'NoRefcounts')).state).toBe('valid');
  expect(qemuCheck(boxDiskPath(layout, 'NoRefcounts')).status).not.toBe(0);
}

function expectAllReady(home: string, sourceBytes: string): void {
  const d = open(home);
  for (const id of TARGETS) {
    expect(findBox(d.reader, id)?.state, id).toBe('ready');
    const disk = boxDiskPath(d.layout, id);
    const check = qemuCheck(disk);
    expect(check.status, `${id}: ${check.output}`).toBe(0);
    expect(guestBytes(disk), `${id} bytes`).toBe(sourceBytes);
  }
  d.close();
}

// Both ways a batch is flushed leave the same window: written, not yet flushed, not committed.
describe.each(['syncfs', 'fsync'] as const)('recovery (%s flush): children written but not flushed when the power went', (mode) => {
  beforeEach(() => {
    process.env.FORKPOINT_CHILDREN_FLUSH = mode;
  });
  afterEach(() => {
    delete process.env.FORKPOINT_CHILDREN_FLUSH;
  });

  it('recovery removes every damaged child, commits only the exact one, and the retry makes the rest', async () => {
    const home = newHome();
    const { request, sourceBytes, basePath } = await cloneCutBeforeCommit(home);
    const layout = homeLayout(home);
    damage(layout, basePath);

    const report = await recover(home, { fsync: true });
    expect(report.problems.filter((p) => !p.repaired)).toEqual([]);
    const d = open(home);
    for (const id of ['Empty', 'Short', 'NoRefcounts', 'Gone']) {
      expect(findBox(d.reader, id), id).toBeNull();
      expect(existsSync(boxDir(layout, id)), `${id} folder`).toBe(false);
    }
    expect(findBox(d.reader, 'Intact')?.state).toBe('ready');
    expect(qemuCheck(boxDiskPath(layout, 'Intact')).status).toBe(0);

    await d.run('clone', request); // the same request, under the same op
    d.close();
    expectAllReady(home, sourceBytes);
  });

  it('a retry without recovery rewrites every damaged child and keeps the exact one', async () => {
    const home = newHome();
    const { request, sourceBytes, basePath } = await cloneCutBeforeCommit(home);
    const d = open(home, { fsync: true });
    damage(d.layout, basePath);
    await d.run('clone', request);
    d.close();
    expectAllReady(home, sourceBytes);
  });
});
