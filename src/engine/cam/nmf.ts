// Non-negative matrix factorisation X ≈ W·H (X [n, m] ≥ 0, W [n, k], H [k, m]) as sklearn's
// `NMF(n_components=k, init='random', random_state=seed)` computes it (the Frobenius loss, its
// default coordinate-descent solver, no regularisation): the same numpy random start, the same
// cyclic coordinate order and the same stopping rule (after sweep t, stop when the summed
// projected gradient has fallen to `tol` of the first sweep's, or after `maxIter` sweeps). Values
// are stored in float32 as sklearn keeps them for float32 activations. Following its path, not
// only its objective, is what makes the concepts pytorch-grad-cam's: its 200 sweeps often stop
// before convergence, and NMF's local minima differ (multiplicative updates from the same start
// reach other concepts).
import { NumpyRandomState } from './numpyRandom';

export interface NmfOptions {
  /** numpy RandomState seed of the random start (pytorch-grad-cam: 0). */
  seed?: number;
  maxIter?: number;
  tol?: number;
}

export interface NmfResult {
  /** [n, k], row-major. */
  w: Float32Array;
  /** [k, m], row-major. */
  h: Float32Array;
  iterations: number;
  /** False when `maxIter` sweeps ended it (sklearn's ConvergenceWarning). */
  converged: boolean;
}

const f32 = Math.fround;

export function nmf(x: Float32Array, n: number, m: number, k: number, options: NmfOptions = {}): NmfResult {
  const { seed = 0, maxIter = 200, tol = 1e-4 } = options;
  if (x.length !== n * m) throw new RangeError(`nmf: ${x.length} values for a ${n}×${m} matrix`);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i];
  const avg = f32(Math.sqrt(f32(f32(sum / x.length) / k)));
  // sklearn draws H before W, both |avg · N(0, 1)|.
  const rng = new NumpyRandomState(seed);
  const ht = new Float32Array(m * k); // Hᵀ, [m, k]: both factors are updated as row-major "W" of their side
  for (let r = 0; r < k; r++) for (let j = 0; j < m; j++) ht[j * k + r] = Math.abs(avg * f32(rng.standardNormal()));
  const w = new Float32Array(n * k);
  for (let i = 0; i < n * k; i++) w[i] = Math.abs(avg * f32(rng.standardNormal()));
  const xt = new Float32Array(m * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) xt[j * n + i] = x[i * m + j];

  let first = 0;
  let iterations = 0;
  let converged = false;
  for (let it = 1; it <= maxIter; it++) {
    iterations = it;
    const violation = f32(sweep(x, n, m, w, ht, k) + sweep(xt, m, n, ht, w, k));
    if (it === 1) first = violation;
    if (first === 0 || violation / first <= tol) {
      converged = true;
      break;
    }
  }
  const h = new Float32Array(k * m);
  for (let j = 0; j < m; j++) for (let r = 0; r < k; r++) h[r * m + j] = ht[j * k + r];
  return { w, h, iterations, converged };
}

/**
 * One cyclic pass of exact coordinate minimisation over the entries of `a` ([rows, k]) with
 * `b` ([cols, k]) fixed, for X [rows, cols] ≈ a·bᵀ; returns the summed |projected gradient|.
 */
function sweep(x: Float32Array, rows: number, cols: number, a: Float32Array, b: Float32Array, k: number): number {
  const btb = new Float32Array(k * k);
  for (let r = 0; r < k; r++) {
    for (let s = 0; s < k; s++) {
      let acc = 0;
      for (let j = 0; j < cols; j++) acc += b[j * k + r] * b[j * k + s];
      btb[r * k + s] = acc;
    }
  }
  const xb = new Float32Array(rows * k);
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    for (let r = 0; r < k; r++) {
      let acc = 0;
      for (let j = 0; j < cols; j++) acc += x[row + j] * b[j * k + r];
      xb[i * k + r] = acc;
    }
  }
  let violation = 0;
  for (let t = 0; t < k; t++) {
    const hess = btb[t * k + t];
    for (let i = 0; i < rows; i++) {
      let grad = -xb[i * k + t];
      for (let r = 0; r < k; r++) grad = f32(grad + f32(btb[t * k + r] * a[i * k + r]));
      const current = a[i * k + t];
      violation = f32(violation + Math.abs(current === 0 ? Math.min(0, grad) : grad));
      if (hess !== 0) a[i * k + t] = Math.max(f32(current - f32(grad / hess)), 0);
    }
  }
  return violation;
}
