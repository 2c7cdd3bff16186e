// Maps of video layers: per-layer [T', h, w] maps → the clip's [T, H, W] final map, normalised
// over the whole clip (as pytorch-grad-cam's scale_cam_image does for 3-D volumes), so a frame
// where the model sees little stays dim. A layer with a temporal stride (T' < T) is stretched
// back to T frames by linear interpolation along time (half-pixel centres, like the spatial
// resize); (2+1)-D layers just have their own T'.
import { CamLensError } from '../errors';
import { halfPixelTaps, minMaxInPlace, reluInPlace, resizeBilinear, type Size } from '../cam/postprocess';
import type { Maps } from '../cam/tensor';

/** Linear interpolation along axis 0 of [t, h, w] to T frames (half-pixel centres, clamped). */
export function resizeTime(maps: Maps, T: number): Maps {
  const [t, h, w] = maps.shape;
  if (t === T) return maps;
  const hw = h * w;
  const out = new Float32Array(T * hw);
  // the spatial resize's taps, along time
  const taps = halfPixelTaps(t, T);
  for (let d = 0; d < T; d++) {
    const s = taps.i0[d];
    const s1 = taps.i1[d];
    const f = taps.t[d];
    for (let i = 0; i < hw; i++) {
      const a = maps.data[s * hw + i];
      out[d * hw + i] = a + f * (maps.data[s1 * hw + i] - a);
    }
  }
  return { data: out, shape: [T, h, w] };
}

/**
 * Layers' pre-ReLU maps, each [T_i, h_i, w_i] for one clip → final [T, H, W] in [0, 1]: per layer
 * relu → clip min-max → resize (time, then space) → relu; mean over layers; clip min-max.
 */
export function aggregateVideo(lowresPerLayer: readonly Maps[], size: Size, T: number): Maps {
  if (!lowresPerLayer.length) throw new CamLensError('BAD_ARGUMENT', 'no layer maps to aggregate');
  const [H, W] = size;
  const sum = new Float32Array(T * H * W);
  for (const layer of lowresPerLayer) {
    const data = Float32Array.from(layer.data);
    reluInPlace(data);
    minMaxInPlace(data);
    const resized = resizeBilinear(resizeTime({ data, shape: layer.shape }, T), size);
    reluInPlace(resized.data);
    for (let i = 0; i < sum.length; i++) sum[i] += resized.data[i];
  }
  for (let i = 0; i < sum.length; i++) sum[i] /= lowresPerLayer.length;
  minMaxInPlace(sum);
  return { data: sum, shape: [T, H, W] };
}

/** Mean map energy per frame of relu'd [T, h, w] maps, normalised to sum to 1 (uniform when all 0). */
export function temporalWeights(maps: Maps): number[] {
  const [T, h, w] = maps.shape;
  const hw = h * w;
  const e = Array.from({ length: T }, (_, t) => {
    let s = 0;
    for (let i = 0; i < hw; i++) s += Math.max(0, maps.data[t * hw + i]);
    return s / hw;
  });
  const total = e.reduce((a, b) => a + b, 0);
  return total > 0 ? e.map((v) => v / total) : e.map(() => 1 / T);
}
