/** Snapshots, bases and refs, GC (dry run and real), the forest, the recovery report. */
import { existsSync, mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxDiskPath } from '../../src/layout.js';
import { gcSettled } from '../helpers/pipeline.js';
import { qemuCheck } from '../helpers/qemu.js';
import { call, homePicture, startTestService, type TestService } from './support.js';

let s: TestService;
let cloneBase: string;

beforeAll(async () => {
  s = await startTestService();
  await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'web', sizeBytes: 2 << 20 } });
  const c = await call(s.url, 'POST', '/api/boxes/web/clones?wait=1', { body: { targets: ['w1', 'w2'] } });
  cloneBase = c.body.result.baseId;
  await gcSettled(s.tp.client);
});
afterAll(async () => {
  await s?.close();
});

describe('snapshots over HTTP', () => {
  let snapBase: string;

  it('creates a snapshot of a box and lists it (globally and per box)', async () => {
    const r = await call(s.url, 'POST', '/api/boxes/web/snapshots?wait=1', { body: { name: 'before-upgrade' } });
    expect(r.status).toBe(200);
    expect(r.body.result).toMatchObject({ boxId: 'web', name: 'before-upgrade' });
    snapBase = r.body.result.baseId;
    const all = await call(s.url, 'GET', '/api/snapshots');
    expect(all.body.snapshots.map((x: { id: string }) => x.id)).toEqual([snapBase]);
    const mine = await call(s.url, 'GET', '/api/boxes/web/snapshots');
    expect(mine.body.snapshots[0]).toMatchObject({ id: snapBase, kind: 'snapshot', name: 'before-upgrade', sourceBoxId: 'web' });
    expect((await call(s.url, 'GET', '/api/snapshots?box=w1')).body.snapshots).toEqual([]);
  });

  it('clones a box from a snapshot', async () => {
    const r = await call(s.url, 'POST', '/api/snapshots/before-upgrade/clones?wait=1', { body: { target: 'restored', box: 'web' } });
    expect(r.status).toBe(200);
    expect(r.body.result).toMatchObject({ baseId: snapBase, target: 'restored' });
    expect(qemuCheck(boxDiskPath(s.tp.layout, 'restored')).status).toBe(0);
  });

  it('refuses to remove a snapshot a clone reads (409), then hides it with force=1', async () => {
    const refused = await call(s.url, 'DELETE', '/api/snapshots/before-upgrade?wait=1');
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('E_HAS_DEPENDENTS');
    const forced = await call(s.url, 'DELETE', '/api/snapshots/before-upgrade?box=web&force=1&wait=1');
    expect(forced.status).toBe(200);
    expect(forced.body.result).toMatchObject({ baseId: snapBase, action: 'tombstoned' });
    expect((await call(s.url, 'GET', '/api/snapshots')).body.snapshots).toEqual([]);
    // still there for its reader, and listed with all=1
    const all = await call(s.url, 'GET', '/api/bases?all=1&kind=snapshot');
    expect(all.body.bases.map((b: { id: string; tombstoned: boolean }) => [b.id, b.tombstoned])).toEqual([[snapBase, true]]);
  });
});

