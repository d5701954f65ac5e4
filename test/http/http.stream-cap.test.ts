/**
 * One cap on long-lived requests: SSE streams (`/api/events`, a job's
 * progress) and `?wait=1` mutations share `maxStreams` slots. Past the cap
 * the answer comes at once: 503 E_BUSY with `Retry-After`, in the usual JSON
 * error shape, and a refused `?wait=1` queued nothing. A slot comes back when
 * its stream ends, its answer is sent, or its client goes away. Plain
 * requests are not capped. `serve --max-streams N` sets the cap.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isForkpointError, type ForkpointError } from '../../src/errors.js';
import type { FastifyReply } from 'fastify';
import { openSse, type SseStream } from '../../src/producers/http/sse.js';
import { DEFAULT_MAX_STREAMS, createStreamSlots } from '../../src/producers/http/stream-slots.js';
import { gcSettled, runCli, startServe, useCleanup } from '../helpers/pipeline.js';
import { call, homePicture, readSse, startTestService, until, type Reply, type TestService } from './support.js';

const MAX = 3;
let s: TestService;
/** A job that has completed: its progress stream opens, replays the end and closes. */
let doneJob: { self: string; events: string };

beforeAll(async () => {
  s = await startTestService({ maxStreams: MAX });
  const made = await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'src', sizeBytes: 1 << 20 } });
  expect(made.status).toBe(200);
  doneJob = made.body.links;
  await gcSettled(s.tp.client);
});
afterAll(async () => {
  await s?.close();
});

interface HeldStream {
  status: number;
  headers: IncomingMessage['headers'];
  /** The first event (the stream is open and its slot held), or for a refusal the JSON body. */
  first: string;
  /** Go away as a client does: the connection is destroyed. */
  close(): void;
}

/**
 * Open an SSE stream and keep it open: resolves at the first event, or with
 * the whole body when the server answers with an error instead.
 */
function holdStream(base: string, path: string): Promise<HeldStream> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, headers: { accept: 'text/event-stream' } }, (res) => {
      let text = '';
      let done = false;
      const answer = (first: string) => {
        if (done) return;
        done = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, first, close: () => req.destroy() });
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (res.statusCode === 200) {
          const m = /^event: (.+)$/m.exec(text);
          if (m) answer(m[1]!);
        }
      });
      res.on('end', () => answer(text));
      res.on('error', reject);
    });
    req.on('error', (err) => {
      // A destroyed stream (close()) reports an abort here; that is the point, not a failure.
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
    req.end();
  });
}

/** Every open test stream, closed after each test so the next starts with free slots. */
const held: HeldStream[] = [];
async function hold(path = '/api/events'): Promise<HeldStream> {
  const h = await holdStream(s.url, path);
  held.push(h);
  return h;
}
async function releaseAll(): Promise<void> {
  for (const h of held.splice(0)) h.close();
  await until('every slot to be given back', () => s.http.ctx.slots.inUse === 0);
}

