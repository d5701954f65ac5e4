/**
 * Both pages in the real browser (Debian's headless Chromium through playwright-core)
 * at 10 boxes (made by real jobs) and at 5,000 (records seeded through the DB writer's
 * own commands: the pages read only records and queues, and 5,000 real forks would
 * cost minutes). On the forest page: every base is in the SVG, the search finds a box
 * (one folded out of its base's grid too), a click shows a base's or a box's details
 * (refs, readers, jobs), zoom and pan change the view, the root is at the top. On both
 * pages: no request leaves loopback and nothing is refused by their CSP; on the queue
 * board, a user mistake's failed job reads `clone · user error`, without a stack trace.
 */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcSettled } from '../helpers/pipeline.js';
import { call, startTestService, type TestService } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
afterAll(async () => {
  await browser?.close();
});

/** A page that records every request to another host, every failed request, page error and console error. */
async function openPage(url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const problems: string[] = [];
  page.on('request', (r) => {
    const host = new URL(r.url()).hostname;
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(host) && !r.url().startsWith('data:')) problems.push(`off-loopback request: ${r.url()}`);
  });
  page.on('requestfailed', (r) => {
    // The live event stream is cut when the page closes, and a poll still out when the test moves
    // to another page is aborted by the browser (net::ERR_ABORTED): neither is a problem of ours.
    const why = r.failure()?.errorText ?? '';
    if (!r.url().endsWith('/api/events') && why !== 'net::ERR_ABORTED') problems.push(`failed: ${r.url()} ${why}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // A failed load is reported with its URL by the response listener above.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console error: ${m.text()}`);
  });
  await page.goto(url);
  return { page, problems };
}

/** Every base id in the forest answer. */
function baseIds(forest: { roots: { id: string; children: unknown[] }[] }): string[] {
  const out: string[] = [];
  const walk = (b: { id: string; children: unknown[] }) => {
    out.push(b.id);
    (b.children as { id: string; children: unknown[] }[]).forEach(walk);
  };
  forest.roots.forEach(walk);
  return out.sort();
}

