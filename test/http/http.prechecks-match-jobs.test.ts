/**
 * A request the API refuses before queueing is one its job refuses too, with
 * the same code, message and details (the routes and the flows share
 * src/db/lookups.ts), and the API never answers 202 for a job bound to fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobInput, JobName } from '../../src/contract/jobs.js';
import { ForkpointError } from '../../src/errors.js';
import { call, startTestService, type TestService } from './support.js';

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
  for (const box of ['a', 'b']) {
    await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: box, sizeBytes: 1 << 20 } });
    // The same snapshot name under two boxes: a request that names no box is ambiguous.
    await call(s.url, 'POST', `/api/boxes/${box}/snapshots?wait=1`, { body: { name: 'dup' } });
  }
});
afterAll(async () => {
  await s?.close();
});

/** What the job itself says, queued directly (as another service would), bypassing the HTTP pre-checks. */
async function jobError<N extends JobName>(name: N, input: JobInput<N>): Promise<ReturnType<ForkpointError['toJSON']>> {
  const err = await (await s.tp.client.enqueue(name, input)).result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ForkpointError);
  return (err as ForkpointError).toJSON();
}

const cases: { what: string; method: string; path: string; body?: unknown; status: number; job: () => Promise<ReturnType<ForkpointError['toJSON']>> }[] = [
  {
    what: 'remove a snapshot name two boxes have',
    method: 'DELETE',
    path: '/api/snapshots/dup',
    status: 409,
    job: () => jobError('snapshot-remove', { op: 'pc-1', name: 'dup' }),
  },
  {
    what: 'clone a snapshot name two boxes have',
    method: 'POST',
    path: '/api/snapshots/dup/clones',
    body: { target: 'x1' },
    status: 409,
    job: () => jobError('snapshot-clone', { op: 'pc-2', name: 'dup', target: 'x1' }),
  },
  {
    what: 'remove a snapshot a box does not have',
    method: 'DELETE',
    path: '/api/snapshots/nope?box=a',
    status: 404,
    job: () => jobError('snapshot-remove', { op: 'pc-3', name: 'nope', boxId: 'a' }),
  },
  {
    what: 'a box on an unknown rootfs',
    method: 'POST',
    path: '/api/boxes',
    body: { boxId: 'x2', rootfs: 'nope' },
    status: 404,
    job: () => jobError('box-create', { op: 'pc-4', boxId: 'x2', rootfs: 'nope' }),
  },
];

describe('HTTP pre-checks and jobs refuse alike', () => {
  for (const c of cases) {
    it(c.what, async () => {
      const before = await s.tp.client.pending('ops');
      const r = await call(s.url, c.method, c.path, c.body === undefined ? {} : { body: c.body });
      expect(r.status, JSON.stringify(r.body)).toBe(c.status);
      expect(await s.tp.client.pending('ops'), 'nothing queued').toBe(before);
      expect(r.body.error).toEqual(await c.job());
    });
  }
});
