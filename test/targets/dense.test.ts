// Dense targets: a class over the pixels predicted as it (the region from the model's own argmax)
// in NCHW and NHWC outputs, checked against a float64 sum over the forward output and finite
// differences at the CAM layer; the layout read from the shape or refused; empty regions are
// errors; scalar regressors ([1, 1], [1] and rank-0 outputs) explained with their own value.
import { deepEqual, equal, ok, rejects, throws } from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { explain } from '../../src/engine/explain';
import { analyseModel } from '../../src/engine/model';
import { writeNpy } from '../../src/engine/npy';
import { attr, DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { serializeModel } from '../../src/engine/onnx/io';
import type { ModelProto } from '../../src/engine/onnx/types';
import { denseRegions } from '../../src/engine/pipeline/region';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { denseLayoutOf } from '../../src/engine/targets/dense';
import { assertSameGradient, directionalCheck } from '../helpers/gradientCheck';
import { randomArray } from '../helpers/models';
import { tinySegmenter } from '../helpers/nonClassifiers';

const sessions = new SessionCache();
after(() => sessions.releaseAll());
const LAYER = '/backbone.1/Relu_output_0';

/** tinySegmenter with its "seg" [1,3,32,32] also given channels-last: "seg_nhwc" [1,32,32,3]. */
function segmenterWithNhwc(): ModelProto {
  const b = ModelBuilder.extend(tinySegmenter());
  b.op('Transpose', ['seg'], { perm: [0, 2, 3, 1] }, { name: '/nhwc/Transpose', outputs: ['seg_nhwc'] });
  b.output('seg_nhwc', DataType.FLOAT, [1, 32, 32, 3]);
  return b.build();
}

describe('dense layouts and regions', () => {
  it('reads NCHW and NHWC from the shape and refuses a shape that fits both or neither', () => {
    equal(denseLayoutOf('s', [1, 21, 520, 520]), 'NCHW');
    equal(denseLayoutOf('s', [1, 512, 512, 19]), 'NHWC');
    equal(denseLayoutOf('s', [1, 1, 64, 48]), 'NCHW');
    equal(denseLayoutOf('s', [1, 4, 4, 4], 'NHWC'), 'NHWC');
    throws(() => denseLayoutOf('s', [1, 4, 4, 4]), /cannot be told .* --dense-layout NCHW or NHWC/);
    throws(() => denseLayoutOf('s', [1, 3, 4, 3]), /neither end axis is smaller/);
    throws(() => denseLayoutOf('s', [1, 40, 5]), /\[N, K, h, w\] or \[N, h, w, K\].*--ctc/);
  });

  it('a class predicted nowhere has an empty region: an error listing the classes predicted', async () => {
    // 2 classes over 2×2 pixels, class 1 wins everywhere.
    const map = { dtype: 'float32' as const, dims: [1, 2, 2, 2], data: Float32Array.of(0, 0, 0, 0, 1, 1, 1, 1) };
    const r = await denseRegions('m', map, { region: 'predicted', denseLayout: 'NCHW' });
    deepEqual(r.ranked, [1]);
    deepEqual(r.regions, [{ class: 1, label: '1', pixels: 4, share: 1 }]);
    equal(r.scores[1], 4);
    throws(() => r.regionOf(0), /Class 0 is predicted at no pixel of "m": its region is empty\. The classes predicted are 1 \(100\.0%\)/);
  });
});

describe('predicted-class regions through explain()', () => {
  const dir = mkdtempSync(join(tmpdir(), 'camlens-dense-'));
  const proto = segmenterWithNhwc();
  const modelPath = join(dir, 'seg.onnx');
  writeFileSync(modelPath, serializeModel(proto));
  const inputPath = join(dir, 'x.npy');
  const x = randomArray(3 * 32 * 32, 41, 1);
  writeNpy(inputPath, x, [1, 3, 32, 32]);
  const model = analyseModel(proto, modelPath);
  const params = { modelPath, input: inputPath, layers: [LAYER], saveTensors: true, overlay: false, region: 'predicted' as const };

  it('NCHW: the score is the class summed over its predicted pixels (float64), the gradient matches finite differences', async () => {
    const r = await explain({ ...params, output: 'seg', topk: 2 }, { sessions });
    const session = await ort.InferenceSession.create(serializeModel(proto));
    const seg = (await session.run({ input: new ort.Tensor('float32', x, [1, 3, 32, 32]) })).seg.data as Float32Array;
    await session.release();
    const hw = 32 * 32;
    const argmax = Array.from({ length: hw }, (_, p) => [0, 1, 2].reduce((b, c) => (seg[c * hw + p] > seg[b * hw + p] ? c : b), 0));
    const counts = [0, 1, 2].map((c) => argmax.filter((k) => k === c).length);
    ok(r.regions!.length >= 2, `two classes predicted (${counts})`);
    equal(r.regions![0].pixels, Math.max(...counts));
    equal(r.explanations.length, 2);
    const e = r.explanations[0];
    const c = e.classIndex;
    let expected = 0;
    for (let p = 0; p < hw; p++) if (argmax[p] === c) expected += seg[c * hw + p];
    ok(Math.abs(e.target!.score - expected) < 1e-3 * Math.max(1, Math.abs(expected)), `${e.target!.score} vs ${expected}`);
    equal(e.target!.pixels, counts[c]);
    equal(e.target!.reduce, 'region-sum');
    // Finite differences of the same scalar (the mask held fixed) on the model cut at the layer.
    const act = e.activation!;
    const g = e.gradient!.data as Float32Array;
    const regionSum = (out: Float32Array) => {
      let s = 0;
      for (let p = 0; p < hw; p++) if (argmax[p] === c) s += out[c * hw + p];
      return s;
    };
    const { analytic, fd } = await directionalCheck(model, LAYER, 'seg', act, g, randomArray(g.length, 42, 1), 1e-2, regionSum);
    ok(Math.abs(analytic) > 1e-2, `non-trivial ${analytic}`);
    ok(Math.abs(analytic - fd) <= 1e-2 * Math.max(1, Math.abs(fd)), `${analytic} vs ${fd}`);
  });

  it("NHWC gives the NCHW output's regions, scores and gradients; a class predicted nowhere is an error", async () => {
    const nchw = await explain({ ...params, output: 'seg' }, { sessions });
    const nhwc = await explain({ ...params, output: 'seg_nhwc' }, { sessions });
    deepEqual(nhwc.regions, nchw.regions);
    equal(nhwc.explanations[0].classIndex, nchw.explanations[0].classIndex);
    ok(Math.abs(nhwc.explanations[0].target!.score - nchw.explanations[0].target!.score) < 1e-3);
    assertSameGradient(nchw.explanations[0].gradient!.data as Float32Array, nhwc.explanations[0].gradient!.data as Float32Array, 1e-5, 'same gradients');
    const absent = [0, 1, 2].find((c) => !nchw.regions!.some((r) => r.class === c));
    if (absent !== undefined) await rejects(explain({ ...params, output: 'seg', classIndex: absent }, { sessions }), /is predicted at no pixel/);
    // The whole-image region (the default) is unchanged: every pixel of the class's channel.
    const all = await explain({ ...params, region: undefined, output: 'seg', classIndex: 0 }, { sessions });
    equal(all.explanations[0].target!.pixels, 32 * 32);
    equal(all.regions, undefined);
  });
});

/** conv → GAP → Gemm(1): "value" [1, 1], "flat" [1] and "scalar" [] (a regressor's output, three ways). */
function tinyRegressor(): ModelProto {
  const b = ModelBuilder.create(17);
  const x = b.input('input', DataType.FLOAT, [1, 3, 16, 16]);
  const c = b.op(
    'Conv',
    [x, b.floats('conv.weight', [4, 3, 3, 3], randomArray(108, 51))],
    { pads: [1, 1, 1, 1], kernel_shape: [3, 3] },
    { name: '/conv/Conv' },
  );
  const r = b.op('Relu', [c], {}, { name: '/conv/Relu' });
  const gap = b.op('Flatten', [b.op('GlobalAveragePool', [r], {}, { name: '/GAP' })], { axis: 1 }, { name: '/Flatten' });
  b.op(
    'Gemm',
    [gap, b.floats('fc.weight', [1, 4], Float32Array.of(1, -2, 3, 0.5))],
    { transB: 1, alpha: attr.float(1) },
    { name: '/fc/Gemm', outputs: ['value'] },
  );
  b.op('Reshape', ['value', b.int64s('flat.shape', [1])], {}, { name: '/flat', outputs: ['flat'] });
  b.op('Reshape', ['value', b.int64s('scalar.shape', [])], {}, { name: '/scalar', outputs: ['scalar'] });
  b.output('value', DataType.FLOAT, [1, 1]);
  b.output('flat', DataType.FLOAT, [1]);
  b.output('scalar', DataType.FLOAT, []);
  return b.build();
}

describe('regressors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'camlens-regress-'));
  const modelPath = join(dir, 'reg.onnx');
  writeFileSync(modelPath, serializeModel(tinyRegressor()));
  const inputPath = join(dir, 'x.npy');
  writeNpy(inputPath, randomArray(3 * 16 * 16, 52, 1), [1, 3, 16, 16]);
  const params = { modelPath, input: inputPath, layers: ['/conv/Relu_output_0'], saveTensors: true, overlay: false };

  it('a [1, 1], [1] or rank-0 output is explained as its own value, with one gradient', async () => {
    const runs = [];
    for (const output of ['value', 'flat', 'scalar']) runs.push(await explain({ ...params, output }, { sessions }));
    const score = runs[0].explanations[0].target!.score;
    for (const r of runs) {
      ok(Math.abs(r.explanations[0].target!.score - score) < 1e-6, `${r.explanations[0].target!.value}: ${r.explanations[0].target!.score} vs ${score}`);
      deepEqual(r.explanations[0].gradient!.data, runs[0].explanations[0].gradient!.data);
    }
    // The gradient of a linear head over a GAP: weight / (h·w) on every pixel of each channel.
    const g = runs[0].explanations[0].gradient!.data as Float32Array;
    const w = [1, -2, 3, 0.5];
    for (let ch = 0; ch < 4; ch++) ok(Math.abs(g[ch * 256 + 17] - w[ch] / 256) < 1e-7, `channel ${ch}`);
  });
});
