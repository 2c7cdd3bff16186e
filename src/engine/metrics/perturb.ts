// Perturbed copies of one input tensor: baselines (blur, mean), pixel mixing by a mask, the
// map-weighted input, and ROAD's noisy linear imputation. Tensors are one image [1, C, H, W]
// (NCHW) or [1, H, W, C] (NHWC); internally we work on planar channels [C][H·W].
import { gaussian } from './stats';

export type Layout = 'NCHW' | 'NHWC';
export type BaselineKind = 'blur' | 'mean';

export interface ImageTensor {
  data: Float32Array;
  dims: number[];
  layout: Layout;
}

export function geometry(t: ImageTensor): { c: number; h: number; w: number } {
  const [, a, b, d] = t.dims;
  return t.layout === 'NCHW' ? { c: a, h: b, w: d } : { c: d, h: a, w: b };
}

export function toPlanar(t: ImageTensor): Float32Array {
  if (t.layout === 'NCHW') return t.data;
  const { c, h, w } = geometry(t);
  const out = new Float32Array(t.data.length);
  for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) out[k * h * w + p] = t.data[p * c + k];
  return out;
}

export function fromPlanar(planar: Float32Array, like: ImageTensor): Float32Array {
  if (like.layout === 'NCHW') return planar;
  const { c, h, w } = geometry(like);
  const out = new Float32Array(planar.length);
  for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) out[p * c + k] = planar[k * h * w + p];
  return out;
}

/** RISE blurs with σ = 5 at 224 px; we keep that blur relative to the image size. */
export const defaultBlurSigma = (h: number, w: number): number => Math.max(1, (5 * Math.max(h, w)) / 224);

/** Separable Gaussian blur of every channel (kernel radius 2σ, reflected borders). */
export function blurPlanar(planar: Float32Array, c: number, h: number, w: number, sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(2 * sigma));
  const k = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const ks = k.reduce((a, b) => a + b, 0);
  for (let i = 0; i < k.length; i++) k[i] /= ks;
  const reflect = (i: number, n: number) => {
    while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1;
    return i;
  };
  const tmp = new Float64Array(h * w);
  const out = new Float32Array(planar.length);
  for (let ch = 0; ch < c; ch++) {
    const o = ch * h * w;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let d = -r; d <= r; d++) s += k[d + r] * planar[o + y * w + reflect(x + d, w)];
        tmp[y * w + x] = s;
      }
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let d = -r; d <= r; d++) s += k[d + r] * tmp[reflect(y + d, h) * w + x];
        out[o + y * w + x] = s;
      }
  }
  return out;
}

/** The image every channel of which is its own mean. */
export function meanPlanar(planar: Float32Array, c: number, hw: number): Float32Array {
  const out = new Float32Array(planar.length);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let i = 0; i < hw; i++) s += planar[ch * hw + i];
    out.fill(s / hw, ch * hw, (ch + 1) * hw);
  }
  return out;
}

export function baselinePlanar(kind: BaselineKind, planar: Float32Array, c: number, h: number, w: number, sigma?: number): Float32Array {
  return kind === 'blur' ? blurPlanar(planar, c, h, w, sigma ?? defaultBlurSigma(h, w)) : meanPlanar(planar, c, h * w);
}

/** Pixels where `fromB` is 1 come from b, the rest from a (every channel). */
export function mixPlanar(a: Float32Array, b: Float32Array, fromB: Uint8Array, c: number): Float32Array {
  const hw = fromB.length;
  const out = Float32Array.from(a);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < hw; i++) if (fromB[i]) out[ch * hw + i] = b[ch * hw + i];
  return out;
}

/** input · map, every channel (pytorch-grad-cam's multiply_tensor_with_cam). */
export function multiplyPlanar(planar: Float32Array, map: ArrayLike<number>, c: number): Float32Array {
  const hw = map.length;
  const out = new Float32Array(planar.length);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < hw; i++) out[ch * hw + i] = planar[ch * hw + i] * map[i];
  return out;
}

