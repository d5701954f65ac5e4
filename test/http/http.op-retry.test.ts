/**
 * A mutation retried with the same `op` (a client that lost the first answer)
 * joins the first job and gets its outcome, instead of being refused by the
 * checks the first request's own success now fails ("box already exists"). A
 * counted clone with an op and no prefix names the same boxes on the retry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { call, startTestService, type TestService } from './support.js';

let s: TestService | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

describe('http: a retried mutation with the same op joins the first job', () => {
  it('POST /api/boxes retried under the same op after the first finished answers the first job, not 409', async () => {
    s = await startTestService();
    const body = { boxId: 'web', sizeBytes: 1 << 20, op: 'create-web-1' };
    const first = await call(s.url, 'POST', '/api/boxes?wait=1', { body });
    expect(first.status, first.text).toBe(200);
    // The client lost that answer and retries, same body, same op.
    const retry = await call(s.url, 'POST', '/api/boxes?wait=1', { body });
    expect(retry.status, retry.text).toBe(200);
    expect(retry.body.jobId).toBe(first.body.jobId);
  });

  it('POST /api/boxes/:id/clones {count} retried under the same op joins the first job (no E_CONFLICT)', async () => {
    s = await startTestService();
    expect((await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'web', sizeBytes: 1 << 20 } })).status).toBe(200);
    const body = { count: 2, op: 'batch-7' };
    const first = await call(s.url, 'POST', '/api/boxes/web/clones', { body });
    expect(first.status, first.text).toBe(202);
    // Retried at once (the first is still queued or running): same op, same body.
    const retry = await call(s.url, 'POST', '/api/boxes/web/clones', { body });
    expect(retry.status, retry.text).toBe(202);
    expect(retry.body.jobId).toBe(first.body.jobId);
  });
});
