/** /healthz is always up; /readyz is 200 only when Redis answers, the DB reads and recovery is done. */
import { afterEach, describe, expect, it } from 'vitest';
import { call, startTestService, type TestService } from './support.js';

let s: TestService | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

describe('health and readiness', () => {
  it('is healthy and ready on a running service', async () => {
    s = await startTestService();
    expect((await call(s.url, 'GET', '/healthz')).body).toEqual({ ok: true });
    const ready = await call(s.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ ready: true, problems: [], recovery: { found: 0 } });
  });

  it('is not ready (503, naming the check) when Redis does not answer, while /healthz stays 200', async () => {
    s = await startTestService({ probes: { redis: async () => 'connect ECONNREFUSED' } });
    const ready = await call(s.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.ready).toBe(false);
    expect(ready.body.problems).toEqual([{ check: 'redis', problem: 'connect ECONNREFUSED' }]);
    expect((await call(s.url, 'GET', '/healthz')).status).toBe(200);
  });

  it('is not ready once shutdown has begun', async () => {
    s = await startTestService();
    s.http.ctx.stopping = true;
    const ready = await call(s.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.problems).toContainEqual({ check: 'service', problem: 'shutting down' });
  });
});
