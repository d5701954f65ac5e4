/**
 * Beyond loopback a token is required: without one the service refuses to
 * start; with one every route but /healthz wants it (Bearer for scripts,
 * Basic for browsers), and the dashboard may act on jobs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isForkpointError } from '../../src/errors.js';
import { queueName } from '../../src/contract/queues.js';
import { startHttpServer } from '../../src/producers/http/server.js';
import { call, readSse, startTestService, type TestService } from './support.js';

const TOKEN = 'test-token-0123456789';
const bearer = { authorization: `Bearer ${TOKEN}` };
const basic = { authorization: `Basic ${Buffer.from(`anyone:${TOKEN}`).toString('base64')}` };

let s: TestService;
let url: string;
beforeAll(async () => {
  s = await startTestService({ host: '0.0.0.0', token: TOKEN });
  url = s.url.replace('0.0.0.0', '127.0.0.1');
});
afterAll(async () => {
  await s?.close();
});

describe('auth on a non-loopback bind', () => {
  it('listens on 0.0.0.0 and keeps /healthz open', async () => {
    expect(s.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    expect((await call(url, 'GET', '/healthz')).status).toBe(200);
  });

  it.each(['/api/boxes', '/api/forest', '/readyz', '/metrics', '/', '/queues', '/api/events'])('refuses %s without the token (401 JSON)', async (path) => {
    const r = await call(url, 'GET', path);
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ code: 'E_UNAUTHORIZED', details: { field: 'authorization' } });
  });

  it('refuses a wrong token and a mutation without one, and changes nothing', async () => {
    expect((await call(url, 'GET', '/api/boxes', { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const r = await call(url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'sneaky', sizeBytes: 1 << 20 } });
    expect(r.status).toBe(401);
    expect(await s.tp.client.queue('ops').getJobCounts()).toMatchObject({ waiting: 0, active: 0, completed: 0 });
  });

  it('asks browsers for credentials on pages, not on the API', async () => {
    expect((await call(url, 'GET', '/')).headers['www-authenticate']).toMatch(/^Basic /);
    expect((await call(url, 'GET', '/api/boxes')).headers['www-authenticate']).toBeUndefined();
  });

  it('serves everything with the token (Bearer or Basic)', async () => {
    const created = await call(url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'ok', sizeBytes: 1 << 20 }, headers: bearer });
    expect(created.status).toBe(200);
    expect((await call(url, 'GET', '/api/boxes', { headers: bearer })).body.boxes.map((b: { id: string }) => b.id)).toEqual(['ok']);
    expect((await call(url, 'GET', '/readyz', { headers: bearer })).status).toBe(200);
    expect((await call(url, 'GET', '/metrics', { headers: bearer })).text).toContain('forkpoint_boxes');
    const page = await call(url, 'GET', '/', { headers: basic });
    expect(page.status).toBe(200);
    expect(page.text).toContain('forkpoint');
    const events = await readSse(url, created.body.links.events, bearer);
    expect(events.events.at(-1)?.event).toBe('completed');
  });

  it('lets the dashboard act on jobs when the token is configured', async () => {
    const r = await call(url, 'GET', '/queues/api/queues', { headers: bearer });
    expect(r.status).toBe(200);
    const ops = (r.body.queues as { name: string; readOnlyMode: boolean }[]).find((q) => q.name === queueName(s.tp.homeId, 'ops'));
    expect(ops?.readOnlyMode).toBe(false);
  });
});

describe('refusal to serve beyond loopback without a token', () => {
  it('startHttpServer throws E_INVALID_ARGUMENT naming the token', async () => {
    const err = await startHttpServer({ ...s.http.ctx, redisUrl: s.tp.redisUrl, prefix: 'x', log: s.http.ctx.log, host: '0.0.0.0', port: 0, token: null }).catch((e: unknown) => e);
    expect(isForkpointError(err, 'E_INVALID_ARGUMENT')).toBe(true);
    expect((err as { details: { field: string } }).details.field).toBe('token');
  });

  it('`forkpoint serve --host 0.0.0.0` exits 2 with a clear message before touching the home', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forkpoint-auth-'));
    try {
      const home = join(dir, 'home');
      const env = { ...process.env, FORKPOINT_HOME: home, REDIS_URL: s.tp.redisUrl } as NodeJS.ProcessEnv;
      delete env.FORKPOINT_TOKEN;
      const r = spawnSync(process.execPath, ['bin/forkpoint.js', 'serve', '--host', '0.0.0.0', '--port', '0'], { env, encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without a token.*\[E_INVALID_ARGUMENT\]/);
      expect(existsSync(home)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
