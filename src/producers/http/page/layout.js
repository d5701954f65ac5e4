// The forest's geometry, pure (no DOM): where every base and box cell goes.
// Bases run left to right by depth (a child base reads its parent); a base sits
// at the top of its subtree, so roots start at the top-left, never centred on
// thousands of rows. The boxes that read a base are a grid of small cells in
// the next column, capped per base (the rest fold into one "+N" cell; the
// search and the details panel still reach every box).
export const BASE = { w: 210, h: 58 };
export const COL = 250;
export const GAP = 10;
export const MARGIN = 16;
export const CELL = 12; // a box cell is CELL-2 px square, with a 2 px gap
export const CELLS_PER_ROW = 16;
/** Past this many boxes under one base, the rest are one "+N" cell. */
export const MAX_CELLS = 256;

/**
 * @param forest what GET /api/forest answers
 * @param boxStates Map box id → state (from GET /api/boxes)
 * @returns {{ bases: object[], grids: object[], edges: object[], standalone: object|null, width: number, height: number }}
 */
export function layoutForest(forest, boxStates) {
  const reclaimable = new Set(forest.totals.reclaimable);
  const bases = [];
  const grids = [];
  const edges = [];
  let maxX = 0;

  const gridOf = (ids, x, y, ownerId) => {
    const shown = ids.slice(0, MAX_CELLS);
    const more = ids.length - shown.length;
    const count = shown.length + (more > 0 ? 1 : 0);
    const rows = Math.ceil(count / CELLS_PER_ROW);
    const cells = shown.map((id, i) => ({ id, state: boxStates.get(id) ?? 'ready', x: x + (i % CELLS_PER_ROW) * CELL, y: y + Math.floor(i / CELLS_PER_ROW) * CELL }));
    const moreCell = more > 0 ? { count: more, x: x + (shown.length % CELLS_PER_ROW) * CELL, y: y + Math.floor(shown.length / CELLS_PER_ROW) * CELL } : null;
    const grid = { ownerId, x, y, w: Math.min(count, CELLS_PER_ROW) * CELL, h: rows * CELL + 14, total: ids.length, cells, more: moreCell };
    maxX = Math.max(maxX, x + CELLS_PER_ROW * CELL);
    grids.push(grid);
    return grid;
  };

  // Returns the bottom of the subtree placed at (depth, top).
  const place = (b, depth, top) => {
    const x = MARGIN + depth * COL;
    const node = { base: b, x, y: top, w: BASE.w, h: BASE.h, reclaimable: reclaimable.has(b.id) };
    bases.push(node);
    maxX = Math.max(maxX, x + BASE.w);
    let bottom = top;
    for (const child of b.children) {
      edges.push({ from: node, toX: x + COL, toY: bottom + BASE.h / 2 });
      bottom = place(child, depth + 1, bottom) + GAP;
    }
    if (b.boxes.length > 0) {
      const grid = gridOf(b.boxes, x + COL, bottom, b.id);
      edges.push({ from: node, toX: grid.x, toY: grid.y + 5, boxes: true });
      bottom = grid.y + grid.h + GAP;
    }
    return Math.max(bottom - (bottom > top ? GAP : 0), top + BASE.h);
  };

  let top = MARGIN;
  for (const root of forest.roots) top = place(root, 0, top) + GAP * 2;
  let standalone = null;
  if (forest.standaloneBoxes.length > 0) {
    standalone = gridOf(forest.standaloneBoxes, MARGIN, top + 16, null);
    top = standalone.y + standalone.h + GAP;
  }
  return { bases, grids, edges, standalone, width: maxX + MARGIN, height: top + MARGIN };
}

/** Every base in the forest, depth first (the search and the tests walk it). */
export function allBases(forest) {
  const out = [];
  const walk = (b, parent) => {
    out.push({ base: b, parentId: parent });
    for (const c of b.children) walk(c, b.id);
  };
  for (const r of forest.roots) walk(r, null);
  return out;
}
