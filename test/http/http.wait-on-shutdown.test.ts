/**
 * A `?wait=1` request open when the service stops does not hold the HTTP server
 * open: its job may never run once the workers stop taking jobs, so shutdown
 * ends the wait with 503 E_SHUTTING_DOWN carrying the job's link, and the close
 * completes (a hang here would fail the test by its timeout).
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { call, startTestService, until, type TestService } from './support.js';

let s: TestService | null = null;
afterEach(async () => {
  await s?.tp.client.close().catch(() => undefined);
  if (s) rmSync(s.dir, { recursive: true, force: true });
  s = null;
});

describe('http: a ?wait=1 request during shutdown', () => {
  it('is answered 503 E_SHUTTING_DOWN with the job link, and the server closes', { timeout: 30_000 }, async () => {
    s = await startTestService();
    await s.tp.pipeline.close(); // the workers have stopped taking jobs (as at SIGTERM)
    const pending = call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'late', sizeBytes: 1 << 20, op: 'late-1' } });
    await until('the job to be queued', async () => (await s!.tp.client.getJob('ops', 'box-create-late-1')) !== null);
    await s.http.close();
    const answer = await pending;
    expect(answer.status).toBe(503);
    expect(answer.body.error).toMatchObject({
      code: 'E_SHUTTING_DOWN',
      details: { job: 'box-create-late-1', link: '/api/jobs/ops/box-create-late-1' },
    });
    // The job itself stays queued for the next start.
    expect(await s.tp.client.queue('ops').getJobState('box-create-late-1')).toBe('waiting');
  });
});
