// The panel's compare/sweep intents through the host's gate, and the views and PNGs the host
// makes of a comparison: the maps the webview gets, the PNG "Save compare PNG" writes (the
// engine's sheet, tile by tile the blend the canvases draw).
import { deepEqual, equal, ok } from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { blend } from '../../src/engine/image/blend';
import { compareMethods } from '../../src/engine/pipeline/compare';
import { layerSweep } from '../../src/engine/pipeline/layerSweep';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { shortLayerName } from '../../src/engine/shapeText';
import { comparePng, compareView, sweepPng, sweepView } from '../../src/host/panel/compareView';
import { MAX_COMPARE_METHODS, parseFromWebview } from '../../src/panel/protocol';

const sessions = new SessionCache();
after(() => sessions.releaseAll());

/** The RGB rows of one of our stored-block PNGs (png.ts writes filter 0, no compression). */
function decodeStoredPng(png: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  const b = Buffer.from(png);
  const width = b.readUInt32BE(16),
    height = b.readUInt32BE(20);
  const idatLen = b.readUInt32BE(33);
  const rows = inflateSync(b.subarray(41, 41 + idatLen));
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) rgb.set(rows.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1)), y * width * 3);
  return { width, height, rgb };
}

describe('compare intents', () => {
  it('passes a list of known, distinct methods, the sweep and the cancel, and a save of either kind', () => {
    deepEqual(parseFromWebview({ type: 'compareMethods', methods: ['gradcam', 'scorecam'] }), { type: 'compareMethods', methods: ['gradcam', 'scorecam'] });
    deepEqual(parseFromWebview({ type: 'layerSweep', layer: 'x' }), { type: 'layerSweep' });
    deepEqual(parseFromWebview({ type: 'cancelCompare' }), { type: 'cancelCompare' });
    deepEqual(parseFromWebview({ type: 'saveCompare', kind: 'sweep', colormap: 'jet', alpha: 1 }), {
      type: 'saveCompare',
      kind: 'sweep',
      colormap: 'jet',
      alpha: 1,
    });
    for (const bad of [
      { type: 'compareMethods', methods: [] },
      { type: 'compareMethods', methods: 'gradcam' },
      { type: 'compareMethods', methods: ['gradcam', 'rainbowcam'] },
      { type: 'compareMethods', methods: ['gradcam', 'gradcam'] },
      { type: 'compareMethods', methods: Array.from({ length: MAX_COMPARE_METHODS + 1 }, () => 'gradcam') },
      { type: 'saveCompare', kind: 'grid', colormap: 'jet', alpha: 0.5 },
      { type: 'saveCompare', kind: 'compare', colormap: 'rainbow', alpha: 0.5 },
      { type: 'saveCompare', kind: 'compare', colormap: 'jet', alpha: -0.1 },
    ]) {
      equal(parseFromWebview(bad), undefined, JSON.stringify(bad).slice(0, 80));
    }
  });

  it('shortens layer names for captions', () => {
    equal(shortLayerName('/layer1/layer1.0/relu_1/Relu_output_0'), 'relu_1/Relu');
    equal(shortLayerName('input'), 'input');
  });
});

describe('compare and sweep views', () => {
  it('gives the webview every cell (a failure as its message) and exports the shown maps as one PNG', async () => {
    const r = await compareMethods(
      { modelPath: 'demo/model.onnx', input: 'demo/images/star_1.png', methods: ['gradcam', 'attention-rollout', 'layercam'], steps: 4 },
      { sessions },
    );
    const v = compareView(r, 7, 'star_1.png', 1234)!;
    equal(v.requestId, 7);
    deepEqual(
      v.cells.map((c) => [c.method, Boolean(c.cam), Boolean(c.error)]),
      [
        ['gradcam', true, false],
        ['attention-rollout', false, true],
        ['layercam', true, false],
      ],
    );
    ok(v.baseline && Number.isFinite(v.baseline.deletionAuc), 'the random map is the bar to clear');
    equal(v.cells[0].deletionAuc, r.methods[0].evaluation!.metrics.deletion_auc);
    const png = decodeStoredPng(comparePng(v, { colormap: 'viridis', alpha: 0.4 }));
    // two tiles in a row; the first tile's pixels are the blend of the picture and gradcam's map at tile size
    const tw = 160,
      th = Math.round((v.image.height * 160) / Math.max(v.image.width, v.image.height));
    equal(png.width, 8 + 2 * (tw + 8));
    const want = blend(v.image, v.cells[0].cam!, 'viridis', 0.4, { width: tw, height: th, channels: 3 });
    const top = 8 + 4 * 13; // four title lines: the image, the legend, the random map, the failure
    deepEqual(png.rgb.subarray((top * png.width + 8) * 3, (top * png.width + 8 + tw) * 3), want.subarray(0, tw * 3));
  });

  it('gives the sweep a step per layer and a strip PNG with a tile each', async () => {
    const r = await layerSweep({ modelPath: 'demo/model.onnx', input: 'demo/images/star_1.png' }, { sessions });
    const v = sweepView(r, 3, 'star_1.png', 10);
    equal(v.steps.length, r.steps.length);
    deepEqual(v.steps[0].cam.data, r.steps[0].cam.data);
    const png = decodeStoredPng(sweepPng(v, { colormap: 'jet', alpha: 0.5 }));
    equal(png.width, 8 + v.steps.length * (112 + 8));
  });
});
