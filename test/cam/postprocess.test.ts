// The shared map pipeline and layout adapters on small synthetic inputs (always run).
import { deepStrictEqual, equal, ok, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  aggregateLayers,
  finalCam,
  fuseScales,
  minMaxInPlace,
  nchwToNhwc,
  nhwcToNchw,
  reluInPlace,
  reluMaps,
  resizeBilinear,
  scaleCamImage,
  tokenGrid,
  tokensToNchw,
  toFeatureMaps,
  upsampleAlignCorners,
  videoToFrames,
  type Maps,
} from '../../src/engine/cam';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what = 'value') => {
  equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < b.length; i++) ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};
const maps = (values: number[], shape: [number, number, number]): Maps => ({ data: Float32Array.from(values), shape });

describe('cv2-style bilinear resize (half-pixel centres, clamped borders)', () => {
  it('matches cv2.resize values for a 1x2 → 1x4 and 2x2 → 4x4 upscale', () => {
    // cv2.resize(np.float32([[0, 1]]), (4, 1)) == [0, 0.25, 0.75, 1]
    close(resizeBilinear(maps([0, 1], [1, 1, 2]), [1, 4]).data, [0, 0.25, 0.75, 1], 1e-7);
    // cv2.resize(np.float32([[0, 1], [2, 3]]), (4, 4))
    close(resizeBilinear(maps([0, 1, 2, 3], [1, 2, 2]), [4, 4]).data, [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3], 1e-6);
  });

  it('keeps constants constant, is the identity at the same size, averages 2x2 blocks at half size', () => {
    const c = resizeBilinear(maps(new Array(12).fill(0.3), [1, 3, 4]), [17, 23]);
    ok(c.data.every((v) => v === Math.fround(0.3)));
    const x = maps([1, 5, 2, 7, 3, 9], [1, 2, 3]);
    deepStrictEqual([...resizeBilinear(x, [2, 3]).data], [...x.data]);
    close(resizeBilinear(maps([0, 2, 4, 6, 1, 3, 5, 7], [1, 2, 4]), [1, 2]).data, [1.5, 5.5], 1e-6);
  });

  it('resizes each image of a batch independently', () => {
    const r = resizeBilinear(maps([0, 1, 10, 10], [2, 1, 2]), [1, 4]);
    close(r.data, [0, 0.25, 0.75, 1, 10, 10, 10, 10], 1e-6);
  });
});

describe('align_corners=True upsampling (ScoreCAM masks)', () => {
  it('hits the corners and interpolates linearly between them', () => {
    const out = new Float32Array(9);
    upsampleAlignCorners(Float32Array.of(0, 1, 2, 3), 0, 2, 2, out, 0, 3, 3);
    close(out, [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3], 1e-7);
    const out2 = new Float32Array(5);
    upsampleAlignCorners(Float32Array.of(0, 4), 0, 1, 2, out2, 0, 1, 5);
    close(out2, [0, 1, 2, 3, 4], 1e-7);
  });
});

describe('normalisation and the final map', () => {
  it('min-max as pytorch-grad-cam: (x − min) / (1e-7 + max(x − min))', () => {
    const d = Float32Array.of(2, 4, 6);
    minMaxInPlace(d);
    close(d, [0, 2 / (4 + 1e-7), 4 / (4 + 1e-7)], 1e-7);
    const z = Float32Array.of(3, 3);
    minMaxInPlace(z);
    deepStrictEqual([...z], [0, 0]);
    deepStrictEqual(
      [...scaleCamImage(maps([1, 3, 5, 9], [2, 1, 2])).data].map((v) => Math.round(v * 1e6) / 1e6),
      [0, 1, 0, 1],
    );
  });

  it('finalCam = relu → min-max → resize → min-max', () => {
    const low = maps([-4, 1, 3, 2], [1, 2, 2]);
    const f = finalCam(low, [4, 4]);
    const relu = [0, 1, 3, 2].map((v) => v / (3 + 1e-7));
    const up = resizeBilinear(maps(relu, [1, 2, 2]), [4, 4]).data;
    const lo = Math.min(...up),
      hi = Math.max(...up);
    close(
      f.data,
      [...up].map((v) => (v - lo) / (1e-7 + hi - lo)),
      1e-6,
    );
  });

  it('aggregates layers of different resolutions: per layer relu/min-max/resize, mean, min-max', () => {
    const a = maps([0, 1, 2, 3], [1, 2, 2]);
    const b = maps([5, -1, 0, 2, 2, 2, 0, 0, 1], [1, 3, 3]);
    const agg = aggregateLayers([a, b], [6, 6]);
    const sa = scaleCamImage(maps([0, 1, 2, 3], [1, 2, 2]), [6, 6]).data;
    const sb = scaleCamImage(maps([5, 0, 0, 2, 2, 2, 0, 0, 1], [1, 3, 3]), [6, 6]).data;
    const mean = sa.map((v, i) => (v + sb[i]) / 2);
    const lo = Math.min(...mean),
      hi = Math.max(...mean);
    close(
      agg.data,
      [...mean].map((v) => (v - lo) / (1e-7 + hi - lo)),
      1e-6,
    );
    deepStrictEqual(aggregateLayers([a], [6, 6]).data, finalCam(a, [6, 6]).data);
    throws(() => aggregateLayers([a, maps([1, 2], [2, 1, 1])], [6, 6]), /images/);
    throws(() => aggregateLayers([], [6, 6]), /no layer/);
    throws(() => finalCam(a, [0, 6]), /positive integers/);
  });
});

