/**
 * A check on a live home marks what running jobs are working on as in flight
 * (progress, not problems), and counts only the rest as needing attention.
 * The half-done state is real: an operation stopped at a fault point.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { armFault, disarmFaults, InjectedFault } from '../../src/faults.js';
import { formatRecoveryReport, markInFlight, recover, type InFlightWork } from '../../src/workers/recovery/index.js';
import { ActiveWork } from '../../src/workers/active-work.js';
import { makeBox, newOp, useHomes } from '../db/support/home.js';

const { newHome, open } = useHomes();
afterEach(() => disarmFaults());

const none: InFlightWork = { ops: new Set(), boxes: new Set(), bases: new Set(), files: new Set() };

/**
 * A home with a clone of S stopped after its disk moved: a creating base (with its op), two
 * creating targets, and S without a disk (its child not written yet).
 */
async function homeWithHalfDoneClone(): Promise<{ home: string; op: string; baseId: string }> {
  const home = newHome();
  const d = open(home);
  makeBox(d, 'S');
  armFault('fork:after-move', 'throw');
  await expect(d.run('clone', { op: newOp('clone'), source: 'S', targets: ['C1', 'C2'] })).rejects.toThrow(InjectedFault);
  disarmFaults();
  const base = d.reader.prepare("SELECT id, op_id FROM base_disk WHERE state = 'creating'").get() as { id: string; op_id: string };
  // The driver stays open: a live home (the checks here are dry runs, which need no writer).
  return { home, op: base.op_id, baseId: base.id };
}

describe('recovery: a check on a live home', () => {
  it('with nothing running, the half-done clone is a problem that needs recovery', async () => {
    const { home, op, baseId } = await homeWithHalfDoneClone();
    const report = markInFlight(await recover(home, { repair: false }), none);
    expect(report.problems.map((p) => [p.subject, p.id, p.inFlight ?? false])).toEqual([
      ['base', baseId, false],
      ['box', 'C1', false],
      ['box', 'C2', false],
      ['box', 'S', false],
    ]);
    expect(report.problems[0]!.op).toBe(op);
    expect(report.summary).toMatchObject({ found: 4, inFlight: 0 });
  });

  it("while the clone's job runs, its base (by op), its source and its targets (by id) are in flight, and nothing needs attention", async () => {
    const { home, op, baseId } = await homeWithHalfDoneClone();
    const active = new ActiveWork();
    active.start('ops:1', 'clone', { op, source: 'S', targets: ['C1', 'C2'] });
    const report = markInFlight(await recover(home, { repair: false }), active.snapshot());
    expect(report.problems.map((p) => [p.id, p.inFlight])).toEqual([
      [baseId, true],
      ['C1', true],
      ['C2', true],
      ['S', true],
    ]);
    expect(report.summary).toEqual({ found: 4, repaired: 0, needsAttention: 0, failed: 0, collected: 0, inFlight: 4 });
    expect(formatRecoveryReport(report)).toContain('4 problem(s), 4 of them in flight (dry run)');
    expect(formatRecoveryReport(report)).toContain('in flight: a running job is on it');

    // Once that job is over, the same state is a problem again.
    active.finish('ops:1');
    expect(markInFlight(await recover(home, { repair: false }), active.snapshot()).summary.inFlight).toBe(0);
  });

  it('another job on other boxes does not hide the half-done clone', async () => {
    const { home } = await homeWithHalfDoneClone();
    const active = new ActiveWork();
    active.start('ops:2', 'remove-box', { op: 'someone-else', boxId: 'X' });
    active.start('gc:3', 'gc', { baseId: 'Zzzzzzzz' });
    expect(markInFlight(await recover(home, { repair: false }), active.snapshot()).summary).toMatchObject({ found: 4, inFlight: 0 });
  });
});

describe('recovery: a file a running job is writing into bases/', () => {
  it('is in flight while the job runs (a rootfs import copies before it records)', async () => {
    const home = newHome();
    const d = open(home);
    const file = join(d.layout.basesDir, 'Newbase1.ext4');
    writeFileSync(file, 'half a copy');
    d.close();
    const report = await recover(home, { repair: false });
    expect(report.problems).toEqual([expect.objectContaining({ subject: 'file', path: file })]);
    expect(markInFlight(report, none).summary.inFlight).toBe(0);
    const active = new ActiveWork();
    active.start('ops:1', 'rootfs-import', { op: 'imp', key: 'k', image: '/img' });
    active.note('ops:1', { files: [file] });
    expect(markInFlight(report, active.snapshot()).problems).toEqual([expect.objectContaining({ path: file, inFlight: true })]);
  });
});

describe('ActiveWork', () => {
  it('collects the op, boxes and bases every running payload names, and forgets a finished job', () => {
    const active = new ActiveWork();
    active.start('ops:1', 'clone', { op: 'o1', source: 'S', targets: ['A', 'B'] });
    active.start('ops:2', 'snapshot-create', { op: 'o2', name: 'snap', boxId: 'K' });
    active.start('gc:3', 'gc', { baseId: 'Abcdefgh' });
    active.start('gc:4', 'sweep', null);
    active.start('ops:5', 'remove-box', { op: 'o5', boxIds: ['R1', 'R2'] }); // a bulk removal: its rows are `removing` meanwhile
    expect(active.snapshot()).toEqual({ ops: new Set(['o1', 'o2', 'o5']), boxes: new Set(['S', 'A', 'B', 'K', 'R1', 'R2']), bases: new Set(['Abcdefgh']), files: new Set() });
    active.finish('ops:1');
    active.finish('ops:5');
    expect(active.snapshot().boxes).toEqual(new Set(['K']));
    expect(active.size).toBe(3);
  });

  it("a snapshot job's boxId (the snapshot's owner, only read) is not in flight; what a job notes once resolved is", () => {
    const active = new ActiveWork();
    active.start('ops:1', 'snapshot-clone', { op: 'o1', name: 's', boxId: 'owner', target: 'T' });
    active.start('ops:2', 'snapshot-remove', { op: 'o2', name: 's', boxId: 'owner' });
    active.note('ops:2', { bases: ['Snapbase'] });
    active.start('ops:3', 'rootfs-import', { op: 'o3', key: 'k', image: '/img' });
    active.note('ops:3', { files: ['/h/bases/Newbase1.ext4'] });
    active.note('ops:gone', { bases: ['Ignored1'] }); // a job that is not running notes nothing
    expect(active.snapshot()).toEqual({
      ops: new Set(['o1', 'o2', 'o3']),
      boxes: new Set(['T']),
      bases: new Set(['Snapbase']),
      files: new Set(['/h/bases/Newbase1.ext4']),
    });
  });
});
