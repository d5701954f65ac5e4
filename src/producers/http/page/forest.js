// The disk forest, drawn in plain SVG: bases left to right (a child base reads
// its parent), the boxes that read a base as leaves to its right. Redrawn on
// every event from /api/events (throttled), or polled when the stream is down.
const SVG = 'http://www.w3.org/2000/svg';
const BASE = { w: 230, h: 58 };
const BOX = { w: 170, h: 24 };
const COL = 290;
const GAP = 10;
const MARGIN = 20;
/** Past this many boxes under one base, the rest are one "+N more" leaf (the API has them all). */
const MAX_BOXES_SHOWN = 60;

const $ = (id) => document.getElementById(id);

export function formatBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

function el(name, attrs = {}, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function kindLabel(b) {
  if (b.kind === 'snapshot') return `snapshot “${b.name}”`;
  if (b.kind === 'rootfs') return `rootfs “${b.name}”`;
  return 'clone base';
}

/** A layout tree: bases, then their child bases and boxes. */
function toItems(forest, boxStates) {
  const reclaimable = new Set(forest.totals.reclaimable);
  const boxItem = (id) => ({ type: 'box', id, state: boxStates.get(id) ?? 'ready', children: [] });
  const baseItem = (b) => {
    const shown = b.boxes.slice(0, MAX_BOXES_SHOWN).map(boxItem);
    if (b.boxes.length > MAX_BOXES_SHOWN) shown.push({ type: 'more', id: `${b.id}-more`, count: b.boxes.length - MAX_BOXES_SHOWN, children: [] });
    return { type: 'base', base: b, reclaimable: reclaimable.has(b.id), children: [...b.children.map(baseItem), ...shown] };
  };
  return [...forest.roots.map(baseItem), ...forest.standaloneBoxes.map(boxItem)];
}

/** Tidy-ish layout: leaves stacked top to bottom, a parent centred on its children. */
function layout(items) {
  const placed = [];
  const place = (item, depth, top) => {
    const size = item.type === 'base' ? BASE : BOX;
    let bottom = top;
    const kids = [];
    for (const child of item.children) {
      const p = place(child, depth + 1, bottom);
      kids.push(p);
      bottom = p.bottom + GAP;
    }
    const span = kids.length ? { a: kids[0].cy, b: kids[kids.length - 1].cy } : null;
    const cy = span ? (span.a + span.b) / 2 : top + size.h / 2;
    const node = { item, x: MARGIN + depth * COL, cy, w: size.w, h: size.h, kids };
    node.bottom = Math.max(kids.length ? bottom - GAP : top, cy + size.h / 2);
    placed.push(node);
    return node;
  };
  let top = MARGIN;
  const roots = items.map((item) => {
    const n = place(item, 0, top);
    top = n.bottom + GAP * 2;
    return n;
  });
  return { placed, roots, height: top + MARGIN };
}

function drawNode(g, n) {
  const it = n.item;
  const y = n.cy - n.h / 2;
  const node = el('g', { class: 'node', transform: `translate(${n.x},${y})` });
  node.append(el('rect', { width: n.w, height: n.h, rx: 6 }));
  if (it.type === 'base') {
    const b = it.base;
    Object.entries({
      'data-node-id': b.id, 'data-kind': b.kind, 'data-state': b.state, 'data-ref-count': b.refCount,
      'data-name': b.name ?? '', 'data-size-bytes': b.sizeBytes, 'data-tombstoned': b.tombstoned, 'data-reclaimable': it.reclaimable,
    }).forEach(([k, v]) => node.setAttribute(k, String(v)));
    node.append(el('text', { class: 'id', x: 10, y: 18 }, b.id));
    node.append(el('text', { class: 'kind', x: 84, y: 18 }, kindLabel(b)));
    const state = [b.state !== 'ready' ? b.state : '', b.tombstoned ? 'removed' : '', it.reclaimable ? 'reclaimable' : ''].filter(Boolean).join(', ');
    node.append(el('text', { class: 'meta size', x: 10, y: 35 }, `${formatBytes(b.sizeBytes)} · refs ${b.refCount}`));
    node.append(el('text', { class: 'meta', x: 10, y: 50 }, `of ${b.sourceBoxId}${state ? ` · ${state}` : ''}`));
    node.append(el('title', {}, `${kindLabel(b)} ${b.id}\nsource box: ${b.sourceBoxId}\nstate: ${b.state}\nsize: ${b.sizeBytes} bytes\nrefs: ${b.refCount}`));
  } else if (it.type === 'box') {
    node.setAttribute('data-node-id', it.id);
    node.setAttribute('data-kind', 'box');
    node.setAttribute('data-state', it.state);
    node.append(el('text', { x: 10, y: 16 }, `▣ ${it.id.length > 22 ? `${it.id.slice(0, 21)}…` : it.id}`));
    node.append(el('title', {}, `box ${it.id} (${it.state})`));
  } else {
    node.setAttribute('data-kind', 'more');
    node.append(el('text', { class: 'meta', x: 10, y: 16 }, `+${it.count} more boxes`));
  }
  g.append(node);
}

function drawEdges(g, n) {
  for (const k of n.kids) {
    const x1 = n.x + n.w;
    const x2 = k.x;
    const mid = (x1 + x2) / 2;
    g.append(el('path', { class: 'edge', d: `M${x1},${n.cy} C${mid},${n.cy} ${mid},${k.cy} ${x2},${k.cy}` }));
    drawEdges(g, k);
  }
}

export function render(forest, boxes) {
  const t = forest.totals;
  $('total-bases').textContent = String(t.bases);
  $('total-boxes').textContent = String(t.boxes);
  $('total-bytes').textContent = formatBytes(t.basesBytes);
  $('total-bytes').dataset.bytes = String(t.basesBytes);
  $('reclaimable-bytes').textContent = `${formatBytes(t.reclaimableBytes)} (${t.reclaimable.length})`;
  $('reclaimable-bytes').dataset.bytes = String(t.reclaimableBytes);

  const items = toItems(forest, new Map(boxes.map((b) => [b.id, b.state])));
  const { placed, roots, height } = layout(items);
  const depth = placed.reduce((d, n) => Math.max(d, n.x + n.w), 0);
  const svg = el('svg', { id: 'forest', width: Math.max(depth + MARGIN, 600), height: Math.max(height, 120), role: 'img', 'aria-label': 'forest of base disks and boxes' });
  const edges = el('g', { class: 'edges' });
  const nodes = el('g', { class: 'nodes' });
  roots.forEach((r) => drawEdges(edges, r));
  placed.forEach((n) => drawNode(nodes, n));
  svg.append(edges, nodes);
  const main = $('graph');
  main.querySelector('svg')?.remove();
  $('empty').hidden = items.length > 0;
  if (items.length > 0) main.append(svg);
  $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered ?? 0) + 1);
}