/** The checks both sizes share. `folded`: a box whose cell is folded into "+N" (searchable all the same). */
async function checkForestPage(s: TestService, o: { box: string; base: string; baseBoxes: number; folded?: string }) {
  const forest = (await call(s.url, 'GET', '/api/forest')).body;
  const { page, problems } = await openPage(s.url);
  await page.locator('body[data-rendered]').waitFor();

  // Every base is in the SVG, once.
  const drawn = await page.locator('#forest .node.base').evaluateAll((els) => els.map((e) => e.getAttribute('data-node-id')!).sort());
  expect(drawn).toEqual(baseIds(forest));
  expect(drawn.length).toBe(forest.totals.bases);

  // The root is at the top-left of the view, and the page does not scroll sideways.
  // A live redraw (a late GC job's event) replaces the nodes: read a box again until it is there.
  const boxOf = async (selector: string) => {
    for (;;) {
      const b = await page.locator(selector).boundingBox();
      if (b) return b;
      await page.waitForTimeout(50);
    }
  };
  const svgBox = await boxOf('#forest');
  const rootBox = await boxOf(`#forest .node.base[data-node-id="${forest.roots[0].id}"]`);
  expect(rootBox.y - svgBox.y).toBeLessThan(60);
  expect(rootBox.x - svgBox.x).toBeLessThan(60);
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);

  // Zoom and pan change the view.
  const zoom = async () => Number(await page.locator('#forest').getAttribute('data-zoom'));
  const before = await zoom();
  await page.click('#zoom-in');
  expect(await zoom()).toBeGreaterThan(before);
  await page.click('#zoom-out');
  await page.click('#zoom-out');
  expect(await zoom()).toBeLessThan(before);
  await page.mouse.move(svgBox.x + svgBox.width / 2, svgBox.y + svgBox.height / 2);
  const wheelFrom = await zoom();
  await page.mouse.wheel(0, -400);
  await expect.poll(zoom).toBeGreaterThan(wheelFrom);
  const panX = Number(await page.locator('#forest').getAttribute('data-pan-x'));
  await page.mouse.move(svgBox.x + 40, svgBox.y + svgBox.height - 40);
  await page.mouse.down();
  await page.mouse.move(svgBox.x + 240, svgBox.y + svgBox.height - 40, { steps: 5 });
  await page.mouse.up();
  expect(Number(await page.locator('#forest').getAttribute('data-pan-x'))).toBeCloseTo(panX + 200, 0);
  await page.click('#zoom-fit');

  // Search finds a box; choosing it shows its details and marks the base it reads.
  for (const box of [o.box, ...(o.folded ? [o.folded] : [])]) {
    await page.fill('#search', box);
    const hit = page.locator(`#search-results button[data-result-type="box"][data-result-id="${box}"]`);
    await hit.waitFor();
    await hit.click();
    await page.locator(`#details[data-type="box"][data-id="${box}"][data-loaded="true"]`).waitFor();
    const text = await page.locator('#details').textContent();
    expect(text).toContain(`box ${box}`);
    expect(text).toContain(o.base);
    expect(await page.locator('#details .id-list.refs a').evaluateAll((els) => els.map((e) => e.textContent))).toContain(o.base);
    expect(await page.locator(`#forest .node.base[data-node-id="${o.base}"]`).getAttribute('class')).toContain('holds-selected');
  }
  if (o.folded) expect(await page.locator(`#forest [data-node-id="${o.folded}"]`).count()).toBe(0);

  // Search by base; a click on the base node shows its refs, readers and jobs.
  await page.fill('#search', o.base);
  await page.locator(`#search-results button[data-result-type="base"][data-result-id="${o.base}"]`).waitFor();
  await page.press('#search', 'Escape');
  await page.locator(`#forest .node.base[data-node-id="${o.base}"]`).click();
  await page.locator(`#details[data-type="base"][data-id="${o.base}"][data-loaded="true"]`).waitFor();
  const details = (await page.locator('#details').textContent())!;
  // What the API says about the base, as the panel shows it: its refs (every box that depends on it), its box disks.
  const api = (await call(s.url, 'GET', `/api/bases/${o.base}`)).body;
  expect(api.readers.boxes).toBe(o.baseBoxes);
  expect(details).toContain(`refs (${api.refs.length})`);
  expect(details).toContain(`${api.readers.refs} refs, ${o.baseBoxes} box disks, ${api.children.length} child bases`);
  expect(await page.locator('#details .id-list.refs li a').count()).toBe(Math.min(api.refs.length, 100));
  expect(details).toContain('recent jobs');
  // Details link through: a ref opens that box.
  await page.locator(`#details .id-list.refs a[data-select-id="${o.box}"]`).click();
  await page.locator(`#details[data-type="box"][data-id="${o.box}"][data-loaded="true"]`).waitFor();

  mkdirSync('test-output', { recursive: true });
  await page.screenshot({ path: `test-output/forest-${forest.totals.boxes}-boxes.png` });
  expect(problems).toEqual([]);
  await page.close();
}

async function checkDashboard(s: TestService, label: string) {
  const { page, problems } = await openPage(`${s.url}/queues`);
  await page.getByText(`forkpoint-${s.tp.homeId}-ops`).first().waitFor();
  await page.getByText(`forkpoint-${s.tp.homeId}-gc`).first().waitFor();
  // A user mistake that reached a job reads as one in the failed list, not as a crash.
  const failed = await s.tp.client.clone('nobody-here', [`z-${label}`]);
  await expect(failed.result()).rejects.toMatchObject({ code: 'E_UNKNOWN_BOX' });
  await page.goto(`${s.url}/queues/queue/${encodeURIComponent(`forkpoint-${s.tp.homeId}-ops`)}?status=failed`);
  await page.getByText('clone · user error').first().waitFor();
  await page.getByText(/user error · E_UNKNOWN_BOX: /).first().waitFor();
  mkdirSync('test-output', { recursive: true });
  await page.screenshot({ path: `test-output/queues-${label}.png` });
  expect(problems).toEqual([]);
  await page.close();
}

