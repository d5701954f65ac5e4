/** bull-board under /queues: this home's two queues, read-only without a token, job payloads shown. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueName } from '../../src/contract/queues.js';
import { call, startTestService, type TestService } from './support.js';

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  await s?.close();
});

describe('queue dashboard', () => {
  it('serves the bull-board page under /queues', async () => {
    const r = await call(s.url, 'GET', '/queues');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.text).toContain('<base href="/queues/"');
    const script = /src="(static\/js\/main[^"]+)"/.exec(r.text)?.[1];
    expect(script).toBeDefined();
    expect((await call(s.url, 'GET', `/queues/${script}`)).status).toBe(200);
  });

  it('shows the ops and gc queues of this home, read-only, with job payloads', async () => {
    const created = await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'dash', sizeBytes: 1 << 20 } });
    const ops = queueName(s.tp.homeId, 'ops');
    const r = await call(s.url, 'GET', `/queues/api/queues?activeQueue=${encodeURIComponent(ops)}&status=completed&page=1`);
    expect(r.status).toBe(200);
    const queues = r.body.queues as { name: string; readOnlyMode: boolean; jobs: { id: string; data: unknown }[] }[];
    expect(queues.map((q) => q.name).sort()).toEqual([queueName(s.tp.homeId, 'gc'), ops].sort());
    for (const q of queues) expect(q.readOnlyMode).toBe(true);
    const job = queues.find((q) => q.name === ops)!.jobs.find((j) => j.id === created.body.jobId);
    expect(job?.data).toMatchObject({ boxId: 'dash', sizeBytes: 1 << 20 });
  });

  it('refuses actions on jobs when read-only', async () => {
    const ops = queueName(s.tp.homeId, 'ops');
    const r = await call(s.url, 'PUT', `/queues/api/queues/${encodeURIComponent(ops)}/clean/completed`);
    expect(r.status).toBeGreaterThanOrEqual(400);
    const still = await s.tp.client.queue('ops').getJobCounts('completed');
    expect(still.completed).toBeGreaterThan(0);
  });
});
