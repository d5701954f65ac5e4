// The disk forest, drawn in plain SVG (layout.js places it): bases left to
// right, the boxes that read a base as a grid of cells beside it, each base's
// bytes as a bar. Zoom and pan (view.js), search (search.js), click for details
// (details.js). Redrawn on every event from /api/events (throttled), or polled
// when the stream is down; the view and the selection survive a redraw.
import { showDetails } from './details.js';
import { formatBytes } from './format.js';
import { BASE, CELL, layoutForest } from './layout.js';
import { searchForest } from './search.js';
import { createView } from './view.js';

export { formatBytes };
const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);

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

const state = { forest: null, boxes: [], boxBase: new Map(), positions: new Map(), selected: null, firstDraw: true };
const svg = el('svg', { id: 'forest', role: 'img', 'aria-label': 'forest of base disks and boxes' });
const viewport = el('g', { id: 'viewport' });
svg.append(viewport);
const view = createView(svg, viewport);

function drawBase(g, n, maxBytes) {
  const b = n.base;
  const node = el('g', { class: 'node base', transform: `translate(${n.x},${n.y})` });
  Object.entries({
    'data-node-id': b.id, 'data-kind': b.kind, 'data-state': b.state, 'data-ref-count': b.refCount,
    'data-name': b.name ?? '', 'data-size-bytes': b.sizeBytes, 'data-tombstoned': b.tombstoned, 'data-reclaimable': n.reclaimable,
  }).forEach(([k, v]) => node.setAttribute(k, String(v)));
  node.append(el('rect', { class: 'frame', width: n.w, height: n.h, rx: 6 }));
  node.append(el('text', { class: 'id', x: 10, y: 17 }, b.id));
  node.append(el('text', { class: 'kind', x: 84, y: 17 }, kindLabel(b)));
  const flags = [b.state !== 'ready' ? b.state : '', b.tombstoned ? 'removed' : '', n.reclaimable ? 'reclaimable' : ''].filter(Boolean).join(', ');
  node.append(el('text', { class: 'meta size', x: 10, y: 32 }, `${formatBytes(b.sizeBytes)} · refs ${b.refCount} · ${b.boxes.length} boxes`));
  node.append(el('text', { class: 'meta', x: 10, y: 46 }, `of ${b.sourceBoxId}${flags ? ` · ${flags}` : ''}`));
  // Space by bytes: the bar's length is this base's bytes on disk against the largest base's.
  const barMax = n.w - 20;
  const bar = maxBytes > 0 ? Math.max(1, Math.round((barMax * b.sizeBytes) / maxBytes)) : 0;
  node.append(el('rect', { class: 'bytes-track', x: 10, y: n.h - 8, width: barMax, height: 4, rx: 2 }));
  node.append(el('rect', { class: 'bytes-bar', x: 10, y: n.h - 8, width: bar, height: 4, rx: 2, 'data-bytes': b.sizeBytes }));
  node.append(el('title', {}, `${kindLabel(b)} ${b.id}\nsource box: ${b.sourceBoxId}\nstate: ${b.state}\nsize: ${b.sizeBytes} bytes\nrefs: ${b.refCount}\nclick for details`));
  node.addEventListener('click', () => select('base', b.id));
  g.append(node);
}

function drawGrid(g, grid) {
  const group = el('g', { class: 'grid', ...(grid.ownerId ? { 'data-grid-of': grid.ownerId } : { 'data-grid-of': '' }) });
  for (const c of grid.cells) {
    const cell = el('g', { class: 'node cell', 'data-node-id': c.id, 'data-kind': 'box', 'data-state': c.state });
    cell.append(el('rect', { x: c.x, y: c.y, width: CELL - 2, height: CELL - 2, rx: 2 }));
    cell.append(el('title', {}, `box ${c.id} (${c.state})`));
    cell.addEventListener('click', () => select('box', c.id));
    group.append(cell);
  }
  if (grid.more) {
    const more = el('g', { class: 'node more', 'data-kind': 'more', 'data-count': grid.more.count });
    more.append(el('rect', { x: grid.more.x, y: grid.more.y, width: CELL - 2, height: CELL - 2, rx: 2 }));
    more.append(el('title', {}, `+${grid.more.count} more boxes: click the base for all of them, or search`));
    if (grid.ownerId) more.addEventListener('click', () => select('base', grid.ownerId));
    group.append(more);
  }
  const label = grid.ownerId ? `${grid.total} boxes${grid.more ? ` (${grid.more.count} folded)` : ''}` : `${grid.total} standalone boxes`;
  group.append(el('text', { class: 'meta grid-label', x: grid.x, y: grid.y + grid.h - 3 }, label));
  g.append(group);
}

