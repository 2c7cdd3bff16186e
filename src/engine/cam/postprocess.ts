// The map pipeline shared by every method, exactly pytorch-grad-cam's (commit 084273b):
//   per layer:   m = relu(lowres); m = (m − min) / (1e-7 + max(m − min)); m = cv2.resize(m, (W, H))
//   all layers:  m = mean over layers of relu(m); m = (m − min) / (1e-7 + max(m − min))
// For one layer that is relu → min-max → resize → min-max. cv2.resize's INTER_LINEAR samples at
// half-pixel centres, src = (dst + 0.5)·(in/out) − 0.5, and clamps at the borders (the edge
// pixels repeat); that differs from align_corners=True, which ScoreCAM's masks use instead.
import { CamLensError } from '../errors';
import { checkTensor, type Maps } from './tensor';

export type Size = readonly [height: number, width: number];

/** pytorch-grad-cam's `scale_cam_image` epsilon. */
export const MINMAX_EPS = 1e-7;

/** max(x, 0) in place over a range. */
export function reluInPlace(data: Float32Array, offset = 0, length = data.length - offset): void {
  for (let i = offset, end = offset + length; i < end; i++) if (!(data[i] > 0)) data[i] = 0;
}

/** (x − min) / (1e-7 + max(x − min)) in place over a range (one image). */
export function minMaxInPlace(data: Float32Array, offset = 0, length = data.length - offset): void {
  const end = offset + length;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = offset; i < end; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  normalizeInPlace(data, offset, end, lo, hi);
}

/** The second half of minMaxInPlace, for callers that found min and max on the way. */
function normalizeInPlace(data: Float32Array, offset: number, end: number, lo: number, hi: number): void {
  const scale = 1 / (MINMAX_EPS + (hi - lo));
  for (let i = offset; i < end; i++) data[i] = (data[i] - lo) * scale;
}

export interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  t: Float64Array;
}

/** cv2 INTER_LINEAR taps along one axis: half-pixel centres, clamped borders. */
export function halfPixelTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const t = new Float64Array(outSize);
  for (let d = 0; d < outSize; d++) {
    let f = (d + 0.5) * scale - 0.5;
    let s = Math.floor(f);
    f -= s;
    if (s < 0) {
      s = 0;
      f = 0;
    }
    if (s >= inSize - 1) {
      s = inSize - 1;
      f = 0;
    }
    i0[d] = s;
    i1[d] = Math.min(s + 1, inSize - 1);
    t[d] = f;
  }
  return { i0, i1, t };
}

/** torch bilinear with align_corners=True taps: src = dst·(in − 1)/(out − 1). */
function alignCornerTaps(inSize: number, outSize: number): Taps {
  const scale = outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const t = new Float64Array(outSize);
  for (let d = 0; d < outSize; d++) {
    const f = d * scale;
    const s = Math.min(Math.floor(f), inSize - 1);
    i0[d] = s;
    i1[d] = Math.min(s + 1, inSize - 1);
    t[d] = f - s;
  }
  return { i0, i1, t };
}

function separableResize(
  src: Float32Array,
  srcOffset: number,
  h: number,
  w: number,
  dst: Float32Array,
  dstOffset: number,
  H: number,
  W: number,
  ty: Taps,
  tx: Taps,
  rows: Float64Array,
  reluRange?: Float64Array,
): void {
  // Horizontal pass once per source row (h rows of W, kept in float64), then a vertical blend
  // per output row: upsampling 16x16 → 512x512 costs one lerp per output pixel instead of three.
  // Written as a + t·(b − a) so that constant inputs stay exactly constant.
  const i0 = tx.i0;
  const i1 = tx.i1;
  const fx = tx.t;
  for (let r = 0; r < h; r++) {
    const s = srcOffset + r * w;
    const o = r * W;
    for (let x = 0; x < W; x++) {
      const a = src[s + i0[x]];
      rows[o + x] = a + fx[x] * (src[s + i1[x]] - a);
    }
  }
  if (reluRange) {
    verticalReluRange(rows, dst, dstOffset, H, W, ty, reluRange);
    return;
  }
  for (let y = 0; y < H; y++) {
    const r0 = ty.i0[y] * W;
    const r1 = ty.i1[y] * W;
    const fy = ty.t[y];
    const o = dstOffset + y * W;
    if (fy === 0) {
      for (let x = 0; x < W; x++) dst[o + x] = rows[r0 + x];
    } else {
      for (let x = 0; x < W; x++) {
        const top = rows[r0 + x];
        dst[o + x] = top + fy * (rows[r1 + x] - top);
      }
    }
  }
}

