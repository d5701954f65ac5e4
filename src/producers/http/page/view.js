// Zoom and pan of the forest's SVG: one transform on a viewport group, kept
// across redraws. Wheel zooms around the pointer, drag pans, the buttons zoom
// around the centre, "fit" shows the whole forest from its top-left corner.
// The current transform is on the SVG as data-zoom / data-pan-x / data-pan-y.
const MIN = 0.05;
const MAX = 4;

export function createView(svg, group, onChange = () => {}) {
  let k = 1;
  let tx = 0;
  let ty = 0;
  let size = { width: 1, height: 1 };
  let dragged = false;

  const apply = () => {
    group.setAttribute('transform', `translate(${tx.toFixed(1)},${ty.toFixed(1)}) scale(${k.toFixed(4)})`);
    svg.dataset.zoom = k.toFixed(4);
    svg.dataset.panX = tx.toFixed(1);
    svg.dataset.panY = ty.toFixed(1);
    onChange({ k, tx, ty });
  };
  const zoomAt = (factor, px, py) => {
    const next = Math.min(MAX, Math.max(MIN, k * factor));
    // Keep the point under (px, py) where it is.
    tx = px - ((px - tx) * next) / k;
    ty = py - ((py - ty) * next) / k;
    k = next;
    apply();
  };
  const box = () => svg.getBoundingClientRect();

  svg.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = box();
    zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });

  let drag = null;
  svg.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, tx, ty, id: e.pointerId };
    dragged = false;
  });
  svg.addEventListener('pointermove', (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    if (!dragged && Math.hypot(dx, dy) < 4) return; // a click, not a drag
    if (!dragged) svg.setPointerCapture(e.pointerId);
    dragged = true;
    svg.classList.add('panning');
    tx = drag.tx + dx;
    ty = drag.ty + dy;
    apply();
  });
  const end = () => {
    drag = null;
    svg.classList.remove('panning');
  };
  svg.addEventListener('pointerup', end);
  svg.addEventListener('pointercancel', end);
  // A drag that ends on a node is not a click on it.
  svg.addEventListener('click', (e) => {
    if (dragged) {
      e.stopPropagation();
      dragged = false;
    }
  }, true);

  return {
    /** The content's size changed (a redraw). */
    setContentSize(s) {
      size = s;
    },
    fit() {
      const r = box();
      k = Math.min(1, Math.max(MIN, Math.min(r.width / size.width, r.height / size.height)));
      // Narrow content is not worth shrinking below a readable size: fit the width, scroll by panning.
      if (k < 0.35 && r.width / size.width > k) k = Math.min(1, Math.max(0.35, r.width / size.width));
      tx = 0;
      ty = 0;
      apply();
    },
    zoom(factor) {
      const r = box();
      zoomAt(factor, r.width / 2, r.height / 2);
    },
    /** Centre the view on a point of the content (at least at scale `minK`). */
    centreOn(x, y, minK = 0.8) {
      const r = box();
      k = Math.max(k, minK);
      tx = r.width / 2 - x * k;
      ty = r.height / 2 - y * k;
      apply();
    },
    get state() {
      return { k, tx, ty };
    },
    apply,
  };
}
