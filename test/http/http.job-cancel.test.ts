/**
 * POST /api/jobs/:id/cancel on a real service (pipeline, workers, pool, writer, test Redis): the
 * outcomes of `forkpoint jobs cancel`. A waiting job is removed (200) and nothing of it runs; a
 * running clone batch asked with ?wait=1 stops between chunks (200 cancelled, E_CANCELLED with
 * made + undone = its targets), without ?wait=1 the answer is 202 requested and the job then
 * fails with E_CANCELLED; what was made is ready and passes qemu-img check, the rest has no row.
 * A job that ended is 409, an unknown one 404, a malformed id 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxDiskPath } from '../../src/layout.js';
import { qemuCheck } from '../helpers/qemu.js';
import { call, startTestService, until, type TestService } from './support.js';

let s: TestService;
const MiB = 1024 * 1024;

beforeAll(async () => {
  // One file thread: a batch then writes its children for a second or more, long past the cancel
  // (done > 0 is seen only at the first group commit, by when two threads had written most of 1,500).
  s = await startTestService({}, () => ({ poolSize: 1 }));
  const r = await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'src', sizeBytes: 4 * MiB } });
  expect(r.status, r.text).toBe(200);
});
afterAll(async () => {
  await s?.close();
});

/** POST a clone batch; resolve with its job id once it has committed some children (it certainly runs, far from its end). */
async function runningBatch(prefix: string, count: number): Promise<string> {
  const r = await call(s.url, 'POST', '/api/boxes/src/clones', { body: { count, prefix } });
  expect(r.status, r.text).toBe(202);
  await until(`batch ${prefix} to write children`, async () => {
    const j = await call(s.url, 'GET', r.body.links.self);
    return j.body.state === 'active' && (j.body.progress?.done ?? 0) > 0;
  }, 60_000);
  return r.body.jobId as string;
}

const boxes = async (prefix: string) => ((await call(s.url, 'GET', '/api/boxes')).body.boxes as { id: string; state: string }[]).filter((b) => b.id.startsWith(prefix));

describe('POST /api/jobs/:id/cancel', () => {
  it('404 for an unknown job, 400 for a malformed id', async () => {
    const unknown = await call(s.url, 'POST', '/api/jobs/clone-nosuch/cancel');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'E_NOT_FOUND' } });
    expect((await call(s.url, 'POST', '/api/jobs/a.b/cancel')).status).toBe(400);
  });

  it('a waiting job: 200 removed, and nothing of it runs', async () => {
    await s.tp.client.queue('ops').pause();
    let id: string;
    try {
      const r = await call(s.url, 'POST', '/api/boxes/src/clones', { body: { targets: ['w-1', 'w-2'] } });
      expect(r.status).toBe(202);
      id = r.body.jobId;
      const c = await call(s.url, 'POST', `/api/jobs/${id}/cancel`);
      expect(c.status, c.text).toBe(200);
      expect(c.body).toMatchObject({ id, name: 'clone', queue: 'ops', outcome: 'removed', links: { self: `/api/jobs/ops/${id}` } });
    } finally {
      await s.tp.client.queue('ops').resume();
    }
    expect((await call(s.url, 'GET', `/api/jobs/ops/${id}`)).status).toBe(404);
    expect(await boxes('w-')).toEqual([]);
  });

  it('a running batch with ?wait=1: 200 cancelled once it stopped; what it made is ready and valid; then 409', { timeout: 90_000 }, async () => {
    const count = 6000;
    const id = await runningBatch('c-', count);
    const c = await call(s.url, 'POST', `/api/jobs/${id}/cancel?wait=1`);
    expect(c.status, c.text).toBe(200);
    expect(c.body).toMatchObject({ id, name: 'clone', outcome: 'cancelled', error: { code: 'E_CANCELLED' } });
    const { made, undone } = c.body.error.details as { made: number; undone: number };
    expect(made).toBeGreaterThan(0);
    expect(undone).toBeGreaterThan(0);
    expect(made + undone).toBe(count);
    const left = await boxes('c-');
    expect(left).toHaveLength(made);
    expect(left.every((b) => b.state === 'ready')).toBe(true);
    for (const b of [left[0]!, left[left.length - 1]!]) expect(qemuCheck(boxDiskPath(s.tp.layout, b.id)).status, b.id).toBe(0);

    const again = await call(s.url, 'POST', `/api/jobs/${id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'E_CONFLICT' } });
    expect(again.body.error.message).toContain(`GET /api/jobs/ops/${id}`);
  });

  it('a running batch without ?wait: 202 requested, and the job then fails with E_CANCELLED', { timeout: 90_000 }, async () => {
    const count = 6000;
    const id = await runningBatch('n-', count);
    const c = await call(s.url, 'POST', `/api/jobs/${id}/cancel`);
    expect(c.status, c.text).toBe(202);
    expect(c.body).toMatchObject({ id, outcome: 'requested', links: { self: `/api/jobs/ops/${id}` } });
    const ended = await until('the job to fail', async () => {
      const j = await call(s.url, 'GET', `/api/jobs/ops/${id}`);
      return j.body.state === 'failed' ? j.body : null;
    }, 60_000);
    expect(ended.error, JSON.stringify(ended.error)).toMatchObject({ code: 'E_CANCELLED' });
    const left = await boxes('n-');
    expect(left.length).toBe((ended.error.details as { made: number }).made);
    expect(left.length).toBeLessThan(count);
  });

  it('a completed job: 409, naming where its outcome is', async () => {
    const r = await call(s.url, 'POST', '/api/boxes/src/clones?wait=1', { body: { targets: ['d-1'] } });
    expect(r.status, r.text).toBe(200);
    const c = await call(s.url, 'POST', `/api/jobs/${r.body.jobId}/cancel`);
    expect(c.status).toBe(409);
    expect(c.body.error.message).toMatch(/had already completed: nothing to cancel/);
  });
});
