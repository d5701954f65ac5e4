/**
 * bull-board as an operator reads it: a user mistake is labelled as one (class in the
 * name and the reason, no stack trace) and a fault is labelled FAULT; the service's own
 * GC runs stay on the board after they end, and a kept run does not swallow the next
 * request for the same base; the page loads nothing from another origin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failedReason } from '../../src/contract/failed-reason.js';
import { gcRunJobId, queueName } from '../../src/contract/queues.js';
import { ErrorCodes, ForkpointError } from '../../src/errors.js';
import { markFailure } from '../../src/producers/http/dashboard-failures.js';
import { gcSettled } from '../helpers/pipeline.js';
import { call, startTestService, until, type TestService } from './support.js';

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  await s?.close();
});

interface BoardJob {
  id: string;
  name: string;
  data: Record<string, unknown>;
  returnValue: Record<string, unknown> | null;
  failedReason: string | null;
  stacktrace: string[];
}

async function boardJobs(role: 'ops' | 'gc', status: 'failed' | 'completed'): Promise<BoardJob[]> {
  const name = queueName(s.tp.homeId, role);
  const r = await call(s.url, 'GET', `/queues/api/queues?activeQueue=${encodeURIComponent(name)}&status=${status}&page=1&jobsPerPage=100`);
  expect(r.status).toBe(200);
  return (r.body.queues as { name: string; jobs: BoardJob[] }[]).find((q) => q.name === name)!.jobs;
}

describe('failures on the board', () => {
  it('shows a user mistake as a user error, without a stack trace', async () => {
    const handle = await s.tp.client.clone('nobody-here', ['n-1']);
    await expect(handle.result()).rejects.toMatchObject({ code: 'E_UNKNOWN_BOX' });
    const job = (await boardJobs('ops', 'failed')).find((j) => j.id === handle.id)!;
    expect(job.name).toBe('clone · user error');
    expect(job.failedReason).toMatch(/^user error · E_UNKNOWN_BOX: /);
    expect(job.stacktrace).toEqual([]);
    // One job alone, as the board's job page reads it.
    const one = await call(s.url, 'GET', `/queues/api/queues/${encodeURIComponent(queueName(s.tp.homeId, 'ops'))}/${handle.id}`);
    expect(one.body.job).toMatchObject({ name: 'clone · user error', stacktrace: [] });
    // Redis keeps the reason as producers parse it.
    expect((await s.tp.client.queue('ops').getJob(handle.id!))!.failedReason).toMatch(/^E_UNKNOWN_BOX: /);
  });

  it('labels a fault as FAULT and keeps its stack', () => {
    const reason = failedReason(new ForkpointError(ErrorCodes.NO_SPACE, 'write /h/bases/x.qcow2: no space left on device', { path: '/h/bases/x.qcow2' }));
    const marked = markFailure({ name: 'clone', failedReason: reason, stacktrace: ['Error: at write'] });
    expect(marked).toEqual({ name: 'clone · FAULT', failedReason: `FAULT · ${reason}`, stacktrace: ['Error: at write'] });
    // A reason without our code (a crash in a dependency) is a fault too; a job that did not fail is left alone.
    expect(markFailure({ name: 'gc', failedReason: 'TypeError: x is undefined', stacktrace: [] }).name).toBe('gc · FAULT');
    expect(markFailure({ name: 'gc', failedReason: null, stacktrace: [] })).toEqual({ name: 'gc', failedReason: null, stacktrace: [] });
  });
});

describe('GC history', () => {
  it("keeps the service's own GC runs, and a kept run does not hold back the next request", async () => {
    await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'g', sizeBytes: 1 << 20 } });
    const base = (await call(s.url, 'POST', '/api/boxes/g/clones?wait=1', { body: { targets: ['g-1'] } })).body.result.baseId as string;
    await call(s.url, 'DELETE', '/api/boxes/g-1?wait=1');
    await gcSettled(s.tp.client);
    const runsOf = async () => (await boardJobs('gc', 'completed')).filter((j) => j.name === 'gc' && j.data.baseId === base);
    const kept = await until('the first GC run on the board', async () => {
      const runs = await runsOf();
      return runs.length >= 1 && runs;
    });
    expect(kept.map((j) => j.returnValue)).toEqual([expect.objectContaining({ baseId: base, collected: false })]);

    // Its last reader goes: the same base is asked for again, and this time collected.
    await call(s.url, 'DELETE', '/api/boxes/g?wait=1');
    await until('the base collected', async () => (await call(s.url, 'GET', `/api/bases/${base}`)).status === 404);
    await gcSettled(s.tp.client);
    const runs = await runsOf();
    expect(runs.length).toBe(2);
    expect(runs.map((j) => j.returnValue?.collected).sort()).toEqual([false, true]);
    expect(new Set(runs.map((j) => j.id)).size).toBe(2);
  });

  it('gives every run its own id, thousands in one go (a sweep), so none collapses into another', () => {
    const ids = Array.from({ length: 5_000 }, () => gcRunJobId('AAAAAAAA'));
    expect(new Set(ids).size).toBe(5_000);
    for (const id of ids.slice(0, 3)) expect(id).toMatch(/^gc-AAAAAAAA-[A-Za-z0-9_-]+$/);
  });
});

describe('the board page', () => {
  it('loads nothing from another origin', async () => {
    const r = await call(s.url, 'GET', '/queues');
    expect(r.status).toBe(200);
    expect(r.text).not.toMatch(/https?:\/\//);
    expect(r.text).toContain('static/css/main');
    expect(r.headers['content-security-policy']).toMatch(/default-src 'self'/);
  });
});
