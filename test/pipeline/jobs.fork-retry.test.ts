/**
 * A clone job that fails part-way and is retried under the same op (as
 * BullMQ does) must end with every disk intact and the records matching the
 * files, whether the failure came before anything moved or after. Runs the
 * job handlers in-process (inline file steps, the writer called directly),
 * so faults armed here reach the file steps.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { armFault, disarmFaults } from '../../src/faults.js';
import { cloneJob } from '../../src/workers/flows/clone.js';
import { forkBox } from '../../src/workers/flows/fork.js';
import { removeBoxJob } from '../../src/workers/flows/box.js';
import { snapshotCloneJob, snapshotCreateJob } from '../../src/workers/flows/snapshot.js';
import { readySourceBox, useInProcessJobs, type InProcessJobs } from '../helpers/in-process-jobs.js';
import { auditHome, goldenImage } from '../helpers/pipeline.js';

const jobs = useInProcessJobs('fp-retry-');
afterEach(() => disarmFaults());

/** A home with one ready box `src` whose disk is a copy of a golden image. */
function homeWithSource(): { golden: string; env: InProcessJobs } {
  const env = jobs();
  const golden = goldenImage(join(env.dir, 'golden.qcow2'), 0x3c);
  readySourceBox(env, 'src', golden);
  return { golden, env };
}

describe('jobs: a failed fork retried under the same op', () => {
  it('fails after the files moved: nothing is aborted, and the retry commits the same base', async () => {
    const { golden, env } = homeWithSource();
    const payload = { op: 'clone-1', source: 'src', targets: ['a', 'b'] };
    env.failOnce('writer:commitFork'); // the file half is done; its commit fails
    await expect(cloneJob(env.ctx, payload)).rejects.toThrow(/injected/);
    // The base holds the box's bytes now: its record must still be there (creating), not aborted.
    const creating = env.ctx.reader.prepare(`SELECT id, state FROM base_disk`).all() as { id: string; state: string }[];
    expect(creating.map((b) => b.state)).toEqual(['creating']);

    const result = await cloneJob(env.ctx, payload);
    expect(result.baseId).toBe(creating[0]!.id);
    const goldenOf = new Map(['src', 'a', 'b'].map((id) => [id, golden]));
    expect(await auditHome(env.writer.layout, { goldenOf })).toEqual([]);
    expect(readdirSync(env.writer.layout.basesDir)).toEqual([`${result.baseId}.qcow2`]);
  });

  it('fails before anything moved: the fork is aborted, and the retry starts over with a new base', async () => {
    const { golden, env } = homeWithSource();
    const payload = { op: 'clone-2', source: 'src', targets: ['c'] };
    armFault('fork:after-move', 'fail'); // an ordinary failure: forkQcow2 undoes its own move
    await expect(cloneJob(env.ctx, payload)).rejects.toThrow(/injected failure/);
    disarmFaults();
    expect(env.ctx.reader.prepare('SELECT count(*) FROM base_disk').pluck().get()).toBe(0);
    expect(readdirSync(env.writer.layout.basesDir)).toEqual([]);

    const result = await cloneJob(env.ctx, payload);
    const goldenOf = new Map(['src', 'c'].map((id) => [id, golden]));
    expect(await auditHome(env.writer.layout, { goldenOf })).toEqual([]);
    expect(readdirSync(env.writer.layout.basesDir)).toEqual([`${result.baseId}.qcow2`]);
  });

  it('a snapshot clone onto an existing box is refused, and the box is left alone', async () => {
    const { golden, env } = homeWithSource();
    await cloneJob(env.ctx, { op: 'clone-3', source: 'src', targets: ['taken'] });
    const snap = await forkBox(env.ctx, { op: 'snap-1', sourceBox: 'src', kind: 'snapshot', name: 's' });
    await expect(snapshotCloneJob(env.ctx, { op: 'sc-1', name: 's', boxId: 'src', target: 'taken' })).rejects.toMatchObject({ code: 'E_ALREADY_EXISTS' });
    const taken = env.ctx.reader.prepare(`SELECT base_id FROM box WHERE id = 'taken'`).pluck().get();
    expect(taken).not.toBe(snap.id);
    const goldenOf = new Map(['src', 'taken'].map((id) => [id, golden]));
    expect(await auditHome(env.writer.layout, { goldenOf })).toEqual([]);
  });

  it('a flatten retried after its commit (its GC request failed) still asks for GC of the old chain', async () => {
    const { env } = homeWithSource();
    const chain: string[] = [];
    for (let i = 1; i <= 8; i++) {
      chain.push((await cloneJob(env.ctx, { op: `c${i}`, source: 'src', targets: [`t${i}`] })).baseId);
      await removeBoxJob(env.ctx, { op: `r${i}`, boxId: `t${i}` });
    }
    env.gcRequests.length = 0;
    env.failOnce('requestGc');
    const payload = { op: 'snap-deep', boxId: 'src', name: 'deep' };
    await expect(snapshotCreateJob(env.ctx, payload)).rejects.toMatchObject({ code: 'E_REDIS_UNAVAILABLE' });
    const mode = env.reader.prepare(`SELECT json_extract(payload_json, '$.mode') FROM op WHERE op_id = 'snap-deep' AND command = 'beginFork'`).pluck().get();
    expect(mode).toBe('flatten'); // the ninth level: the fork flattened, and it committed before the failure
    await snapshotCreateJob(env.ctx, payload);
    expect(env.gcRequests).toEqual([chain[7]]); // the source's previous base: GC cascades down the chain from it
  });
});
