/**
 * The OpenAPI document at /openapi.json, from a real service: valid OpenAPI
 * 3.1 (checked by @seriousme/openapi-schema-validator, every $ref resolved),
 * every route fastify registered is in it (routes seen through an onRoute
 * hook, so a route file added later is covered without touching this test),
 * its request schemas are the ones that validate (what the document refuses,
 * the service refuses, with the error the document describes), and the docs
 * page at /docs loads in headless Chromium with no request leaving the service.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { RouteOptions } from 'fastify';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUndocumented } from '../../src/producers/http/openapi.js';
import { call, startTestService, type TestService } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
let s: TestService;
const routes: { method: string; url: string }[] = [];
let doc: any;

beforeAll(async () => {
  s = await startTestService({
    onRoute: (r: RouteOptions) => {
      for (const method of [r.method].flat()) routes.push({ method, url: r.url });
    },
  });
  const r = await call(s.url, 'GET', '/openapi.json');
  expect(r.status).toBe(200);
  doc = r.body;
});
afterAll(async () => {
  await s?.close();
});

/** `/api/boxes/:id` → `/api/boxes/{id}`, as OpenAPI writes a path. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document whose references all resolve', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it('has every route the service registered (but the UIs’ own assets), each with the error shape', () => {
    const documented = routes.filter((r) => r.method !== 'HEAD' && !isUndocumented(r.url));
    expect(documented.length).toBeGreaterThan(20);
    const missing = documented.filter((r) => doc.paths?.[openApiPath(r.url)]?.[r.method.toLowerCase()] === undefined);
    expect(missing).toEqual([]);
    for (const r of documented) {
      const op = doc.paths[openApiPath(r.url)][r.method.toLowerCase()];
      for (const status of ['4XX', '5XX']) expect(op.responses[status]?.content?.['application/json']?.schema, `${r.method} ${r.url} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
      // Path parameters are declared, with the URL's names.
      const names = [...r.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name);
      expect(declared.sort(), `${r.method} ${r.url}`).toEqual(names.sort());
    }
    // Nothing is documented that the service does not serve.
    const served = new Set(routes.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`));
    for (const [path, ops] of Object.entries(doc.paths as Record<string, object>)) {
      for (const method of Object.keys(ops)) expect(served.has(`${method} ${path}`), `${method} ${path}`).toBe(true);
    }
  });

  it('describes requests with the schemas that validate them: what it refuses, the service refuses', async () => {
    const create = doc.paths['/api/boxes'].post;
    const body = create.requestBody.content['application/json'].schema;
    expect(body.properties.sizeBytes.multipleOf).toBe(512);
    expect(body.oneOf).toHaveLength(3);
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ ...doc.components.schemas.Error, $id: 'error' });
    const fits = ajv.compile(body);
    const errorShape = ajv.getSchema('error')!;

    // Each refusal: the document's schema says no, and so does the service, in the documented error shape.
    const refused = [
      { boxId: 'b1', sizeBytes: 1000 },
      { boxId: 'b1', sizeBytes: 1 << 20, rootfs: 'alpine' },
      { boxId: '../etc', sizeBytes: 1 << 20 },
      { boxId: 'b1', sizeBytes: 1 << 20, extra: true },
    ];
    for (const payload of refused) {
      expect(fits(payload), JSON.stringify(payload)).toBe(false);
      const r = await call(s.url, 'POST', '/api/boxes', { body: payload });
      expect(r.status, JSON.stringify(payload)).toBe(400);
      expect(errorShape(r.body), JSON.stringify(errorShape.errors)).toBe(true);
      expect(r.body.error.details.in).toBe('body');
    }
    const good = { boxId: 'b1', sizeBytes: 1 << 20 };
    expect(fits(good)).toBe(true);
    const r = await call(s.url, 'POST', '/api/boxes?wait=1', { body: good });
    expect(r.status).toBe(200);
    expect(ajv.compile(doc.components.schemas.CompletedJob)(r.body)).toBe(true);
    // A path parameter is checked by its documented schema too, before the handler runs.
    const bad = await call(s.url, 'GET', '/api/bases/not-a-base-id');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'E_INVALID_ID', details: { field: 'id', in: 'params' } });
    expect(errorShape(bad.body)).toBe(true);
  });
});

describe('GET /docs', () => {
  it('shows the operations in a real browser, fetching nothing from outside the service', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const requested: string[] = [];
      const problems: string[] = [];
      page.on('request', (r) => requested.push(r.url()));
      page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(`${s.url}/docs`);
      await page.locator('.opblock').first().waitFor();
      const operations = await page.locator('.opblock').count();
      expect(operations).toBe(Object.values(doc.paths as Record<string, object>).reduce((n, ops) => n + Object.keys(ops).length, 0));
      await expect(page.locator('.opblock-summary-path', { hasText: '/api/boxes/{id}/clones' }).count()).resolves.toBeGreaterThan(0);
      const outside = requested.filter((u) => !u.startsWith(`${s.url}/`) && !u.startsWith('data:'));
      expect(outside).toEqual([]);
      expect(requested.some((u) => u.endsWith('/docs/json'))).toBe(true);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
