// The panel's DFF concepts strip (issue 20): the `result` view of a dff explanation carries every
// concept's map in the maps' compact form, over the picture the model saw, with each concept's
// best classes (label names) and the one that best explains the class; the strip's tiles are the
// panel's one blend of each map with the colormap and opacity shown, and the chosen concept's tile
// is the main overlay of the same map.
import { deepEqual, equal, match, ok, throws } from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { blend } from '../../src/engine/image/blend';
import { explain } from '../../src/engine/explain';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { explainView } from '../../src/host/panel/explainView';
import { conceptClasses, conceptDescription, conceptPlane, conceptRgba } from '../../webview/cam/conceptsState';
import type { Look } from '../../webview/cam/pixels';

const sessions = new SessionCache();
after(() => sessions.releaseAll());
const modelPath = 'demo/model.onnx';
const input = 'demo/images/star_1.png';
const LABELS = ['circle', 'square', 'triangle', 'star'];

describe('panel DFF concepts', () => {
  it('the view carries every concept, its best classes and the chosen one, over the model-size picture', async () => {
    const r = await explain({ modelPath, input, method: 'dff', concepts: 4, overlay: false }, { sessions });
    const e = r.explanations[0];
    const v = explainView(r, 1)!;
    const c = v.concepts!;
    equal(c.count, 4);
    equal(c.layer, e.concepts!.layer);
    equal(c.chosen, e.concepts!.chosen);
    deepEqual(c.maps.data, e.concepts!.maps.data);
    deepEqual([c.maps.width, c.maps.height], [r.image!.width, r.image!.height], 'the maps are at the size of the picture they are drawn on');
    deepEqual(c.image.data, r.image!.data);
    ok(c.maps.data !== e.concepts!.maps.data && c.image.data !== r.image!.data, 'copies: the result stays the host’s');
    deepEqual(c.topClasses, e.concepts!.topClasses);
    ok(
      c.topClasses.every((top) => top.length > 0 && top.every((k) => k.label === LABELS[k.index])),
      'label names from the labels file',
    );
    // The chosen concept is the one giving the explained class the highest probability.
    const probOf = (k: number) => c.topClasses[k].find((t) => t.index === v.classIndex)?.prob ?? -1;
    ok(c.topClasses.every((_, k) => probOf(k) <= probOf(c.chosen) || probOf(k) === -1));
  });

  it('each tile is the one blend of its map with the look shown; the chosen concept is the map shown above', async () => {
    const r = await explain({ modelPath, input, method: 'dff', concepts: 3, overlay: false }, { sessions });
    const c = explainView(r, 1)!.concepts!;
    const hw = c.maps.width * c.maps.height;
    for (const look of [
      { colormap: 'jet', alpha: 0.5, mode: 'overlay' },
      { colormap: 'viridis', alpha: 0.3, mode: 'heatmap' },
    ] as Look[]) {
      for (let k = 0; k < c.count; k++) {
        const plane = conceptPlane(c, k);
        deepEqual(plane.data, c.maps.data.subarray(k * hw, (k + 1) * hw));
        const alpha = look.mode === 'heatmap' ? 1 : look.alpha;
        deepEqual(conceptRgba(c, k, look), blend(c.image, plane, look.colormap, alpha, { width: c.image.width, height: c.image.height, channels: 4 }));
      }
    }
    // The map `cam` shows is the chosen concept's: the closest of the concepts to it (not equal: the final map is
    // normalised once more after the upsampling, pytorch-grad-cam's DFF concept maps are not).
    const cam = r.explanations[0].cam.data;
    const distance = (k: number) => conceptPlane(c, k).data.reduce((worst, x, i) => Math.max(worst, Math.abs(x - cam[i])), 0);
    const distances = Array.from({ length: c.count }, (_, k) => distance(k));
    ok(distances[c.chosen] < 0.02, `chosen concept vs cam: max |Δ| ${distances[c.chosen]}`);
    ok(
      distances.every((d, k) => k === c.chosen || d > distances[c.chosen]),
      `distances ${distances.join(', ')}`,
    );
    throws(() => conceptPlane(c, c.count), /concept 3 of 3/);
  });

  it('names each concept by its classes and marks the best one', async () => {
    const r = await explain({ modelPath, input, method: 'dff', concepts: 2, overlay: false }, { sessions });
    const v = explainView(r, 1)!;
    const c = v.concepts!;
    for (let k = 0; k < c.count; k++) {
      const top = c.topClasses[k][0];
      match(conceptClasses(c, k), new RegExp(`^${top.label} ${(top.prob * 100).toFixed(1)}%`));
      const d = conceptDescription(c, k, v.label);
      match(d, new RegExp(`^Concept ${k + 1}: `));
      equal(d.includes('best explains'), k === c.chosen);
    }
  });

  it('other methods carry no concepts', async () => {
    const r = await explain({ modelPath, input, method: 'gradcam', overlay: false }, { sessions });
    equal(explainView(r, 1)!.concepts, undefined);
  });
});
