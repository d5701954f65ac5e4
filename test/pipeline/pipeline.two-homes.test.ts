/** Two homes on one Redis with the same prefix: each home's jobs are done by its own pipeline only. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openReader } from '../../src/db/reader.js';
import { ErrorCodes } from '../../src/errors.js';
import { Forkpoint } from '../../src/producers/client.js';
import { auditHome, goldenImage, startTestPipeline, TEST_PREFIX, type TestPipeline } from '../helpers/pipeline.js';
import { useTmpDirs } from '../helpers/tmp.js';

const tmp = useTmpDirs('fp-2homes-');
const running: TestPipeline[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.close()));
});

/** Every file under a home (but the DB and run folder) with its size and mtime: what another home's jobs must not change. */
function fileState(home: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = statSync(p);
        out.set(p, `${st.size}:${st.mtimeMs}`);
      }
    }
  };
  for (const sub of ['bases', 'boxes']) walk(join(home, sub));
  return out;
}

describe('pipeline: two homes share one Redis', () => {
  it('keeps each home to its own jobs, even while both run', async () => {
    const dirA = tmp();
    const dirB = tmp();
    const [A, B] = await Promise.all([startTestPipeline(dirA, { homeId: `hA${Date.now()}` }), startTestPipeline(dirB, { homeId: `hB${Date.now()}` })]);
    running.push(A!, B!);
    const gA = goldenImage(join(dirA, 'ga.qcow2'), 0xa1);
    const gB = goldenImage(join(dirB, 'gb.qcow2'), 0xb2);

    // A box made in A is unknown to B.
    await (await A!.client.createBox('only-a', { fromImage: gA })).result();
    await expect((await B!.client.clone('only-a', ['b-copy'])).result()).rejects.toMatchObject({ code: ErrorCodes.UNKNOWN_BOX });

    // Both homes busy at once, with the same box names in each.
    await Promise.all([
      (async () => (await A!.client.createBox('src', { fromImage: gA })).result())(),
      (async () => (await B!.client.createBox('src', { fromImage: gB })).result())(),
    ]);
    const targets = Array.from({ length: 40 }, (_, i) => `k${i}`);
    const [ra, rb] = await Promise.all([
      (async () => (await A!.client.clone('src', targets)).result())(),
      (async () => (await B!.client.clone('src', targets.slice(0, 10))).result())(),
    ]);
    expect(ra.targets).toHaveLength(40);
    expect(rb.targets).toHaveLength(10);

    // Each home's records and bytes are its own.
    const goldA = new Map(['only-a', 'src', ...targets].map((id) => [id, gA]));
    const goldB = new Map(['src', ...targets.slice(0, 10)].map((id) => [id, gB]));
    expect(await auditHome(A!.layout, { goldenOf: goldA })).toEqual([]);
    expect(await auditHome(B!.layout, { goldenOf: goldB })).toEqual([]);
    const ids = (home: string) => {
      const r = openReader(home);
      try {
        return { boxes: r.listBoxes().map((b) => b.id).sort(), bases: r.listBases().map((b) => b.id) };
      } finally {
        r.close();
      }
    };
    const a = ids(A!.layout.home);
    const b = ids(B!.layout.home);
    expect(a.boxes).toEqual(['only-a', 'src', ...targets].sort());
    expect(b.boxes).toEqual(['src', ...targets.slice(0, 10)].sort());
    expect(a.bases).toEqual([ra.baseId]);
    expect(b.bases).toEqual([rb.baseId]);

    // More work in A while B runs: none of B's files change.
    const bFiles = fileState(B!.layout.home);
    await (await A!.client.removeBox('k1')).result();
    await (await A!.client.snapshot('k2', 'pin')).result();
    expect(fileState(B!.layout.home)).toEqual(bFiles);

    // With A stopped, a job for A waits in A's queue: B (same Redis, same prefix) never takes it, and B's own jobs run.
    const homeIdA = A!.homeId;
    await A!.close();
    running.splice(running.indexOf(A!), 1);
    const aFiles = fileState(A!.layout.home);
    const producerA = await Forkpoint.connect({ redisUrl: A!.redisUrl, homeId: homeIdA, prefix: TEST_PREFIX });
    try {
      const queuedForA = await producerA.removeBox('k4');
      const forB = await B!.client.removeBox('k3');
      await forB.result();
      expect(ids(B!.layout.home).boxes).not.toContain('k3');
      expect(await producerA.pending('ops')).toBe(1);
      expect(fileState(A!.layout.home)).toEqual(aFiles);
      expect(ids(A!.layout.home).boxes).toContain('k4');

      // A comes back and does its own job.
      const A2 = await startTestPipeline(dirA, { homeId: homeIdA });
      running.push(A2);
      await queuedForA.result();
      expect(ids(A2.layout.home).boxes).not.toContain('k4');
      expect(ids(B!.layout.home).boxes).toContain('k4');
    } finally {
      await producerA.close();
    }
  });
});
