/**
 * `remove-box` with `boxIds`: many boxes as one job. Every ref goes in one
 * writer transaction, the folders go in one file task per lane (each flushing
 * boxes/ once), the rows in one more transaction, and GC is asked for once per
 * touched base. A box refused by the records (unknown, still being created) is
 * reported and the others still go; a folder that cannot be removed is
 * reported `failed` with its row left `removing`, which recovery finishes. A
 * retry under the same op replays the outcomes and touches no box made since.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJobPayload } from '../../src/contract/jobs.js';
import { findBox } from '../../src/db/sql/findBox.js';
import { listBases } from '../../src/db/sql/listBases.js';
import { boxDir } from '../../src/layout.js';
import { removeBoxJob } from '../../src/workers/flows/box.js';
import { cloneJob } from '../../src/workers/flows/clone.js';
import { recover } from '../../src/workers/recovery/index.js';
import { readySourceBox, useInProcessJobs, type InProcessJobs } from '../helpers/in-process-jobs.js';
import { auditHome, goldenImage } from '../helpers/pipeline.js';

const jobs = useInProcessJobs('fp-jobs-rm-bulk-');

async function homeWithClones(targets: string[]): Promise<{ env: InProcessJobs; golden: string }> {
  const env = jobs();
  const golden = goldenImage(join(env.dir, 'golden.qcow2'), 0x5a);
  readySourceBox(env, 'src', golden);
  await cloneJob(env.ctx, { op: 'clone-1', source: 'src', targets });
  return { env, golden };
}

const outcomeOf = (r: { outcomes: { boxId: string; outcome: string; error?: { code: string } }[] }) => r.outcomes.map((o) => [o.boxId, o.outcome, o.error?.code ?? null]);

describe('jobs: remove-box of many boxes in one job', () => {
  it('one transaction for the refs, one file task per lane, one for the rows, one GC request per base; refusals reported per box', async () => {
    const targets = ['c1', 'c2', 'c3', 'c4', 'c5'];
    const { env, golden } = await homeWithClones(targets);
    env.writer.apply({ type: 'createBox', op: 'mk-w', boxId: 'w', baseId: null }); // a box still being created
    const base = findBox(env.reader, 'c1')!.baseId!;
    const from = env.calls.length;

    const r = await removeBoxJob(env.ctx, { op: 'rm-bulk', boxIds: ['c3', 'nosuch', 'c1', 'w', 'c2', 'c4', 'src'] });
    expect(outcomeOf(r as never)).toEqual([
      ['c3', 'removed', null],
      ['nosuch', 'unknown', 'E_UNKNOWN_BOX'],
      ['c1', 'removed', null],
      ['w', 'refused', 'E_CONFLICT'],
      ['c2', 'removed', null],
      ['c4', 'removed', null],
      ['src', 'removed', null],
    ]);
    const calls = env.calls.slice(from).filter((c) => !c.startsWith('progress'));
    // parallelism 2: the five removed folders in two tasks.
    expect(calls).toEqual(['writer removeBoxes', 'file removeBoxDirs', 'file removeBoxDirs', 'writer finishRemoveBoxes', 'requestGc']);
    expect(env.gcRequests).toEqual([base]);
    for (const id of ['c1', 'c2', 'c3', 'c4', 'src']) {
      expect(findBox(env.reader, id), id).toBeNull();
      expect(existsSync(boxDir(env.layout, id)), id).toBe(false);
    }
    expect(findBox(env.reader, 'c5')?.state).toBe('ready');
    expect(findBox(env.reader, 'w')?.state).toBe('creating');
    // c5 still reads the base: it is kept, and the home is consistent.
    expect(listBases(env.reader).map((b) => b.id)).toEqual([base]);
    env.writer.apply({ type: 'abortBox', op: 'mk-w', boxId: 'w' });
    expect(await auditHome(env.layout, { goldenOf: new Map([['c5', golden]]) })).toEqual([]);

    // The last reader goes as a one-element bulk removal: the base is collected by the GC it asks for.
    await env.driver.run('remove-box', { op: 'rm-last', boxIds: ['c5'] });
    expect(listBases(env.reader)).toEqual([]);
  });

  it('a folder share that fails is reported per box, its rows stay removing, and recovery finishes them', async () => {
    const { env, golden } = await homeWithClones(['a', 'b', 'c', 'd']);
    env.failOnce('file:removeBoxDirs'); // the first lane's task: a and b
    const r = await removeBoxJob(env.ctx, { op: 'rm-bulk', boxIds: ['a', 'b', 'c', 'd'] });
    expect(outcomeOf(r as never)).toEqual([
      ['a', 'failed', 'E_IO'],
      ['b', 'failed', 'E_IO'],
      ['c', 'removed', null],
      ['d', 'removed', null],
    ]);
    expect(['a', 'b', 'c', 'd'].map((id) => findBox(env.reader, id)?.state ?? null)).toEqual(['removing', 'removing', null, null]);
    env.driver.close();

    const report = await recover(env.layout.home, { fsync: false });
    expect(report.problems.map((p) => [p.id, p.repaired])).toEqual([
      ['a', true],
      ['b', true],
    ]);
    const after = await recover(env.layout.home, { fsync: false });
    expect(after.problems).toEqual([]);
    for (const id of ['a', 'b']) expect(existsSync(boxDir(env.layout, id)), id).toBe(false);
    expect(await auditHome(env.layout, { goldenOf: new Map([['src', golden]]) })).toEqual([]);
  });

  it('a retry under the same op after the rows step failed finishes the job and leaves a box made again since alone', async () => {
    const { env, golden } = await homeWithClones(['x', 'y']);
    env.failOnce('writer:finishRemoveBoxes');
    const removal = { op: 'rm-bulk', boxIds: ['x', 'y'] };
    await expect(removeBoxJob(env.ctx, removal)).rejects.toMatchObject({ code: 'E_IO' });
    // Folders gone, rows still removing: no new box can take the ids before the retry.
    expect(['x', 'y'].map((id) => findBox(env.reader, id)?.state)).toEqual(['removing', 'removing']);
    const retried = await removeBoxJob(env.ctx, removal);
    expect(outcomeOf(retried as never)).toEqual([
      ['x', 'removed', null],
      ['y', 'removed', null],
    ]);
    // x made again, then the same job retried once more (BullMQ after a lost reply): x keeps its disk.
    await cloneJob(env.ctx, { op: 'clone-2', source: 'src', targets: ['x'] });
    const from = env.calls.length;
    await removeBoxJob(env.ctx, removal);
    expect(env.calls.slice(from)).not.toContain('file removeBoxDirs');
    expect(findBox(env.reader, 'x')?.state).toBe('ready');
    expect(await auditHome(env.layout, { goldenOf: new Map(['src', 'x'].map((id) => [id, golden])) })).toEqual([]);
  });

  it('two bulk removals of overlapping sets in opposite orders both end, each box removed by exactly one', async () => {
    const ids = ['p', 'q', 'r', 's'];
    const { env } = await homeWithClones(ids);
    const [one, two] = (await Promise.all([
      removeBoxJob(env.ctx, { op: 'rm-1', boxIds: ['p', 'q', 'r'] }),
      removeBoxJob(env.ctx, { op: 'rm-2', boxIds: ['s', 'r', 'q'] }),
    ])) as { outcomes: { boxId: string; outcome: string }[] }[];
    const removed = [...one!.outcomes, ...two!.outcomes].filter((o) => o.outcome === 'removed').map((o) => o.boxId).sort();
    expect(removed).toEqual(ids);
    for (const id of ids) expect(findBox(env.reader, id), id).toBeNull();
  });

  it('removes a folder holding more than its disk, and a symlinked disks folder without following it', async () => {
    const { env } = await homeWithClones(['m', 'l']);
    writeFileSync(join(boxDir(env.layout, 'm'), 'guest-notes.txt'), 'extra');
    mkdirSync(join(boxDir(env.layout, 'm'), 'disks', 'sub'));
    // l's disks folder is a link to a folder outside the home holding a file named like a disk.
    const outside = join(env.dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'container.qcow2'), 'not ours');
    rmSync(join(boxDir(env.layout, 'l'), 'disks'), { recursive: true });
    symlinkSync(outside, join(boxDir(env.layout, 'l'), 'disks'));
    const r = await removeBoxJob(env.ctx, { op: 'rm-odd', boxIds: ['m', 'l'] });
    expect(outcomeOf(r as never)).toEqual([
      ['m', 'removed', null],
      ['l', 'removed', null],
    ]);
    for (const id of ['m', 'l']) expect(existsSync(boxDir(env.layout, id)), id).toBe(false);
    expect(readFileSync(join(outside, 'container.qcow2'), 'utf8')).toBe('not ours');
  });

  it('the payload takes exactly one of boxId and boxIds, with unique, well-formed ids', () => {
    const bad = [{ op: 'o' }, { op: 'o', boxId: 'a', boxIds: ['b'] }, { op: 'o', boxIds: [] }, { op: 'o', boxIds: ['a', 'a'] }, { op: 'o', boxIds: ['ok', '../x'] }];
    for (const p of bad) expect(() => parseJobPayload('remove-box', p), JSON.stringify(p)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^E_(BAD_PAYLOAD|INVALID_NAME)$/) }));
    expect(parseJobPayload('remove-box', { op: 'o', boxId: 'a' })).toEqual({ op: 'o', boxId: 'a' });
    expect(parseJobPayload('remove-box', { op: 'o', boxIds: ['a', 'b'] })).toEqual({ op: 'o', boxIds: ['a', 'b'] });
  });
});