const NEIGHBOURS: ReadonlyArray<readonly [number, number, number]> = [
  [1, 1, 1 / 12],
  [0, 1, 1 / 6],
  [-1, 1, 1 / 12],
  [1, -1, 1 / 12],
  [0, -1, 1 / 6],
  [-1, -1, 1 / 12],
  [1, 0, 1 / 6],
  [-1, 0, 1 / 6],
];

/**
 * ROAD's noisy linear imputation (Rong et al. 2022, as in pytorch-grad-cam's NoisyLinearImputer):
 * each removed pixel equals the weighted mean of its 8 neighbours (1/6 direct, 1/12 diagonal),
 * solved as one sparse symmetric system per channel (here by conjugate gradients), then
 * Gaussian noise of std `noise` added to the imputed pixels.
 */
export function noisyLinearImpute(
  planar: Float32Array,
  c: number,
  h: number,
  w: number,
  removed: Uint8Array,
  noise: number,
  uniform: () => number,
): Float32Array {
  const hw = h * w;
  const ids: number[] = [];
  const index = new Int32Array(hw).fill(-1);
  for (let i = 0; i < hw; i++)
    if (removed[i]) {
      index[i] = ids.length;
      ids.push(i);
    }
  const n = ids.length;
  const out = Float32Array.from(planar);
  if (!n) return out;
  // Per unknown: its diagonal, unknown neighbours (index, weight) and known neighbours (pixel, weight).
  const diag = new Float64Array(n);
  const nbU: number[][] = [],
    nbUw: number[][] = [],
    nbK: number[][] = [],
    nbKw: number[][] = [];
  for (let u = 0; u < n; u++) {
    const y = Math.floor(ids[u] / w),
      x = ids[u] % w;
    const [iu, wu, ik, wk]: number[][] = [[], [], [], []];
    for (const [dy, dx, wt] of NEIGHBOURS) {
      const yy = y + dy,
        xx = x + dx;
      if (yy < 0 || xx < 0 || yy >= h || xx >= w) continue;
      diag[u] += wt;
      const p = yy * w + xx;
      if (index[p] >= 0) {
        iu.push(index[p]);
        wu.push(wt);
      } else {
        ik.push(p);
        wk.push(wt);
      }
    }
    nbU.push(iu);
    nbUw.push(wu);
    nbK.push(ik);
    nbKw.push(wk);
  }
  const apply = (v: Float64Array, r: Float64Array) => {
    for (let u = 0; u < n; u++) {
      let s = diag[u] * v[u];
      const iu = nbU[u],
        wu = nbUw[u];
      for (let j = 0; j < iu.length; j++) s -= wu[j] * v[iu[j]];
      r[u] = s;
    }
  };
  const normal = gaussian(uniform);
  const x = new Float64Array(n),
    r = new Float64Array(n),
    p = new Float64Array(n),
    ap = new Float64Array(n),
    b = new Float64Array(n);
  for (let ch = 0; ch < c; ch++) {
    const o = ch * hw;
    let bnorm = 0;
    for (let u = 0; u < n; u++) {
      let s = 0;
      const ik = nbK[u],
        wk = nbKw[u];
      for (let j = 0; j < ik.length; j++) s += wk[j] * planar[o + ik[j]];
      b[u] = s;
      bnorm += s * s;
    }
    x.fill(0);
    r.set(b);
    p.set(b);
    let rr = bnorm;
    const tol = 1e-10 * Math.max(bnorm, 1e-30);
    for (let it = 0; it < 2000 && rr > tol; it++) {
      apply(p, ap);
      let pap = 0;
      for (let u = 0; u < n; u++) pap += p[u] * ap[u];
      if (!(pap > 0)) break; // a hole with no known neighbour anywhere: stays at 0
      const alpha = rr / pap;
      let rr2 = 0;
      for (let u = 0; u < n; u++) {
        x[u] += alpha * p[u];
        r[u] -= alpha * ap[u];
        rr2 += r[u] * r[u];
      }
      const beta = rr2 / rr;
      for (let u = 0; u < n; u++) p[u] = r[u] + beta * p[u];
      rr = rr2;
    }
    for (let u = 0; u < n; u++) out[o + ids[u]] = x[u] + noise * normal();
  }
  return out;
}