function expectBusy(r: { status: number; headers: Record<string, unknown> }, body: unknown): void {
  expect(r.status).toBe(503);
  expect(r.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  expect(String(r.headers['content-type'])).toMatch(/application\/json/);
  const error = (body as { error: { code: string; message: string; details: Record<string, unknown> } }).error;
  expect(error.code).toBe('E_BUSY');
  expect(error.message).toMatch(/too many open streams/);
  expect(error.details).toMatchObject({ limit: MAX, retryAfterSeconds: Number(r.headers['retry-after']) });
}

describe('the stream cap', () => {
  it('is 256 by default, and refuses a cap that is not a positive integer', async () => {
    expect(DEFAULT_MAX_STREAMS).toBe(256);
    expect(createStreamSlots().max).toBe(256);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      let err: unknown = null;
      try {
        createStreamSlots(bad);
      } catch (e) {
        err = e;
      }
      expect(isForkpointError(err, 'E_INVALID_ARGUMENT'), String(bad)).toBe(true);
      expect((err as ForkpointError).details.field).toBe('maxStreams');
    }
    const err = await startTestService({ maxStreams: 0 }).catch((e: unknown) => e);
    expect(isForkpointError(err, 'E_INVALID_ARGUMENT')).toBe(true);
    expect(s.http.ctx.slots.max).toBe(MAX);
  });

  it('at the cap, one more event stream, job stream or ?wait=1 request is refused at once with 503 E_BUSY and Retry-After', async () => {
    try {
      for (let i = 0; i < MAX; i++) expect((await hold()).first).toBe('hello');
      expect(s.http.ctx.slots.inUse).toBe(MAX);

      const events = await holdStream(s.url, '/api/events');
      expectBusy(events, JSON.parse(events.first));

      const job = await holdStream(s.url, doneJob.events);
      expectBusy(job, JSON.parse(job.first));

      // A refused ?wait=1 queued nothing and changed nothing.
      const before = homePicture(s.tp.layout.home);
      const countsBefore = await s.tp.client.queue('ops').getJobCounts();
      const waited = await call(s.url, 'POST', '/api/boxes/src/clones?wait=1', { body: { targets: ['refused'] } });
      expectBusy(waited, waited.body);
      expect(homePicture(s.tp.layout.home)).toEqual(before);
      expect(await s.tp.client.queue('ops').getJobCounts()).toEqual(countsBefore);
      expect((await call(s.url, 'GET', '/api/boxes/refused')).status).toBe(404);

      // The refusals held nothing.
      expect(s.http.ctx.slots.inUse).toBe(MAX);
      // Requests that do not stay open are not capped.
      expect((await call(s.url, 'GET', '/api/boxes')).status).toBe(200);
      expect((await call(s.url, 'GET', doneJob.self)).status).toBe(200);
      expect((await call(s.url, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await releaseAll();
    }
  });

  it('a client that goes away gives its slot back: with one stream closed, a new one is accepted', async () => {
    try {
      for (let i = 0; i < MAX; i++) await hold();
      const refused = await holdStream(s.url, '/api/events');
      expect(refused.status).toBe(503);

      held.shift()!.close();
      await until('the closed stream to give its slot back', () => s.http.ctx.slots.inUse === MAX - 1);

      const again = await hold();
      expect(again.status).toBe(200);
      expect(again.first).toBe('hello');
      // Full again: the freed slot was taken by the new stream, not handed out twice.
      expect(s.http.ctx.slots.inUse).toBe(MAX);
      expect((await holdStream(s.url, '/api/events')).status).toBe(503);
    } finally {
      await releaseAll();
    }
  });

  it('a stream the server ends and an answered ?wait=1 give their slots back (more of each than the cap, one after another)', async () => {
    for (let i = 0; i < MAX + 2; i++) {
      const { status, events } = await readSse(s.url, doneJob.events);
      expect(status).toBe(200);
      expect(events.at(-1)?.event).toBe('completed');
      await until('the ended stream to give its slot back', () => s.http.ctx.slots.inUse === 0);
    }
    for (let i = 0; i < MAX + 2; i++) {
      const r: Reply = await call(s.url, 'POST', '/api/boxes/src/clones?wait=1', { body: { targets: [`seq-${i}`] } });
      expect(r.status).toBe(200);
      expect(r.body.state).toBe('completed');
      await until('the answered request to give its slot back', () => s.http.ctx.slots.inUse === 0);
    }
    // A ?wait=1 that fails (here: the target exists) gives its slot back too.
    const failed = await call(s.url, 'POST', '/api/boxes/src/clones?wait=1', { body: { targets: ['seq-0'] } });
    expect(failed.status).toBe(409);
    await until('the refused request to give its slot back', () => s.http.ctx.slots.inUse === 0);
    // And the whole cap is there to take.
    try {
      for (let i = 0; i < MAX; i++) expect((await hold()).status).toBe(200);
    } finally {
      await releaseAll();
    }
  });
});

describe('a client that left before its stream opened', () => {
  it('holds no slot, and its stream ends at once (its listeners go)', async () => {
    // A real server whose handler gets going only after the client has gone, as a route does when
    // the client leaves during an await (the job lookup) before it takes a slot and opens the stream.
    const gone = new Promise<ServerResponse>((resolveGone) => {
      const server = createServer((_req, res) => {
        res.once('close', () => {
          server.close();
          resolveGone(res);
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const req = httpRequest({ host: '127.0.0.1', port: (server.address() as { port: number }).port, path: '/' });
        req.on('error', () => undefined);
        req.end();
        server.once('request', () => req.destroy());
      });
    });
    const res = await gone;
    const reply = { raw: res, hijack() {} } as unknown as FastifyReply;
    const slots = createStreamSlots(1);
    slots.take(reply);
    expect(slots.inUse).toBe(0);
    const registry = new Set<SseStream>();
    const stream = openSse(reply, registry);
    let cleanedUp = false;
    stream.onClose(() => (cleanedUp = true));
    expect(stream.closed).toBe(true);
    expect(registry.size).toBe(0);
    expect(cleanedUp).toBe(true);
  });
});

describe('serve --max-streams', () => {
  const { defer, killAtEnd } = useCleanup();
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forkpoint-max-streams-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(['0', '-1', '1.5', 'abc', '', '1e3'])('`--max-streams %j` exits 2 with E_INVALID_ARGUMENT naming max-streams', async (value) => {
    const home = join(dir, `bad-${Math.random().toString(36).slice(2)}`);
    const r = await runCli(['--home', home, '--redis', inject('redisUrl'), 'serve', '--port', '0', '--max-streams', value, '--json']);
    expect(r.status, r.stderr).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'E_INVALID_ARGUMENT', details: { field: 'max-streams' } });
  });

  it('`--max-streams 1` caps the running service at one stream', { timeout: 90_000 }, async () => {
    const home = join(dir, 'one');
    const serve = killAtEnd(await startServe(home, inject('redisUrl'), ['--max-streams', '1'], { env: { FORKPOINT_POOL_SIZE: '1' } }));
    await serve.waitForStderr(/listening on http:\/\/\S+/);
    const url = /listening on (http:\/\/\S+)/.exec(serve.stderr())![1]!;
    const first = await holdStream(url, '/api/events');
    defer(() => first.close());
    expect(first.status).toBe(200);
    const second = await holdStream(url, '/api/events');
    expect(second.status).toBe(503);
    expect(JSON.parse(second.first).error.code).toBe('E_BUSY');
    first.close();
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toEqual({ code: 0, signal: null });
  });
});