describe('at 10 boxes (real jobs)', () => {
  let s: TestService;
  let base: string;
  beforeAll(async () => {
    s = await startTestService();
    await call(s.url, 'POST', '/api/boxes?wait=1', { body: { boxId: 'a', sizeBytes: 4 << 20 } });
    base = (await call(s.url, 'POST', '/api/boxes/a/clones?wait=1', { body: { targets: ['a-1', 'a-2', 'a-3', 'a-4', 'a-5'] } })).body.result.baseId;
    await call(s.url, 'POST', '/api/boxes/a-1/snapshots?wait=1', { body: { name: 'pin' } });
    await call(s.url, 'POST', '/api/snapshots/pin/clones?wait=1', { body: { target: 'from-pin', box: 'a-1' } });
    await call(s.url, 'POST', '/api/boxes/a-2/clones?wait=1', { body: { targets: ['b-1', 'b-2', 'b-3'] } });
    await gcSettled(s.tp.client);
    expect((await call(s.url, 'GET', '/api/forest')).body.totals.boxes).toBe(10);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('the forest page', async () => {
    // a, a-3, a-4, a-5 read the first clone base (a-1 moved to its snapshot, a-2 to its own clone base).
    await checkForestPage(s, { box: 'a-4', base, baseBoxes: 4 });
  });

  it('the queue dashboard', async () => {
    await checkDashboard(s, '10-boxes');
  });
});

describe('at 5,000 boxes (seeded records)', () => {
  let s: TestService;
  let big: string;
  let other: string;
  const SOURCES = 8;
  const DEPTH = 5;
  beforeAll(async () => {
    s = await startTestService();
    const w = s.tp.pipeline.writer;
    let boxes = 0;
    for (let src = 0; src < SOURCES; src++) {
      const source = `seed-${src}`;
      await w.apply({ type: 'createBox', op: `seed-box-${src}`, boxId: source, baseId: null });
      await w.apply({ type: 'commitBox', op: `seed-box-${src}`, boxId: source });
      boxes++;
      let parent: string | null = null;
      for (let d = 0; d < DEPTH; d++) {
        // One big base (folded past the grid's cap), the rest 100 each: 8 sources + 1,092 + 39 × 100 = 5,000.
        const n = src === 0 && d === 0 ? 1_092 : 100;
        const targets = Array.from({ length: n }, (_, i) => `seed-${src}-${d}-${i}`);
        const op = `seed-fork-${src}-${d}`;
        const begun = await w.apply({ type: 'beginFork', op, sourceBox: source, kind: 'clone_base', targets });
        await w.apply({ type: 'commitFork', op, disk: { basePath: begun.basePath, containerDiskBytes: 10 * 2 ** 30, sizeBytes: (1 + src + d * 3) * 2 ** 20 }, parentId: parent });
        await w.apply({ type: 'addRefs', op: `${op}-refs`, baseId: begun.baseId, boxIds: targets });
        if (src === 0 && d === 0) big = begun.baseId;
        if (src === 3 && d === 2) other = begun.baseId;
        parent = begun.baseId;
        boxes += n;
      }
    }
    expect(boxes).toBe(5_000);
    expect((await call(s.url, 'GET', '/api/forest')).body.totals).toMatchObject({ bases: SOURCES * DEPTH, boxes: 5_000 });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('the forest page', async () => {
    // The grid shows a base's first 256 boxes (in the forest's order); the last one is folded into "+N".
    const bigNode = (await call(s.url, 'GET', '/api/forest')).body.roots.find((r: { id: string }) => r.id === big);
    const folded = bigNode.boxes[bigNode.boxes.length - 1] as string;
    await checkForestPage(s, { box: bigNode.boxes[7], base: big, baseBoxes: 1_092, folded });
    await checkForestPage(s, { box: 'seed-3-2-42', base: other, baseBoxes: 100 });
  });

  it('the queue dashboard', async () => {
    await checkDashboard(s, '5000-boxes');
  });
});
