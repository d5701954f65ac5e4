/**
 * On loopback without a token the service trusts this machine, so it answers
 * only when reached as this machine: a `Host` that is not a loopback name (DNS
 * rebinding) or an `Origin` that is not a loopback origin (a web page posting
 * cross-site) is refused with 403 before any route runs. /healthz stays open;
 * the CLI-like callers (no Origin, loopback Host) and the same-origin page and
 * dashboard pass.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isLoopbackHostHeader, isLoopbackOrigin } from '../../src/producers/http/auth.js';
import { gcSettled } from '../helpers/pipeline.js';
import { call, startTestService, type TestService } from './support.js';

let s: TestService;
let port: string;
beforeAll(async () => {
  s = await startTestService();
  port = new URL(s.url).port;
  await gcSettled(s.tp.client); // the start-up sweep, so "nothing queued" below means something
});
afterAll(async () => {
  await s?.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('the Host and Origin rules', () => {
  it.each(['127.0.0.1', '127.0.0.1:7420', 'localhost', 'LOCALHOST:80', '[::1]', '[::1]:7420', '127.0.0.2:1'])('accepts Host %s', (h) => {
    expect(isLoopbackHostHeader(h)).toBe(true);
  });
  it.each([undefined, '', 'evil.example', 'evil.example:7420', '127.0.0.1.evil.example', 'localhost.evil.example', '::1', '[::2]', '0.0.0.0', '10.0.0.1:7420', '127.0.0.1:abc', '127.0.0.1@evil.example'])(
    'refuses Host %s',
    (h) => {
      expect(isLoopbackHostHeader(h)).toBe(false);
    },
  );
  it.each(['http://127.0.0.1:7420', 'http://localhost:3000', 'http://localhost', 'http://[::1]:7420'])('accepts Origin %s', (o) => {
    expect(isLoopbackOrigin(o)).toBe(true);
  });
  it.each(['http://evil.example', 'https://127.0.0.1:7420', 'null', 'file://', 'http://127.0.0.1.evil.example', 'http://localhost.evil.example:7420', 'garbage'])('refuses Origin %s', (o) => {
    expect(isLoopbackOrigin(o)).toBe(false);
  });
});

describe('a loopback bind without a token', () => {
  it.each(['/api/boxes', '/api/forest', '/', '/queues', '/metrics', '/readyz', '/no-such-route'])('refuses GET %s for Host evil.example (403 JSON)', async (path) => {
    const r = await call(s.url, 'GET', path, { headers: { host: `evil.example:${port}` } });
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: 'E_FORBIDDEN', details: { field: 'host', host: `evil.example:${port}` } });
    expect(r.body.error.message).toMatch(/evil\.example/);
    expect(r.headers['www-authenticate']).toBeUndefined();
  });

  it('refuses POST /api/gc from a foreign Origin and queues nothing', async () => {
    const gc = vi.spyOn(s.http.ctx.client, 'gc');
    const enqueue = vi.spyOn(s.http.ctx.client, 'enqueue');
    const r = await call(s.url, 'POST', '/api/gc', { body: {}, headers: { origin: 'http://evil.example' } });
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: 'E_FORBIDDEN', details: { field: 'origin', origin: 'http://evil.example' } });
    expect(gc).not.toHaveBeenCalled();
    expect(enqueue).not.toHaveBeenCalled();
    expect(await s.tp.client.pending('gc')).toBe(0);
    expect(await s.tp.client.pending('ops')).toBe(0);
  });

  it('refuses a rebinding mutation (foreign Host, same-origin-looking Origin) and a `null` Origin', async () => {
    const enqueue = vi.spyOn(s.http.ctx.client, 'enqueue');
    const rebound = await call(s.url, 'POST', '/api/boxes', { body: { boxId: 'sneaky', sizeBytes: 1 << 20 }, headers: { host: `evil.example:${port}`, origin: `http://evil.example:${port}` } });
    expect(rebound.status).toBe(403);
    const sandboxed = await call(s.url, 'POST', '/api/boxes', { body: { boxId: 'sneaky', sizeBytes: 1 << 20 }, headers: { origin: 'null' } });
    expect(sandboxed.status).toBe(403);
    expect(sandboxed.body.error.details.field).toBe('origin');
    expect(enqueue).not.toHaveBeenCalled();
    expect((await call(s.url, 'GET', '/api/boxes')).body.boxes).toEqual([]);
  });

  it('keeps /healthz open whatever the Host and Origin', async () => {
    expect((await call(s.url, 'GET', '/healthz', { headers: { host: 'evil.example', origin: 'http://evil.example' } })).status).toBe(200);
  });

  it('serves loopback Hosts and loopback Origins as before', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) {
      const r = await call(s.url, 'GET', '/api/boxes', { headers: { host } });
      expect(r.status, host).toBe(200);
    }
    expect((await call(s.url, 'GET', '/', { headers: { origin: s.url } })).status).toBe(200);
    expect((await call(s.url, 'GET', '/queues/api/queues', { headers: { origin: s.url } })).status).toBe(200);
    const sweep = await call(s.url, 'POST', '/api/gc', { body: {}, headers: { origin: `http://localhost:${port}` } });
    expect(sweep.status).toBe(202);
    expect(sweep.body).toMatchObject({ name: 'sweep', queue: 'gc' });
    await gcSettled(s.tp.client);
  });
});
