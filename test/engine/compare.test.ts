// The panel's "Compare methods" and "Layer sweep" engine functions, and the picture they export.
import { deepEqual, equal, ok, rejects } from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isCancellation } from '../../src/engine/errors';
import { explain } from '../../src/engine/explain';
import { CAM_METHODS } from '../../src/engine/explainTypes';
import { blend } from '../../src/engine/image/blend';
import { GLYPH_HEIGHT } from '../../src/engine/image/font';
import { composeSheet } from '../../src/engine/image/sheet';
import { evaluateExplanation } from '../../src/engine/metrics/evaluate';
import { loadModel } from '../../src/engine/model';
import { compareMethods } from '../../src/engine/pipeline/compare';
import { availableMethods, DEFAULT_COMPARE_METHODS } from '../../src/engine/pipeline/compareDefaults';
import { layerSweep, sweepLayers } from '../../src/engine/pipeline/layerSweep';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { fixtures } from '../helpers/fixtures';

const sessions = new SessionCache();
after(() => sessions.releaseAll());

const MODEL = 'demo/model.onnx';
const IMAGE = 'demo/images/star_1.png';
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('layer sweep', () => {
  it('finds the block outputs from input to head: activations, not the convolutions before them, and nothing a skip connection bypasses', () => {
    const s = sweepLayers(loadModel(MODEL), 'logits');
    deepEqual(s.layers, [
      '/stem/relu/Relu_output_0',
      '/stage1/relu1/Relu_output_0',
      '/stage1/relu2/Relu_output_0',
      '/stage1/pool/MaxPool_output_0',
      '/stage2/relu2/Relu_output_0',
      '/stage3/relu/Relu_output_0',
    ]);
    equal(s.found, 6);
  });

  it('thins many block outputs evenly, keeping the first and the head', () => {
    const s = sweepLayers(loadModel(MODEL), 'logits', 3);
    deepEqual(s.layers, ['/stem/relu/Relu_output_0', '/stage1/pool/MaxPool_output_0', '/stage3/relu/Relu_output_0']);
    equal(s.found, 6);
  });

  it('gives each layer the map explaining that layer alone gives, from one run', async () => {
    const r = await layerSweep({ modelPath: MODEL, input: IMAGE }, { sessions });
    equal(r.steps.length, 6);
    equal(r.method, 'gradcam');
    for (const step of r.steps) {
      const alone = await explain({ modelPath: MODEL, input: IMAGE, layers: [step.layer], classIndex: r.classIndex, overlay: false }, { sessions });
      const e = alone.explanations[0];
      equal(step.cam.data.length, e.cam.data.length);
      ok(maxAbsDiff(step.cam.data, e.cam.data) < 1e-5, `${step.layer}: the sweep's map differs from explaining the layer alone`);
      equal(step.rawWidth, e.camRaw.width);
    }
    // the layer's grid: 32x32 at the stem, 8x8 at the head
    deepEqual([r.steps[0].rawHeight, r.steps[5].rawHeight], [32, 8]);
  });

  it('refuses per-layer maps where the fused map is not the layers combined (aug-smooth)', async () => {
    await rejects(explain({ modelPath: MODEL, input: IMAGE, layerMaps: true, augSmooth: true }, { sessions }), /Per-layer maps/);
  });

  it('sweeps a torchvision ResNet-18 by its residual blocks', (t) => {
    const dir = fixtures(t);
    if (!dir) return;
    const s = sweepLayers(loadModel(`${dir}/models/resnet18.onnx`), loadModel(`${dir}/models/resnet18.onnx`).graph.outputs[0]);
    // stem activation, max pool, then the 8 basic blocks (the last is the suggested layer)
    equal(s.layers.length, 10, s.layers.join('\n'));
    ok(s.layers.slice(2).every((l) => /layer\d/.test(l)));
  });
});