export function render(forest, boxes) {
  state.forest = forest;
  state.boxes = boxes;
  state.boxBase = new Map(boxes.map((b) => [b.id, b.baseId]));
  const t = forest.totals;
  $('total-bases').textContent = String(t.bases);
  $('total-boxes').textContent = String(t.boxes);
  $('total-bytes').textContent = formatBytes(t.basesBytes);
  $('total-bytes').dataset.bytes = String(t.basesBytes);
  $('reclaimable-bytes').textContent = `${formatBytes(t.reclaimableBytes)} (${t.reclaimable.length})`;
  $('reclaimable-bytes').dataset.bytes = String(t.reclaimableBytes);

  const laid = layoutForest(forest, new Map(boxes.map((b) => [b.id, b.state])));
  const maxBytes = laid.bases.reduce((m, n) => Math.max(m, n.base.sizeBytes), 0);
  const edges = el('g', { class: 'edges' });
  const nodes = el('g', { class: 'nodes' });
  for (const e of laid.edges) {
    const x1 = e.from.x + e.from.w;
    const y1 = e.from.y + BASE.h / 2;
    const mid = (x1 + e.toX) / 2;
    edges.append(el('path', { class: e.boxes ? 'edge to-boxes' : 'edge', d: `M${x1},${y1} C${mid},${y1} ${mid},${e.toY} ${e.toX},${e.toY}` }));
  }
  state.positions = new Map();
  for (const n of laid.bases) {
    drawBase(nodes, n, maxBytes);
    state.positions.set(`base:${n.base.id}`, { x: n.x + n.w / 2, y: n.y + n.h / 2 });
  }
  for (const grid of laid.grids) {
    drawGrid(nodes, grid);
    for (const c of grid.cells) state.positions.set(`box:${c.id}`, { x: c.x, y: c.y });
  }
  viewport.replaceChildren(edges, nodes);
  svg.dataset.width = String(laid.width);
  svg.dataset.height = String(laid.height);
  view.setContentSize({ width: laid.width, height: laid.height });

  const empty = laid.bases.length === 0 && laid.grids.length === 0;
  $('empty').hidden = !empty;
  if (!empty && !svg.isConnected) $('graph').append(svg);
  if (state.firstDraw && !empty) {
    state.firstDraw = false;
    view.fit();
  }
  markSelection();
  $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered ?? 0) + 1);
}

function markSelection() {
  for (const e of svg.querySelectorAll('.selected, .holds-selected')) e.classList.remove('selected', 'holds-selected');
  const s = state.selected;
  if (!s) return;
  svg.querySelector(`.node[data-node-id="${CSS.escape(s.id)}"]`)?.classList.add('selected');
  if (s.type === 'box') {
    const baseId = state.boxBase.get(s.id);
    if (baseId) svg.querySelector(`.node.base[data-node-id="${CSS.escape(baseId)}"]`)?.classList.add('holds-selected');
  }
}

/** Select a base or a box: highlight it (or, for a folded box, its base), bring it into view, show its details. */
export function select(type, id, { centre = false } = {}) {
  state.selected = { type, id };
  markSelection();
  if (centre) {
    const at = state.positions.get(`${type}:${id}`) ?? (type === 'box' && state.positions.get(`base:${state.boxBase.get(id)}`));
    if (at) view.centreOn(at.x, at.y);
  }
  if (location.hash !== `#${type}=${encodeURIComponent(id)}`) history.replaceState(null, '', `#${type}=${encodeURIComponent(id)}`);
  return showDetails(type, id, (t, i) => select(t, i, { centre: true }));
}

function searchUi() {
  const input = $('search');
  const list = $('search-results');
  let hits = [];
  const show = () => {
    hits = state.forest ? searchForest(input.value, state.forest, state.boxes) : [];
    list.replaceChildren(...hits.map((hit) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.resultType = hit.type;
      button.dataset.resultId = hit.id;
      button.textContent = hit.label;
      button.addEventListener('click', () => choose(hit));
      li.append(button);
      return li;
    }));
    list.hidden = input.value.trim() === '';
    list.dataset.count = String(hits.length);
    if (input.value.trim() !== '' && hits.length === 0) list.replaceChildren(Object.assign(document.createElement('li'), { className: 'none', textContent: 'no base or box matches' }));
  };
  const choose = (hit) => {
    list.hidden = true;
    select(hit.type, hit.id, { centre: true });
  };
  input.addEventListener('input', show);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && hits[0]) choose(hits[0]);
    if (e.key === 'Escape') list.hidden = true;
  });
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
  const setState = (s, text) => { status.dataset.state = s; status.textContent = text; };
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

$('zoom-in').addEventListener('click', () => view.zoom(1.25));
$('zoom-out').addEventListener('click', () => view.zoom(0.8));
$('zoom-fit').addEventListener('click', () => view.fit());
$('details-close').addEventListener('click', () => {
  $('details').hidden = true;
  state.selected = null;
  markSelection();
  history.replaceState(null, '', location.pathname);
});
searchUi();

refresh()
  .then(() => {
    // A link to a base or a box (#base=ID, #box=ID) opens it.
    const m = /^#(base|box)=(.+)$/.exec(location.hash);
    if (m) select(m[1], decodeURIComponent(m[2]), { centre: true });
  })
  .catch((err) => { $('updated').textContent = `could not load the forest: ${err.message}`; });
live();