async function refresh() {
  const [forest, boxes] = await Promise.all(['/api/forest', '/api/boxes'].map(async (url) => {
    const res = await fetch(url, { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    return res.json();
  }));
  render(forest, boxes.boxes);
}

// Redraw at most every 250 ms however fast events come (a 1000-clone batch sends many).
let pending = null;
let running = false;
function scheduleRefresh() {
  if (pending) return;
  pending = setTimeout(async () => {
    pending = null;
    if (running) return scheduleRefresh();
    running = true;
    try { await refresh(); } catch (err) { $('updated').textContent = `refresh failed: ${err.message}`; } finally { running = false; }
  }, 250);
}

function live() {
  const status = $('live-status');
  let poll = null;
  const setState = (state, text) => { status.dataset.state = state; status.textContent = text; };
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    setState('live', 'live');
    if (poll) { clearInterval(poll); poll = null; }
    scheduleRefresh();
  });
  for (const type of ['job-finished', 'job-progress']) source.addEventListener(type, scheduleRefresh);
  source.addEventListener('error', () => {
    // EventSource reconnects by itself; poll every second meanwhile.
    setState('polling', 'polling');
    poll ??= setInterval(scheduleRefresh, 1000);
  });
}

refresh().catch((err) => { $('updated').textContent = `could not load the forest: ${err.message}`; });
live();
