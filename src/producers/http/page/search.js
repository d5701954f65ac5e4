// Search by box or base: ids, snapshot and rootfs names, source boxes. Runs on
// what the page already has (the forest and the box list), so it finds boxes
// folded into a "+N" cell too.
import { allBases } from './layout.js';

const LIMIT = 20;

/** Matches for `query`, best first: exact ids, then prefixes, then substrings. */
export function searchForest(query, forest, boxes) {
  const q = query.trim().toLowerCase();
  if (q === '') return [];
  const hits = [];
  const score = (s) => {
    if (!s) return 0;
    const v = s.toLowerCase();
    return v === q ? 3 : v.startsWith(q) ? 2 : v.includes(q) ? 1 : 0;
  };
  for (const { base } of allBases(forest)) {
    const best = Math.max(score(base.id), score(base.name), score(base.sourceBoxId) && 1);
    if (best > 0) hits.push({ type: 'base', id: base.id, label: `${base.kind === 'clone_base' ? 'clone base' : base.kind} ${base.id}${base.name ? ` “${base.name}”` : ''} of ${base.sourceBoxId}`, score: best });
  }
  for (const b of boxes) {
    const s = score(b.id);
    if (s > 0) hits.push({ type: 'box', id: b.id, label: `box ${b.id}${b.baseId ? ` on ${b.baseId}` : ''}`, score: s });
  }
  hits.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
  return hits.slice(0, LIMIT);
}
