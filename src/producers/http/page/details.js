// The details panel: what a click on a base or a box (or a search hit) shows,
// read from the API when it is opened: a base's refs, child bases and readers,
// a box's refs, and the recent jobs about either. Text goes in as text, never HTML.
import { formatBytes } from './format.js';

const $ = (id) => document.getElementById(id);
const LIST_MAX = 100;

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

async function getJson(url) {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `${url}: HTTP ${res.status}`);
  return body;
}

function section(title, ...content) {
  return h('section', { class: 'detail-section' }, h('h3', {}, title), ...content);
}

/** A list of ids, each a link that selects it (bases or boxes), cut at LIST_MAX. */
function idList(ids, type, select, cls) {
  if (ids.length === 0) return h('p', { class: 'none' }, 'none');
  const ul = h('ul', { class: `id-list ${cls}` });
  for (const id of ids.slice(0, LIST_MAX)) {
    const a = h('a', { href: `#${type}=${encodeURIComponent(id)}`, 'data-select-type': type, 'data-select-id': id }, id);
    a.addEventListener('click', (e) => {
      e.preventDefault();
      select(type, id);
    });
    ul.append(h('li', {}, a));
  }
  if (ids.length > LIST_MAX) ul.append(h('li', { class: 'more' }, `… and ${ids.length - LIST_MAX} more`));
  return ul;
}

function rows(pairs) {
  const dl = h('dl', {});
  for (const [k, v] of pairs) dl.append(h('dt', {}, k), h('dd', {}, v));
  return dl;
}

function jobsList(jobs) {
  if (jobs.length === 0) return h('p', { class: 'none' }, 'no recent jobs');
  const ul = h('ul', { class: 'job-list' });
  for (const j of jobs) {
    const when = new Date(j.finishedOn ?? j.timestamp).toLocaleString();
    const li = h('li', { 'data-job-id': j.id, 'data-job-state': j.state, ...(j.errorClass ? { 'data-error-class': j.errorClass } : {}) });
    li.append(h('span', { class: 'job-name' }, j.name), ' ', h('span', { class: `job-state ${j.state}` }, j.state), ' ', h('span', { class: 'job-when' }, when));
    if (j.error) li.append(h('div', { class: `job-error ${j.errorClass}` }, `${j.errorClass === 'user' ? 'user error' : 'fault'} · ${j.error.code}: ${j.error.message}`));
    ul.append(li);
  }
  return ul;
}

export async function showDetails(type, id, select) {
  const panel = $('details');
  panel.hidden = false;
  panel.dataset.type = type;
  panel.dataset.id = id;
  panel.dataset.loaded = 'false';
  const body = $('details-body');
  body.replaceChildren(h('p', {}, 'loading…'));
  try {
    const jobsUrl = `/api/forest/jobs?${type}=${encodeURIComponent(id)}`;
    if (type === 'base') {
      const [d, jobs] = await Promise.all([getJson(`/api/bases/${encodeURIComponent(id)}`), getJson(jobsUrl)]);
      const b = d.base;
      const label = b.kind === 'snapshot' ? `snapshot “${b.name}”` : b.kind === 'rootfs' ? `rootfs “${b.name}”` : 'clone base';
      body.replaceChildren(
        h('h2', {}, `${label} ${b.id}`),
        rows([
          ['state', `${b.state}${b.tombstoned ? ' (removed, still read)' : ''}`],
          ['source box', b.sourceBoxId],
          ['size on disk', `${formatBytes(b.sizeBytes)} (${b.sizeBytes} bytes)`],
          ['disk size', formatBytes(b.containerDiskBytes)],
          ['reads', b.parentId ?? '(no backing base)'],
          ['readers', `${d.readers.refs} refs, ${d.readers.boxes} box disks, ${d.readers.children} child bases`],
        ]),
        section(`refs (${d.refs.length})`, idList(d.refs, 'box', select, 'refs')),
        section(`child bases (${d.children.length})`, idList(d.children.map((c) => (typeof c === 'string' ? c : c.id)), 'base', select, 'children')),
        section('recent jobs', jobsList(jobs.jobs)),
      );
    } else {
      const [d, jobs] = await Promise.all([getJson(`/api/boxes/${encodeURIComponent(id)}`), getJson(jobsUrl)]);
      const x = d.box;
      body.replaceChildren(
        h('h2', {}, `box ${x.id}`),
        rows([
          ['state', x.state],
          ['disk', x.diskPath],
          ['reads base', x.baseId ?? '(standalone disk)'],
          ['created', new Date(x.createdAt).toLocaleString()],
        ]),
        section(`refs (${d.refs.length})`, idList(d.refs.map((r) => (typeof r === 'string' ? r : r.baseId)), 'base', select, 'refs')),
        section('recent jobs', jobsList(jobs.jobs)),
      );
    }
    panel.dataset.loaded = 'true';
  } catch (err) {
    body.replaceChildren(h('p', { class: 'error' }, `could not load ${type} ${id}: ${err.message}`));
    panel.dataset.loaded = 'error';
  }
}
