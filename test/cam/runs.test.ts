// ScoreCAM and AblationCAM: weight formulas on synthetic scores, and the batches the runtime
// feeds the model (masked inputs, ablated activations), with constant-channel skipping.
import { deepStrictEqual, equal, ok, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ablatedActivations,
  ablationCamWeights,
  ablationSkippableChannels,
  ablationValue,
  assembleAblationScores,
  assembleScoreCamScores,
  constantChannels,
  createCam,
  scoreCamMaskedInputs,
  scoreCamPlan,
  scoreCamWeights,
  upsampleAlignCorners,
  type FeatureMaps,
} from '../../src/engine/cam';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what = 'value') => {
  equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < b.length; i++) ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

describe('ScoreCAM', () => {
  it('weights are a softmax over channels, per image, stable for large scores', () => {
    const w = scoreCamWeights(Float64Array.of(0, Math.log(3), 1000, 1000 + Math.log(3)), 2, 2);
    close(w, [0.25, 0.75, 0.25, 0.75], 1e-6);
    const cam = createCam('scorecam').lowres({
      activations: { data: Float32Array.of(1, 2, 10, 20), shape: [1, 2, 1, 2] },
      channelScores: Float32Array.of(0, Math.log(3)),
    });
    close(cam.lowres.data, [0.25 * 1 + 0.75 * 10, 0.25 * 2 + 0.75 * 20], 1e-5);
  });

  // image [2 channels, 3x3], activation 2 images × 3 channels × 2x2
  const input = { data: Float32Array.from({ length: 2 * 2 * 9 }, (_, i) => 1 + (i % 7)), shape: [2, 2, 3, 3] };
  const act: FeatureMaps = {
    data: Float32Array.of(
      0,
      1,
      2,
      3,
      /**/ 5,
      5,
      5,
      5,
      /**/ 4,
      0,
      0,
      0, // image 0: channel 1 constant
      0,
      0,
      0,
      0,
      /**/ 1,
      2,
      1,
      2,
      /**/ -1,
      -1,
      -1,
      -1, // image 1: channels 0 and 2 constant
    ),
    shape: [2, 3, 2, 2],
  };

  it('masked inputs: align_corners upsample, min-max to [0, 1], times the image', () => {
    const batch = scoreCamMaskedInputs(input, act, 0, { start: 0, count: 3 });
    deepStrictEqual(batch.shape, [3, 2, 3, 3]);
    for (const c of [0, 2]) {
      const up = new Float32Array(9);
      upsampleAlignCorners(act.data, c * 4, 2, 2, up, 0, 3, 3);
      const lo = Math.min(...up),
        hi = Math.max(...up);
      const mask = [...up].map((v) => (v - lo) / (hi - lo + 1e-8));
      const k = c;
      for (let ci = 0; ci < 2; ci++) {
        close(
          batch.data.subarray((k * 2 + ci) * 9, (k * 2 + ci + 1) * 9),
          mask.map((m, p) => m * input.data[ci * 9 + p]),
          1e-6,
          `channel ${c}`,
        );
      }
    }
    // channel 0 of image 0 is [[0,1],[2,3]] → mask [[0,.5,1/3·..]] hits 0 and 1 at the corners
    equal(batch.data[0], 0);
    close([batch.data[8]], [input.data[8]], 1e-6);
    // constant channel: an all-zero input
    ok(batch.data.subarray(18, 36).every((v) => v === 0));
    // a list of channels, image 1 reads image 1's input
    const b1 = scoreCamMaskedInputs(input, act, 1, [1]);
    deepStrictEqual(b1.shape, [1, 2, 3, 3]);
    equal(b1.data[2], input.data[18 + 2]); // mask at the top-right corner = 1 (value 2 = max)
    throws(() => scoreCamMaskedInputs(input, act, 2, [0]), /image 2 out of range/);
    throws(() => scoreCamMaskedInputs(input, act, 0, [3]), /channel 3 out of range/);
  });

  it("constant channels are planned without a masked run; their score is the zero input's", () => {
    deepStrictEqual(constantChannels(act, 0), [1]);
    deepStrictEqual(constantChannels(act, 1), [0, 2]);
    deepStrictEqual(scoreCamPlan(act, 1), { run: [1], constant: [0, 2] });
    const scores = assembleScoreCamScores(3, [1], [2.5], [0, 2], -0.5);
    deepStrictEqual([...scores], [-0.5, 2.5, -0.5]);
    throws(() => assembleScoreCamScores(3, [1], [2.5], [0, 2]), /zero input/);
    throws(() => assembleScoreCamScores(3, [1], [2.5], [0], 0), /no ScoreCAM score for channel 2/);
  });
});

