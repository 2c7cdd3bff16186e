// A segmentation model's predicted classes in the CAM panel: one button per class predicted
// somewhere, with the share of the pixels predicted as it (keyboard: Tab to a row, Enter/Space
// picks it). Picking one asks the host to explain that class's region (the `setRegionClass`
// intent); the host owns what is explained, so the pressed row is the class the shown result says
// it explained.
import type { ExplainView, RegionView } from '../../src/panel/protocol';
import { h } from '../dom';

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;
const describe = (g: RegionView) => `class ${g.class} (${g.label}): ${percent(g.share)} of the pixels, ${g.pixels} at the output's resolution`;

export function regionsSection(pick: (classIndex: number) => void) {
  const list = h('section', { id: 'regions', class: 'regions', 'aria-label': 'Predicted regions: choose a class to explain its pixels', hidden: true });
  const heading = h('h2', { hidden: true }, 'Predicted regions');

  /** The classes of `v`'s predicted regions (hidden for a model that is no segmenter). */
  function render(v: ExplainView | undefined): void {
    const regions = v?.regions;
    list.hidden = heading.hidden = !regions;
    if (!v || !regions) return list.replaceChildren();
    list.replaceChildren(
      ...regions.map((g) => {
        const fill = h('span', { class: 'bar-fill' });
        fill.style.width = `${g.share * 100}%`;
        const explained = g.class === v.classIndex;
        const b = h(
          'button',
          { class: 'bar region', 'data-class': g.class, 'aria-pressed': String(explained), title: `Explain the region of ${describe(g)}` },
          h('span', { class: 'bar-label' }, g.label),
          h('span', { class: 'bar-track' }, fill),
          h('span', { class: 'bar-value' }, percent(g.share)),
        );
        b.addEventListener('click', () => {
          if (!explained) pick(g.class);
        });
        return b;
      }),
    );
  }

  return { heading, list, render };
}
