// A detector's detections in the CAM panel: labelled boxes over the picture and a list beside it,
// both buttons (keyboard: Tab to a box or a row, Enter/Space picks it). Picking one asks the host
// to explain that detection (the `setBox` intent); what is explained stays the host's, so the
// pressed box is the one the shown result says it explained.
import type { DetectionView, ExplainView } from '../../src/panel/protocol';
import { h } from '../dom';

const describe = (d: DetectionView, i: number) => `Detection ${i}: ${d.label} ${(d.score * 100).toFixed(1)}%`;

export function detectionsSection(pick: (box: number) => void) {
  const list = h('section', { id: 'detections', class: 'detections', 'aria-label': 'Detections: choose one to explain it', hidden: true });
  const heading = h('h2', { hidden: true }, 'Detections');

  const choose = (b: HTMLButtonElement, i: number, v: ExplainView) => {
    b.addEventListener('click', () => {
      if (i !== v.detection) pick(i);
    });
    return b;
  };

  /** The list of `v`'s detections (hidden for a model that is no detector). */
  function render(v: ExplainView | undefined): void {
    const detections = v?.detections;
    list.hidden = heading.hidden = !detections;
    if (!v || !detections) return list.replaceChildren();
    list.replaceChildren(
      ...(detections.length
        ? detections.map((d, i) =>
            choose(
              h(
                'button',
                { class: 'bar det', 'data-box': i, 'aria-pressed': String(i === v.detection), title: `Explain ${describe(d, i)}` },
                h('span', { class: 'det-index' }, `#${i}`),
                h('span', { class: 'bar-label' }, d.label),
                h('span', { class: 'bar-value' }, `${(d.score * 100).toFixed(1)}%`),
              ),
              i,
              v,
            ),
          )
        : [h('p', { class: 'muted' }, 'No detection above the confidence threshold.')]),
    );
  }

  /** `canvas` with `v`'s boxes over it, at `zoom` (screen pixels per picture pixel); the canvas alone when there are none. */
  function framed(canvas: HTMLCanvasElement, v: ExplainView, zoom: number): HTMLElement {
    if (!v.detections?.length) return canvas;
    const boxes = v.detections.map((d, i) => {
      const [x0, y0, x1, y1] = d.box;
      const b = h(
        'button',
        { class: 'det-box', 'data-box': i, 'aria-pressed': String(i === v.detection), 'aria-label': `Explain ${describe(d, i)}` },
        h('span', { class: 'det-tag' }, `${d.label} ${(d.score * 100).toFixed(0)}%`),
      );
      b.style.left = `${Math.round(x0 * zoom)}px`;
      b.style.top = `${Math.round(y0 * zoom)}px`;
      b.style.width = `${Math.max(2, Math.round((x1 - x0) * zoom))}px`;
      b.style.height = `${Math.max(2, Math.round((y1 - y0) * zoom))}px`;
      return choose(b, i, v);
    });
    return h('div', { class: 'det-frame' }, canvas, ...boxes);
  }

  return { heading, list, render, framed };
}