describe('bases, forest, GC over HTTP', () => {
  it('lists bases with their refs, and shows one with refs, children and readers', async () => {
    const list = await call(s.url, 'GET', '/api/bases');
    const clone = list.body.bases.find((b: { id: string }) => b.id === cloneBase);
    expect(clone).toMatchObject({ kind: 'clone_base', state: 'ready' });
    expect([...clone.refs].sort()).toEqual(['w1', 'w2', 'web']);
    const one = await call(s.url, 'GET', `/api/bases/${cloneBase}`);
    expect(one.status).toBe(200);
    expect(one.body.base.id).toBe(cloneBase);
    expect([...one.body.refs].sort()).toEqual(['w1', 'w2', 'web']);
    // the snapshot was forked on top of the clone base: it is a child base
    expect(one.body.children.map((c: { kind: string }) => c.kind)).toEqual(['snapshot']);
    expect(one.body.readers).toBeTypeOf('object');
    expect((await call(s.url, 'GET', '/api/bases?kind=rootfs')).body.bases).toEqual([]);
  });

  it('draws the forest with totals', async () => {
    const f = await call(s.url, 'GET', '/api/forest');
    expect(f.status).toBe(200);
    expect(f.body.roots.map((r: { id: string }) => r.id)).toEqual([cloneBase]);
    const root = f.body.roots[0];
    expect(root.refCount).toBe(3);
    expect([...root.boxes].sort()).toEqual(['w1', 'w2']);
    expect(f.body.totals).toMatchObject({ bases: 2, boxes: 4, reclaimableBytes: 0, reclaimable: [] });
    expect(f.body.totals.basesBytes).toBeGreaterThan(0);
  });

  it('plans GC with dryRun (nothing changes), then collects for real', async () => {
    await call(s.url, 'DELETE', '/api/boxes/restored?wait=1');
    await gcSettled(s.tp.client); // the tombstoned snapshot went with its last reader
    for (const id of ['w1', 'w2', 'web']) await call(s.url, 'DELETE', `/api/boxes/${id}?wait=1`);
    // The removals asked for GC of the clone base; wait for it, then check the dry run on a quiet home.
    await gcSettled(s.tp.client);
    const forest = await call(s.url, 'GET', '/api/forest');
    expect(forest.body.totals.bases).toBe(0);

    // Hold GC back so a base nothing reads stays on disk: that is what a dry run reports.
    const gcQueue = s.tp.client.queue('gc');
    await gcQueue.pause();
    try {
      await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'g', sizeBytes: 1 << 20 } });
      const c = await call(s.url, 'POST', '/api/boxes/g/clones?wait=1', { body: { targets: ['g1'] } });
      const base = c.body.result.baseId as string;
      for (const id of ['g1', 'g']) await call(s.url, 'DELETE', `/api/boxes/${id}?wait=1`);
      const size = (await call(s.url, 'GET', `/api/bases/${base}`)).body.base.sizeBytes as number;

      const before = homePicture(s.tp.layout.home);
      const plan = await call(s.url, 'POST', '/api/gc', { body: { dryRun: true } });
      expect(plan.status).toBe(200);
      expect(plan.body).toEqual({ dryRun: true, bases: [base], reclaimableBytes: size });
      expect(homePicture(s.tp.layout.home)).toEqual(before);
      expect((await call(s.url, 'GET', '/metrics')).text).toMatch(new RegExp(`^forkpoint_reclaimable_bytes ${size}$`, 'm'));

      await gcQueue.resume();
      const run = await call(s.url, 'POST', '/api/gc?wait=1', { body: { baseId: base } });
      expect(run.status).toBe(200);
      expect(run.body).toMatchObject({ name: 'gc', queue: 'gc', result: { baseId: base } });
      await gcSettled(s.tp.client);
      expect(existsSync(join(s.tp.layout.basesDir, `${base}.qcow2`))).toBe(false);
      expect((await call(s.url, 'GET', `/api/bases/${base}`)).status).toBe(404);
      const metrics = (await call(s.url, 'GET', '/metrics')).text;
      expect(metrics).toMatch(/^forkpoint_gc_runs_total\{outcome="collected"\} [1-9]/m);
      expect(Number(/^forkpoint_gc_reclaimed_bytes_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(size);
      expect(metrics).toMatch(/^forkpoint_job_duration_seconds_count\{job="clone",outcome="ok",size="[^"]+"\} [1-9]/m);
      expect(metrics).toMatch(/^forkpoint_queue_jobs\{queue="ops",state="waiting"\} 0$/m);
      expect(Number(/^forkpoint_writer_commands_applied_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    } finally {
      await gcQueue.resume();
    }

    const sweep = await call(s.url, 'POST', '/api/gc', { body: {} });
    expect(sweep.status).toBe(202);
    expect(sweep.body).toMatchObject({ name: 'sweep', queue: 'gc' });
    await gcSettled(s.tp.client);
  });

  it('reports the recovery check (a dry run) and counts orphan files in metrics', async () => {
    const clean = await call(s.url, 'GET', '/api/check');
    expect(clean.status).toBe(200);
    expect(clean.body).toMatchObject({ repair: false, problems: [] });
    const orphan = join(s.tp.layout.basesDir, 'Orphan01.qcow2');
    writeFileSync(orphan, 'not a base');
    const found = await call(s.url, 'GET', '/api/check');
    expect(found.body.problems).toEqual([expect.objectContaining({ subject: 'file', path: orphan, repaired: false })]);
    expect(existsSync(orphan)).toBe(true); // a report never repairs
    const metrics = await call(s.url, 'GET', '/metrics');
    expect(metrics.text).toMatch(/^forkpoint_orphan_files 1$/m);
    unlinkSync(orphan);
  });

  it("marks what a running job works on as in flight, not as a problem that needs attention", async () => {
    // A box folder with no record: a problem, unless a running job works on that box (here: registered as one).
    mkdirSync(join(s.tp.layout.boxesDir, 'being-made'));
    try {
      const idle = await call(s.url, 'GET', '/api/check');
      expect(idle.body.problems).toEqual([expect.objectContaining({ subject: 'box', id: 'being-made', action: 'none' })]);
      expect(idle.body.summary).toMatchObject({ found: 1, needsAttention: 1, inFlight: 0 });
      // The pipeline's own record of its running jobs: register one on that box, as its processor does.
      s.tp.pipeline.active.start('ops:check-test', 'box-create', { op: 'check-test', boxId: 'being-made' });
      const busy = await call(s.url, 'GET', '/api/check');
      expect(busy.body.problems).toEqual([expect.objectContaining({ subject: 'box', id: 'being-made', inFlight: true })]);
      expect(busy.body.summary).toMatchObject({ found: 1, needsAttention: 0, inFlight: 1 });
    } finally {
      s.tp.pipeline.active.finish('ops:check-test');
      rmSync(join(s.tp.layout.boxesDir, 'being-made'), { recursive: true, force: true });
    }
  });
});
