/** The box and clone routes, job polling, and a batch clone whose SSE progress reaches N/N. */
import { existsSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxDiskPath } from '../../src/layout.js';
import { qemuCheck, qemuInfo } from '../helpers/qemu.js';
import { gcSettled } from '../helpers/pipeline.js';
import { call, readSse, startTestService, until, type TestService } from './support.js';

const MiB = 1024 * 1024;
let s: TestService;

beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  await s?.close();
});

describe('boxes over HTTP', () => {
  it('creates a box (202 + job handle), and the job handle can be polled to completion', async () => {
    const r = await call(s.url, 'POST', '/api/boxes', { body: { boxId: 'src', sizeBytes: 4 * MiB } });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ queue: 'ops', name: 'box-create', state: 'queued' });
    expect(r.body.links.self).toBe(`/api/jobs/ops/${r.body.jobId}`);
    const done = await until('box-create to complete', async () => {
      const j = await call(s.url, 'GET', r.body.links.self);
      return j.body.state === 'completed' ? j : null;
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ id: r.body.jobId, name: 'box-create', state: 'completed', error: null });
    expect(done.body.result.boxId).toBe('src');
    expect(qemuInfo(boxDiskPath(s.tp.layout, 'src'))['virtual-size']).toBe(4 * MiB);
  });

  it('lists boxes and shows one with its refs', async () => {
    const list = await call(s.url, 'GET', '/api/boxes');
    expect(list.status).toBe(200);
    expect(list.body.boxes.map((b: { id: string }) => b.id)).toContain('src');
    const one = await call(s.url, 'GET', '/api/boxes/src');
    expect(one.status).toBe(200);
    expect(one.body.box).toMatchObject({ id: 'src', state: 'ready', baseId: null });
    expect(one.body.refs).toEqual([]);
  });

  it('clones into named targets with ?wait=1 and answers with the result', async () => {
    const r = await call(s.url, 'POST', '/api/boxes/src/clones?wait=1', { body: { targets: ['a1', 'a2'] } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'completed', name: 'clone', result: { source: 'src', targets: ['a1', 'a2'] } });
    for (const id of ['src', 'a1', 'a2']) expect(qemuCheck(boxDiskPath(s.tp.layout, id)).status).toBe(0);
    const box = await call(s.url, 'GET', '/api/boxes/a1');
    expect(box.body.box.baseId).toBe(r.body.result.baseId);
    expect(box.body.refs).toContain(r.body.result.baseId);
  });

  it('runs a batch clone whose progress stream reaches N/N and then reports completion', async () => {
    const N = 40;
    const r = await call(s.url, 'POST', '/api/boxes/src/clones', { body: { count: N, prefix: 'batch-' } });
    expect(r.status).toBe(202);
    const { status, events } = await readSse(s.url, r.body.links.events);
    expect(status).toBe(200);
    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toEqual({ done: N, total: N, phase: 'writing children' });
    for (const p of progress) expect(p.total).toBe(N);
    const last = events.at(-1)!;
    expect(last.event).toBe('completed');
    expect(last.data.result.targets).toHaveLength(N);
    expect(last.data.result.targets[0]).toBe('batch-1');
    const boxes = await call(s.url, 'GET', '/api/boxes');
    expect(boxes.body.boxes.filter((b: { id: string; state: string }) => b.id.startsWith('batch-') && b.state === 'ready')).toHaveLength(N);
  });

  it('streams a failed job to its `failed` event, and ?wait=1 answers with the job\'s typed error', async () => {
    // Only the job can find out that the file is not a qcow2 image (a missing one the API refuses
    // itself, see api.bad-input): the API queues it, the job fails.
    const image = `${s.dir}/not-an-image.qcow2`;
    writeFileSync(image, 'this is not a disk image\n');
    const body = { boxId: 'from-nothing', fromImage: image };
    const r = await call(s.url, 'POST', '/api/boxes', { body });
    expect(r.status).toBe(202);
    const { events } = await readSse(s.url, r.body.links.events);
    expect(events.at(-1)).toMatchObject({ event: 'failed', data: { jobId: r.body.jobId, error: { code: 'E_NOT_QCOW2' } } });
    const job = await call(s.url, 'GET', r.body.links.self);
    expect(job.body).toMatchObject({ state: 'failed', error: { code: 'E_NOT_QCOW2' } });
    const waited = await call(s.url, 'POST', '/api/boxes?wait=1', { body: { ...body, boxId: 'from-nothing-2' } });
    expect(waited.status).toBe(422);
    expect(waited.body.error.code).toBe('E_NOT_QCOW2');
    expect((await call(s.url, 'GET', '/api/boxes/from-nothing')).status).toBe(404);
  });

  it('removes a box (DELETE), its disk goes, and GC takes the bases nothing reads', async () => {
    const before = await call(s.url, 'GET', '/api/boxes/a2');
    const baseId = before.body.box.baseId as string;
    const r = await call(s.url, 'DELETE', '/api/boxes/a2?wait=1');
    expect(r.status).toBe(200);
    expect(r.body.result.boxId).toBe('a2');
    expect(existsSync(boxDiskPath(s.tp.layout, 'a2'))).toBe(false);
    expect((await call(s.url, 'GET', '/api/boxes/a2')).status).toBe(404);
    await gcSettled(s.tp.client);
    // a1 and src still read that base
    expect((await call(s.url, 'GET', `/api/bases/${baseId}`)).body.refs).toContain('a1');
  });

  it('answers 404 for a job id the queue does not know', async () => {
    const r = await call(s.url, 'GET', '/api/jobs/ops/clone-nosuchjob');
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ code: 'E_NOT_FOUND', details: { field: 'id' } });
  });
});