describe('AblationCAM', () => {
  it('weights (s − s_c)/s, sign flipped by a negative score', () => {
    close(ablationCamWeights([2, -1], [1, 2, 3, -0.5, -1, -2], 2, 3), [0.5, 0, -0.5, 0.5, 0, -1], 1e-7);
    const cam = createCam('ablationcam').lowres({
      activations: { data: Float32Array.of(1, 2, 10, 20), shape: [1, 2, 1, 2] },
      baseScores: Float32Array.of(4),
      channelScores: Float32Array.of(3, 2),
    });
    close(cam.weights!, [0.25, 0.5], 1e-7);
    close(cam.lowres.data, [0.25 + 5, 0.5 + 10], 1e-6);
  });

  const relu: FeatureMaps = { data: Float32Array.of(0, 1, 2, 3, /**/ 0, 0, 0, 0, /**/ 4, 4, 4, 4), shape: [1, 3, 2, 2] };
  const signed: FeatureMaps = { data: Float32Array.of(-2, 1, 2, 3, /**/ 0, 0, 0, 0, /**/ 4, 4, 4, 4), shape: [1, 3, 2, 2] };

  it('overwrite value: 0 after a ReLU, else min − 1e7', () => {
    equal(ablationValue(relu, 1, 0), 0);
    equal(ablationValue(signed, 1, 0), Math.fround(-2 - 1e7));
  });

  it('ablated batch in NCHW: one copy per channel with that channel overwritten', () => {
    const b = ablatedActivations(relu, 1, 0, { start: 0, count: 3 });
    deepStrictEqual(b.shape, [3, 3, 2, 2]);
    deepStrictEqual([...b.data.subarray(0, 12)], [0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4]);
    deepStrictEqual([...b.data.subarray(24, 36)], [0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0]);
    const v = Math.fround(-2 - 1e7);
    const s = ablatedActivations(signed, 1, 0, [2, 0]);
    deepStrictEqual([...s.data.subarray(0, 12)], [-2, 1, 2, 3, 0, 0, 0, 0, v, v, v, v]);
    deepStrictEqual([...s.data.subarray(12, 16)], [v, v, v, v]);
    // pytorch-grad-cam's running minimum: the k-th channel of a batch gets min − 1e7·(k + 1)
    const p = ablatedActivations(signed, 1, 0, [0, 1, 2], { mode: 'pytorch' });
    equal(p.data[0], v);
    equal(p.data[12 + 4], Math.fround(v - 1e7));
    equal(p.data[24 + 8], Math.fround(Math.fround(v - 1e7) - 1e7));
  });

  it('ablated batch in the model layout: tokens [N, T, C] overwrite the last axis, class token included', () => {
    const tokens = { data: Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => i - 3), shape: [2, 5, 3] };
    const b = ablatedActivations(tokens, 2, 1, [1]);
    deepStrictEqual(b.shape, [1, 5, 3]);
    const v = Math.fround(12 - 1e7); // image 1 holds 12..26
    for (let t = 0; t < 5; t++) {
      deepStrictEqual([...b.data.subarray(t * 3, t * 3 + 3)], [15 - 3 + t * 3, v, 14 + t * 3]);
    }
    throws(() => ablatedActivations(tokens, 0, 0, [0]), /channel axis/);
  });

  it('skips channels already equal to the overwrite value (w_c = 0 without a run)', () => {
    deepStrictEqual(ablationSkippableChannels(relu, 1, 0), [1]);
    deepStrictEqual(ablationSkippableChannels(signed, 1, 0), []);
    const scores = assembleAblationScores(3, [0, 2], [1.5, 2.5], 2);
    deepStrictEqual([...scores], [1.5, 2, 2.5]);
    close(ablationCamWeights([2], scores, 1, 3), [0.25, 0, -0.25], 1e-7);
  });
});
