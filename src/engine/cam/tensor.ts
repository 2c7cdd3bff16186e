// The plain tensors the CAM math works on. Everything here is float32 in C order; the
// methods read activations and gradients as [N, C, h, w] ("feature maps") and produce maps
// as [N, h, w]. Layout adapters (layout.ts) bring other layouts to this one.
import { CamLensError } from '../errors';

/** A float32 tensor in C order. */
export interface Float32Tensor {
  data: Float32Array;
  shape: readonly number[];
}

/** Activations or gradients as [N, C, h, w]. */
export interface FeatureMaps extends Float32Tensor {
  shape: readonly [number, number, number, number];
}

/** One map per image, [N, h, w]. */
export interface Maps extends Float32Tensor {
  shape: readonly [number, number, number];
}

export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Checks that a tensor's data length matches its shape; `what` names it in the error. */
export function checkTensor(t: Float32Tensor, rank: number, what: string): void {
  if (t.shape.length !== rank) {
    throw new CamLensError('BAD_ARGUMENT', `${what} must have rank ${rank}, got shape [${t.shape.join(', ')}]`);
  }
  if (t.shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new CamLensError('BAD_ARGUMENT', `${what} has an empty or invalid shape [${t.shape.join(', ')}]`);
  }
  const n = elementCount(t.shape);
  if (t.data.length !== n) {
    throw new CamLensError('BAD_ARGUMENT', `${what} has ${t.data.length} values but shape [${t.shape.join(', ')}] needs ${n}`);
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function featureMaps(data: Float32Array, shape: readonly number[], what = 'feature maps'): FeatureMaps {
  const t = { data, shape: [...shape] as unknown as readonly [number, number, number, number] };
  checkTensor(t, 4, what);
  return t;
}

/** Deep Feature Factorization's concepts of one image's layer (cam/dff.ts makes them). */
export interface ConceptFactorization {
  count: number;
  channels: number;
  /** [K, C]: each concept's embedding (the C-vector the head scores). */
  embeddings: Float32Array;
  /** [K, h, w] (one image): each concept's map at layer resolution, ≥ 0. */
  maps: Float32Array;
  h: number;
  w: number;
  /** NMF sweeps made and whether it met its tolerance before its 200-sweep limit. */
  iterations: number;
  converged: boolean;
}