describe('multi-scale fusion', () => {
  it('weighted mean with [0.6, 0.3, 0.1] by default, configurable, optionally renormalised', () => {
    const m = [maps([1, 0], [1, 1, 2]), maps([0, 1], [1, 1, 2]), maps([1, 1], [1, 1, 2])];
    close(fuseScales(m).data, [0.7, 0.4], 1e-7);
    close(fuseScales(m.slice(0, 2), [1, 1]).data, [0.5, 0.5], 1e-7);
    close(fuseScales(m, [0.6, 0.3, 0.1], { renormalize: true }).data, [1 / (1 + 1e-7 / 0.3), 0], 1e-6);
    throws(() => fuseScales(m, [1, 1]), /one weight per scale/);
    throws(() => fuseScales([m[0], maps([1, 2, 3], [1, 1, 3])], [1, 1]), /upsample/);
    throws(() => fuseScales(m, [0, 0, 0]), /sum to 0/);
    throws(() => fuseScales(m, [1, -1, 1]), /non-negative/);
  });
});

describe('layout adapters', () => {
  const tokens = (n: number, t: number, c: number) => ({ data: Float32Array.from({ length: n * t * c }, (_, i) => i), shape: [n, t, c] });

  it('tokens [N, 1+s², C] → [N, C, s, s] dropping the class token', () => {
    const x = tokens(2, 5, 3); // 1 + 2x2 tokens, 3 channels
    const r = tokensToNchw(x);
    deepStrictEqual(r.shape, [2, 3, 2, 2]);
    // image b, channel c, patch p  ←  token 1 + p
    for (let b = 0; b < 2; b++)
      for (let c = 0; c < 3; c++)
        for (let p = 0; p < 4; p++) {
          equal(r.data[(b * 3 + c) * 4 + p], x.data[(b * 5 + 1 + p) * 3 + c]);
        }
  });

  it('grid inference: s², 1+s², k+s², explicit grid, and refusal', () => {
    deepStrictEqual(tokenGrid(196), { extraTokens: 0, h: 14, w: 14 });
    deepStrictEqual(tokenGrid(197), { extraTokens: 1, h: 14, w: 14 });
    deepStrictEqual(tokenGrid(198), { extraTokens: 2, h: 14, w: 14 });
    deepStrictEqual(tokenGrid(197, { extraTokens: 1 }), { extraTokens: 1, h: 14, w: 14 });
    deepStrictEqual(tokenGrid(1 + 6 * 8, { grid: [6, 8] }), { extraTokens: 1, h: 6, w: 8 });
    throws(() => tokenGrid(197, { extraTokens: 0 }), /not a square/);
    throws(() => tokenGrid(50, { grid: [8, 8] }), /do not fit/);
    throws(() => tokenGrid(211), /give the grid size/);
    const r = tokensToNchw(tokens(1, 4 + 9, 2), { extraTokens: 4 });
    deepStrictEqual(r.shape, [1, 2, 3, 3]);
    equal(r.data[0], 8); // token 4, channel 0
  });

  it('NHWC ↔ NCHW, video frames, and the generic dispatcher', () => {
    const x = { data: Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i * 0.5), shape: [2, 3, 4, 5] };
    const nchw = nhwcToNchw(x);
    deepStrictEqual(nchw.shape, [2, 5, 3, 4]);
    equal(nchw.data[((1 * 5 + 2) * 3 + 1) * 4 + 3], x.data[((1 * 3 + 1) * 4 + 3) * 5 + 2]);
    deepStrictEqual(nchwToNhwc(nchw).data, x.data);
    const v = { data: Float32Array.from({ length: 2 * 3 * 4 * 2 * 2 }, (_, i) => i), shape: [2, 3, 4, 2, 2] };
    const f = videoToFrames(v);
    deepStrictEqual(f.shape, [8, 3, 2, 2]);
    // frame (b=1, t=2), channel 1, position 3
    equal(f.data[((1 * 4 + 2) * 3 + 1) * 4 + 3], v.data[(((1 * 3 + 1) * 4 + 2) * 2 + 1) * 2 + 1]);
    deepStrictEqual(toFeatureMaps(x, 'NHWC'), nchw);
    deepStrictEqual(toFeatureMaps(tokens(1, 5, 3), 'tokens').shape, [1, 3, 2, 2]);
    throws(() => toFeatureMaps(tokens(1, 5, 3), 'NCHW'), /rank 4/);
  });
});

describe('the one-layer fast path of aggregateLayers', () => {
  it('gives exactly the values of relu → min-max → resize → relu → min-max done step by step', () => {
    let seed = 3;
    const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const cases: Array<{ shape: [number, number, number]; size: [number, number]; fill?: (i: number) => number }> = [
      { shape: [1, 7, 7], size: [224, 224] },
      { shape: [2, 16, 12], size: [512, 384] },
      { shape: [1, 5, 9], size: [3, 4] }, // downsampling
      { shape: [1, 4, 4], size: [10, 10], fill: () => 0.5 }, // constant map
      { shape: [1, 4, 4], size: [9, 9], fill: (i) => (i === 5 ? NaN : i === 6 ? -Infinity : rand()) },
      { shape: [1, 3, 3], size: [8, 8], fill: () => -1 }, // all negative: relu → zeros
    ];
    for (const { shape, size, fill } of cases) {
      const layer: Maps = { data: Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, (_, i) => (fill ? fill(i) : rand())), shape };
      const want = scaleCamImage(reluMaps(layer), size);
      reluInPlace(want.data);
      for (let b = 0; b < shape[0]; b++) minMaxInPlace(want.data, b * size[0] * size[1], size[0] * size[1]);
      const got = aggregateLayers([layer], size);
      deepStrictEqual(got.shape, [shape[0], ...size]);
      let diff = 0;
      for (let i = 0; i < got.data.length; i++) if (!Object.is(got.data[i], want.data[i])) diff++;
      equal(diff, 0, `[${shape}] → [${size}]: ${diff} values differ`);
    }
  });
});