/**
 * The vertical pass fused with the ReLU that follows the resize and the min/max scan of the final
 * min-max: the stored (float32) values are ReLU'd and their range written to `range` = [lo, hi].
 * Same values as resize → reluInPlace → minMaxInPlace's scan, in one pass instead of three.
 */
function verticalReluRange(rows: Float64Array, dst: Float32Array, dstOffset: number, H: number, W: number, ty: Taps, range: Float64Array): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let y = 0; y < H; y++) {
    const r0 = ty.i0[y] * W;
    const r1 = ty.i1[y] * W;
    const fy = ty.t[y];
    const o = dstOffset + y * W;
    for (let x = 0; x < W; x++) {
      const top = rows[r0 + x];
      let v = Math.fround(top + fy * (rows[r1 + x] - top));
      if (!(v > 0)) v = 0;
      dst[o + x] = v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  range[0] = lo;
  range[1] = hi;
}

/** cv2.resize(m, (W, H), INTER_LINEAR) of every [h, w] map in a batch. */
export function resizeBilinear(maps: Maps, size: Size): Maps {
  checkTensor(maps, 3, 'maps');
  const [n, h, w] = maps.shape;
  const [H, W] = checkSize(size);
  const out = new Float32Array(n * H * W);
  const ty = halfPixelTaps(h, H);
  const tx = halfPixelTaps(w, W);
  const rows = new Float64Array(h * W);
  for (let b = 0; b < n; b++) separableResize(maps.data, b * h * w, h, w, out, b * H * W, H, W, ty, tx, rows);
  return { data: out, shape: [n, H, W] };
}

/**
 * Bilinear upsampling with align_corners=True (torch.nn.UpsamplingBilinear2d) of `count` planes of
 * [h, w] starting at `srcOffset`, into `dst` from `dstOffset`. Used for ScoreCAM's masks.
 */
export function upsampleAlignCorners(
  src: Float32Array,
  srcOffset: number,
  h: number,
  w: number,
  dst: Float32Array,
  dstOffset: number,
  H: number,
  W: number,
  count = 1,
): void {
  const ty = alignCornerTaps(h, H);
  const tx = alignCornerTaps(w, W);
  const rows = new Float64Array(h * W);
  for (let i = 0; i < count; i++) separableResize(src, srcOffset + i * h * w, h, w, dst, dstOffset + i * H * W, H, W, ty, tx, rows);
}

function checkSize(size: Size): [number, number] {
  const [H, W] = size;
  if (!Number.isInteger(H) || !Number.isInteger(W) || H <= 0 || W <= 0) {
    throw new CamLensError('BAD_ARGUMENT', `target size must be two positive integers [H, W], got [${size.join(', ')}]`);
  }
  return [H, W];
}

/**
 * pytorch-grad-cam's `scale_cam_image`: per image min-max, then (if a size is given) the cv2
 * resize. Works on a copy.
 */
export function scaleCamImage(maps: Maps, size?: Size): Maps {
  checkTensor(maps, 3, 'maps');
  const [n, h, w] = maps.shape;
  const data = Float32Array.from(maps.data);
  for (let b = 0; b < n; b++) minMaxInPlace(data, b * h * w, h * w);
  return size ? resizeBilinear({ data, shape: [n, h, w] }, size) : { data, shape: [n, h, w] };
}

/** relu of a batch of maps, on a copy: the `cam_raw` the CLI saves. */
export function reluMaps(maps: Maps): Maps {
  const data = Float32Array.from(maps.data);
  reluInPlace(data);
  return { data, shape: maps.shape };
}

/**
 * Several layers' low-resolution maps (pre-ReLU, each [N, h_i, w_i]) → the final [N, H, W] map:
 * each layer ReLU'd, min-max normalised and resized to the input size, then ReLU, mean over the
 * layers and min-max again (`compute_cam_per_layer` + `aggregate_multi_layers`).
 */
export function aggregateLayers(lowresPerLayer: readonly Maps[], size: Size): Maps {
  if (lowresPerLayer.length === 0) throw new CamLensError('BAD_ARGUMENT', 'no layer maps to aggregate');
  const n = lowresPerLayer[0].shape[0];
  const [H, W] = checkSize(size);
  if (lowresPerLayer.length === 1) return finalOfOneLayer(lowresPerLayer[0], H, W);
  let sum: Float32Array | undefined;
  for (const [i, layer] of lowresPerLayer.entries()) {
    checkTensor(layer, 3, `layer ${i} map`);
    if (layer.shape[0] !== n) {
      throw new CamLensError('BAD_ARGUMENT', `layer ${i} map has ${layer.shape[0]} images, layer 0 has ${n}`);
    }
    const scaled = scaleCamImage(reluMaps(layer), size);
    reluInPlace(scaled.data);
    // The first layer's map is the running sum (the common one-layer case copies nothing more).
    if (!sum) sum = scaled.data;
    else for (let j = 0; j < sum.length; j++) sum[j] += scaled.data[j];
  }
  const out = sum as Float32Array;
  if (lowresPerLayer.length > 1) {
    const inv = 1 / lowresPerLayer.length;
    for (let j = 0; j < out.length; j++) out[j] *= inv;
  }
  for (let b = 0; b < n; b++) minMaxInPlace(out, b * H * W, H * W);
  return { data: out, shape: [n, H, W] };
}

/**
 * aggregateLayers for the common single layer, the same values in fewer passes over the
 * full-size map (this runs on every explanation): relu → min-max at layer resolution, then the
 * resize with the ReLU and the min/max scan fused into its last pass, then the normalisation.
 * (The mean over one layer is the map itself.)
 */
function finalOfOneLayer(layer: Maps, H: number, W: number): Maps {
  checkTensor(layer, 3, 'layer 0 map');
  const [n, h, w] = layer.shape;
  const small = reluMaps(layer).data;
  for (let b = 0; b < n; b++) minMaxInPlace(small, b * h * w, h * w);
  const out = new Float32Array(n * H * W);
  const ty = halfPixelTaps(h, H);
  const tx = halfPixelTaps(w, W);
  const rows = new Float64Array(h * W);
  const range = new Float64Array(2);
  for (let b = 0; b < n; b++) {
    separableResize(small, b * h * w, h, w, out, b * H * W, H, W, ty, tx, rows, range);
    normalizeInPlace(out, b * H * W, (b + 1) * H * W, range[0], range[1]);
  }
  return { data: out, shape: [n, H, W] };
}

/** The final map of one layer: relu → min-max → cv2 resize → min-max. */
export function finalCam(lowres: Maps, size: Size): Maps {
  return aggregateLayers([lowres], size);
}

export const DEFAULT_SCALES = [1.0, 0.75, 0.5] as const;
export const DEFAULT_SCALE_WEIGHTS = [0.6, 0.3, 0.1] as const;

/**
 * Multi-scale fusion: the weighted mean Σ wᵢ·mᵢ / Σ wᵢ of maps already at the same size (each
 * the final map of one input scale, upsampled to the input size). With `renormalize`, a last
 * per-image min-max.
 */
export function fuseScales(maps: readonly Maps[], weights: readonly number[] = DEFAULT_SCALE_WEIGHTS, options: { renormalize?: boolean } = {}): Maps {
  if (maps.length === 0) throw new CamLensError('BAD_ARGUMENT', 'no maps to fuse');
  if (weights.length !== maps.length) {
    throw new CamLensError('BAD_ARGUMENT', `${maps.length} scale maps but ${weights.length} scale weights; give one weight per scale`);
  }
  if (weights.some((w) => !(w >= 0) || !Number.isFinite(w))) {
    throw new CamLensError('BAD_ARGUMENT', `scale weights must be finite and non-negative, got ${weights.join(', ')}`);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new CamLensError('BAD_ARGUMENT', 'scale weights sum to 0');
  const shape = maps[0].shape;
  const out = new Float32Array(maps[0].data.length);
  const acc = new Float64Array(out.length);
  for (const [i, m] of maps.entries()) {
    checkTensor(m, 3, `scale ${i} map`);
    if (m.shape.some((d, k) => d !== shape[k])) {
      throw new CamLensError(
        'BAD_ARGUMENT',
        `scale ${i} map has shape [${m.shape.join(', ')}], expected [${shape.join(', ')}]; upsample every scale's map to the input size first`,
      );
    }
    const wi = weights[i] / total;
    for (let j = 0; j < acc.length; j++) acc[j] += wi * m.data[j];
  }
  for (let j = 0; j < acc.length; j++) out[j] = acc[j];
  if (options.renormalize) {
    const [n, H, W] = shape;
    for (let b = 0; b < n; b++) minMaxInPlace(out, b * H * W, H * W);
  }
  return { data: out, shape };
}
