/** Structured logs: JSON lines off a terminal; a job's line carries jobId, op, baseId and boxId. */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, jobFields } from '../../src/producers/http/logging.js';
import { call, startTestService, until, type TestService } from './support.js';

const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
    done();
  },
});

let s: TestService;
beforeAll(async () => {
  s = await startTestService({ log: createLogger({ pretty: false, destination: sink }) });
});
afterAll(async () => {
  await s?.close();
});

describe('job log lines', () => {
  it('derives the ids from a job-finished event', () => {
    const f = jobFields({ queue: 'ops', name: 'clone', jobId: 'clone-abc123', ok: true, durationMs: 3, result: { baseId: 'AbCdEf12', source: 'web', targets: ['a', 'b'] } });
    expect(f).toEqual({ jobId: 'clone-abc123', job: 'clone', queue: 'ops', op: 'abc123', baseId: 'AbCdEf12', boxId: 'web', targets: 2 });
    expect(jobFields({ queue: 'gc', name: 'gc', jobId: 'gc-AbCdEf12', ok: true, durationMs: 1, result: { collected: false } })).toMatchObject({ baseId: 'AbCdEf12' });
  });

  it('writes one JSON line per finished job with its ids, and one per API request', async () => {
    const created = await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'logged', sizeBytes: 1 << 20 } });
    const clone = await call(s.url, 'POST', '/api/boxes/logged/clones?wait=1', { body: { targets: ['logged-1'] } });
    const op = String(clone.body.jobId).slice('clone-'.length);
    const line = await until('the clone line', () => lines.find((l) => l.jobId === clone.body.jobId));
    expect(line).toMatchObject({ level: 30, job: 'clone', op, baseId: clone.body.result.baseId, boxId: 'logged', msg: 'clone done' });
    expect(lines.find((l) => l.jobId === created.body.jobId)).toMatchObject({ boxId: 'logged', msg: 'box-create done' });
    expect(lines.some((l) => l.msg === 'request' && l.url === '/api/boxes?wait=1' && l.status === 200)).toBe(true);
  });
});
