/**
 * A folder in boxes/ that no box record owns is someone else's data: no way
 * of making a box (box-create, clone, snapshot-clone) writes into it or
 * records a box over it, so no later removal or recovery deletes what it
 * holds. And the id of a box being removed stays reserved until its folder is
 * gone, so a new box under that name never takes over the removed box's disk
 * (its guest writes included) instead of getting a fresh one.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boxDir, boxDiskPath } from '../../src/layout.js';
import { boxCreateJob, removeBoxJob } from '../../src/workers/flows/box.js';
import { cloneJob } from '../../src/workers/flows/clone.js';
import { forkBox } from '../../src/workers/flows/fork.js';
import { snapshotCloneJob } from '../../src/workers/flows/snapshot.js';
import { readySourceBox, useInProcessJobs, type InProcessJobs } from '../helpers/in-process-jobs.js';
import { qemuCompare, qemuWrite } from '../helpers/qemu.js';
import { auditHome, goldenImage } from '../helpers/pipeline.js';

const jobs = useInProcessJobs('fp-jobs-foreign-');

/** A home with a ready box `src` (a copy of a golden image). */
function homeWithSource(): { env: InProcessJobs; golden: string } {
  const env = jobs();
  const golden = goldenImage(join(env.dir, 'golden.qcow2'), 0x19);
  readySourceBox(env, 'src', golden);
  return { env, golden };
}

/** A folder in boxes/ that no record owns, holding someone's file. */
function foreignFolder(env: InProcessJobs, id: string): string {
  mkdirSync(boxDir(env.layout, id), { recursive: true });
  const file = join(boxDir(env.layout, id), 'notes.txt');
  writeFileSync(file, 'not forkpoint data\n');
  return file;
}

/** The state of box `id`'s record (undefined: no record). */
const boxState = (env: InProcessJobs, id: string) => env.reader.prepare(`SELECT state FROM box WHERE id = ?`).pluck().get(id);

describe('jobs: a box folder that exists without a record', () => {
  it('box-create refuses it, and the foreign file survives', async () => {
    const { env } = homeWithSource();
    const file = foreignFolder(env, 'f0');
    await expect(boxCreateJob(env.ctx, { op: 'mk-f0', boxId: 'f0', sizeBytes: 1 << 20 })).rejects.toMatchObject({ code: 'E_ALREADY_EXISTS' });
    expect(existsSync(file)).toBe(true);
  });

  it('a snapshot-clone into it is refused, nothing is recorded, and the foreign file survives', async () => {
    const { env } = homeWithSource();
    await forkBox(env.ctx, { op: 'snap-1', sourceBox: 'src', kind: 'snapshot', name: 's' });
    const file = foreignFolder(env, 'f1');
    await expect(snapshotCloneJob(env.ctx, { op: 'sc-1', name: 's', boxId: 'src', target: 'f1' })).rejects.toMatchObject({ code: 'E_ALREADY_EXISTS' });
    expect(boxState(env, 'f1')).toBeUndefined();
    await expect(removeBoxJob(env.ctx, { op: 'rm-f1', boxId: 'f1' })).rejects.toMatchObject({ code: 'E_UNKNOWN_BOX' });
    expect(existsSync(file), 'someone else\'s file in boxes/f1 was deleted').toBe(true);
  });

  it('a clone into it is refused, nothing is recorded, and the foreign file survives', async () => {
    const { env } = homeWithSource();
    const file = foreignFolder(env, 'f2');
    await expect(cloneJob(env.ctx, { op: 'clone-1', source: 'src', targets: ['f2'] })).rejects.toMatchObject({ code: 'E_ALREADY_EXISTS' });
    expect(boxState(env, 'f2')).toBeUndefined();
    await expect(removeBoxJob(env.ctx, { op: 'rm-f2', boxId: 'f2' })).rejects.toMatchObject({ code: 'E_UNKNOWN_BOX' });
    expect(existsSync(file), 'someone else\'s file in boxes/f2 was deleted').toBe(true);
  });
});

describe('jobs: the name of a box whose removal has not finished', () => {
  it('stays taken until its folder is gone, so a new box never takes over the removed disk', async () => {
    const { env, golden } = homeWithSource();
    await forkBox(env.ctx, { op: 'snap-2', sourceBox: 'src', kind: 'snapshot', name: 's' });
    await snapshotCloneJob(env.ctx, { op: 'sc-old', name: 's', boxId: 'src', target: 'x' });
    const disk = boxDiskPath(env.layout, 'x');
    qemuWrite(disk, 0xee, 0, 65536); // the old tenant's guest writes

    // remove-box x: refs gone, then the folder removal fails transiently (the job will be retried).
    env.failOnce('file:removeBoxDir');
    const removal = { op: 'rm-x', boxId: 'x' };
    await expect(removeBoxJob(env.ctx, removal)).rejects.toMatchObject({ code: 'E_IO' });

    // Meanwhile a new box x from the same snapshot: refused, the removal still owns the name.
    await expect(snapshotCloneJob(env.ctx, { op: 'sc-new', name: 's', boxId: 'src', target: 'x' })).rejects.toMatchObject({ code: 'E_ALREADY_EXISTS' });
    expect(boxState(env, 'x')).toBe('removing');

    // BullMQ's retry of the removal finishes it; then a new request makes x afresh.
    await removeBoxJob(env.ctx, removal);
    expect(boxState(env, 'x')).toBeUndefined();
    expect(existsSync(boxDir(env.layout, 'x'))).toBe(false);
    await snapshotCloneJob(env.ctx, { op: 'sc-new-again', name: 's', boxId: 'src', target: 'x' });
    expect(boxState(env, 'x')).toBe('ready');
    expect(qemuCompare(golden, disk).status, 'the new box x reads the removed box\'s data').toBe(0);
    expect(await auditHome(env.layout, { goldenOf: new Map([['src', golden], ['x', golden]]) })).toEqual([]);
  });
});
