/**
 * The page at `/` in a real browser (Debian's headless Chromium through
 * playwright-core): the forest's nodes and totals are drawn from the API, a
 * clone batch shows up live, and a screenshot lands in test-output/forest.png.
 */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestService, type TestService } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
let s: TestService;
let browser: Browser;
let baseId: string;

beforeAll(async () => {
  s = await startTestService();
  await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'web', sizeBytes: 8 << 20 } });
  const c = await call(s.url, 'POST', '/api/boxes/web/clones?wait=1', { body: { targets: ['web-1', 'web-2', 'web-3'] } });
  baseId = c.body.result.baseId;
  await call(s.url, 'POST', '/api/boxes/web-1/snapshots?wait=1', { body: { name: 'golden' } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

describe('the forest page', () => {
  it('draws bases with id, kind and ref count, boxes as leaves, and the totals', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    page.on('pageerror', (e) => failed.push(e.message));
    await page.goto(s.url);

    const base = page.locator(`[data-node-id="${baseId}"]`);
    await base.waitFor();
    expect(await base.getAttribute('data-kind')).toBe('clone_base');
    // web and web-2, web-3 read it; web-1 now reads its snapshot's child
    expect(await base.getAttribute('data-ref-count')).toBe('4');
    expect(await base.textContent()).toContain(baseId);
    const snapshot = page.locator('[data-kind="snapshot"]');
    expect(await snapshot.getAttribute('data-name')).toBe('golden');
    const leaves = await page.locator('[data-kind="box"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-node-id')).sort());
    expect(leaves).toEqual(['web', 'web-1', 'web-2', 'web-3']);

    const forest = (await call(s.url, 'GET', '/api/forest')).body;
    expect(await page.locator('#total-bytes').getAttribute('data-bytes')).toBe(String(forest.totals.basesBytes));
    expect(await page.locator('#reclaimable-bytes').getAttribute('data-bytes')).toBe('0');
    expect(await page.locator('#total-bases').textContent()).toBe('2');
    await page.locator('#live-status[data-state="live"]').waitFor();

    // Live: a batch clone started elsewhere appears without a reload.
    const batch = await call(s.url, 'POST', '/api/boxes/web-2/clones', { body: { count: 5, prefix: 'live-' } });
    expect(batch.status).toBe(202);
    await page.locator('[data-node-id="live-5"]').waitFor();
    expect(await page.locator('[data-kind="box"]').count()).toBe(9);

    mkdirSync('test-output', { recursive: true });
    await page.screenshot({ path: 'test-output/forest.png', fullPage: true });
    expect(failed).toEqual([]);
    await page.close();
  });
});