describe('compare methods', () => {
  it('keeps only the default methods the registry has, in order', () => {
    deepEqual(availableMethods(['fullgrad', 'gradcam', 'nosuch', 'layercam'], ['gradcam', 'layercam', 'scorecam']), ['gradcam', 'layercam']);
    deepEqual(availableMethods(['fullgrad', 'gradcam', 'nosuch', 'layercam'], CAM_METHODS), ['fullgrad', 'gradcam', 'layercam']);
    const defaults = availableMethods(DEFAULT_COMPARE_METHODS, CAM_METHODS);
    ok(defaults.slice(0, 4).join() === 'gradcam,gradcam++,layercam,scorecam');
  });

  it('explains one class with every method, scores each, shares the random baseline, and makes a failing method an error cell', async () => {
    const r = await compareMethods(
      { modelPath: MODEL, input: IMAGE, methods: ['gradcam', 'attention-rollout', 'layercam'], metrics: ['deletion', 'random'], steps: 8 },
      { sessions },
    );
    deepEqual(
      r.methods.map((m) => [m.method, m.ok]),
      [
        ['gradcam', true],
        ['attention-rollout', false],
        ['layercam', true],
      ],
    );
    equal(r.methods[1].error?.code, 'BAD_ARGUMENT');
    const [grad, , layer] = r.methods;
    for (const m of [grad, layer]) {
      equal(m.evaluation!.classIndex, r.classIndex);
      ok(Number.isFinite(m.evaluation!.metrics.deletion_auc) && Number.isFinite(m.evaluation!.metrics.insertion_auc));
      ok(m.explainMs > 0 && m.metricsMs > 0);
      equal(m.cam!.data.length, r.image!.width * r.image!.height);
    }
    // the shared baseline is what scoring the second method on its own gives
    const own = await evaluateExplanation(
      { modelPath: MODEL, input: IMAGE, method: 'layercam', classIndex: r.classIndex, metrics: ['deletion', 'random'], steps: 8 },
      { sessions },
    );
    equal(layer.evaluation!.metrics.random_deletion_auc, own.metrics.random_deletion_auc);
    equal(layer.evaluation!.metrics.random_insertion_auc, own.metrics.random_insertion_auc);
    equal(layer.evaluation!.metrics.deletion_auc, own.metrics.deletion_auc);
    ok(
      grad.evaluation!.metrics.deletion_auc !== layer.evaluation!.metrics.deletion_auc ||
        grad.evaluation!.metrics.insertion_auc !== layer.evaluation!.metrics.insertion_auc,
    );
  });

  it('reports progress per method and stops when cancelled', async () => {
    const seen: string[] = [];
    const ac = new AbortController();
    const run = compareMethods(
      { modelPath: MODEL, input: IMAGE, methods: ['gradcam', 'layercam', 'gradcam++'], metrics: ['deletion'], steps: 4 },
      {
        sessions,
        signal: ac.signal,
        progress: (done, _total, message) => {
          seen.push(`${done} ${message}`);
          if (done === 1) ac.abort();
        },
      },
    );
    await rejects(run, (e) => isCancellation(e));
    ok(seen[0] === '0 gradcam', seen.join('|'));
    ok(!seen.some((s) => s.startsWith('2 ')), 'ran on after the cancellation');
  });
});

describe('composed sheet', () => {
  const picture = { data: Uint8Array.from({ length: 20 * 10 * 3 }, (_, i) => (i * 7) % 256), width: 20, height: 10 };
  const map = (v: number) => ({ data: new Float32Array(20 * 10).fill(v), width: 20, height: 10 });

  it('lays each tile out as the one blend at the tile size, with its caption under it', () => {
    const tiles = [
      { map: map(0.2), caption: ['gradcam', '12 ms'] },
      { map: map(0.9), caption: ['layercam'] },
      { map: map(0.5), caption: [] },
    ];
    const s = composeSheet(picture, tiles, { columns: 2, tileSize: 40, colormap: 'jet', alpha: 0.5, title: ['cat.jpg'] });
    const [tw, th, gap, line] = [40, 20, 8, GLYPH_HEIGHT + 2];
    equal(s.width, gap + 2 * (tw + gap));
    const top = gap + line;
    const cellH = th + 2 * line + gap;
    equal(s.height, top + 2 * cellH);
    equal(s.rgb.length, s.width * s.height * 3);
    tiles.forEach((tile, i) => {
      const want = blend(picture, tile.map, 'jet', 0.5, { width: tw, height: th, channels: 3 });
      const x0 = gap + (i % 2) * (tw + gap),
        y0 = top + Math.floor(i / 2) * cellH;
      for (let y = 0; y < th; y++) {
        const got = s.rgb.subarray(((y0 + y) * s.width + x0) * 3, ((y0 + y) * s.width + x0 + tw) * 3);
        deepEqual(got, want.subarray(y * tw * 3, (y + 1) * tw * 3), `tile ${i} row ${y}`);
      }
    });
    // ink under the captioned tile, none under the uncaptioned one
    const inkIn = (x0: number, y0: number, w: number, h: number) => {
      let n = 0;
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) if (s.rgb[(y * s.width + x) * 3] === 0) n++;
      return n;
    };
    ok(inkIn(gap, top + th, tw, 2 * line) > 20);
    equal(inkIn(gap, top + cellH + th, tw, 2 * line), 0);
    ok(inkIn(gap, gap, s.width - 2 * gap, line) > 10, 'the title is drawn');
  });
});
