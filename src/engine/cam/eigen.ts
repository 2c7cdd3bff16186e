// First principal component projection (pytorch-grad-cam's `get_2d_projection`) without a full SVD.
//
// For one image, X is the activation as an [hw, C] matrix with each column centred. numpy's
// `svd(X)` gives X = U S Vᵀ and the map is X·v₁ = s₁·u₁. v₁ is the top eigenvector of XᵀX (C×C)
// and u₁ the top eigenvector of XXᵀ (hw×hw); we build whichever Gram matrix is smaller in
// float64 and solve it with a Householder tridiagonalisation + implicit QL (EISPACK tred2/tql2,
// as in JAMA) up to 128×128, which is robust for clustered or repeated eigenvalues where power
// iteration stalls; larger Gram matrices use restarted Lanczos with full re-orthogonalisation.
// From u₁ we recover v₁ = Xᵀu₁ / ‖Xᵀu₁‖ so both routes return X·v₁.
//
// Sign: a singular vector's sign is arbitrary (numpy's follows LAPACK internals). We fix it so
// the map correlates positively with the mean activation over channels (where the layer fires
// most is "hot"); when that correlation vanishes, the entry of largest magnitude is made positive.
// References from numpy therefore match up to sign only.

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major, float64, overwritten).
 * Returns the eigenvalues (unsorted) and the eigenvectors as the columns of `vectors` (row-major n×n).
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const V = a;
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 1) {
    d[0] = V[0];
    V[0] = 1;
    return { values: d, vectors: V };
  }
  tred2(V, d, e, n);
  // tql2 rotates eigenvector columns; on the transpose those are contiguous rows (cache-friendly).
  transposeInPlace(V, n);
  tql2(V, d, e, n);
  transposeInPlace(V, n);
  return { values: d, vectors: V };
}

function transposeInPlace(a: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const t = a[i * n + j];
      a[i * n + j] = a[j * n + i];
      a[j * n + i] = t;
    }
  }
}

function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k];
          e[k] += V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k];
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

function tql2(W: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100) throw new Error('symmetric eigen-solver did not converge (non-finite input?)');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          // W = Vᵀ: rows i and i + 1 of W are columns i and i + 1 of V.
          const ri = i * n;
          const rj = ri + n;
          for (let k = 0; k < n; k++) {
            h = W[rj + k];
            W[rj + k] = s * W[ri + k] + c * h;
            W[ri + k] = c * W[ri + k] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

/** Above this size the top eigenvector comes from Lanczos instead of the full O(n³) solver. */
export const DENSE_EIGEN_MAX = 128;

/**
 * The eigenvector (unit, float64) of the largest eigenvalue of a symmetric matrix (may be
 * overwritten). Small matrices: the full solver. Larger ones: Lanczos with full
 * re-orthogonalisation, restarted from the best Ritz vector until the residual is negligible
 * (O(n²) per step instead of O(n³) overall).
 */
export function topEigenvector(a: Float64Array, n: number): { value: number; vector: Float64Array } {
  if (n <= DENSE_EIGEN_MAX) return denseTop(a, n);
  return lanczosTop(a, n);
}

function denseTop(a: Float64Array, n: number): { value: number; vector: Float64Array } {
  const { values, vectors } = symmetricEigen(a, n);
  let best = 0;
  for (let i = 1; i < n; i++) if (values[i] > values[best]) best = i;
  const v = new Float64Array(n);
  for (let k = 0; k < n; k++) v[k] = vectors[k * n + best];
  return { value: values[best], vector: v };
}

function matVec(a: Float64Array, n: number, x: Float64Array, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) s += a[row + j] * x[j];
    out[i] = s;
  }
}

function lanczosTop(a: Float64Array, n: number, steps = 48, restarts = 50): { value: number; vector: Float64Array } {
  let norm = 0;
  for (let i = 0; i < n * n; i++) norm = Math.max(norm, Math.abs(a[i]));
  norm *= n; // ≥ spectral norm
  const v = new Float64Array(n);
  if (norm === 0) {
    v[0] = 1;
    return { value: 0, vector: v };
  }
  // A deterministic pseudo-random start: a constant vector can be orthogonal to the answer
  // (centred data puts 1 in the null space of XXᵀ).
  let seed = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    v[i] = seed / 2 ** 32 - 0.5;
  }
  normalise(v);
  const m = Math.min(steps, n);
  const q = new Float64Array((m + 1) * n);
  const w = new Float64Array(n);
  const alpha = new Float64Array(m);
  const beta = new Float64Array(m);
  let value = 0;
  for (let r = 0; r < restarts; r++) {
    q.set(v, 0);
    let k = 0;
    for (; k < m; k++) {
      const qk = q.subarray(k * n, (k + 1) * n);
      matVec(a, n, qk, w);
      alpha[k] = dot(qk, w);
      // full re-orthogonalisation, twice ("twice is enough")
      for (let pass = 0; pass < 2; pass++) {
        for (let i = 0; i <= k; i++) {
          const qi = q.subarray(i * n, (i + 1) * n);
          const c = dot(qi, w);
          for (let j = 0; j < n; j++) w[j] -= c * qi[j];
        }
      }
      beta[k] = Math.sqrt(dot(w, w));
      if (beta[k] <= 1e-14 * norm) {
        k++;
        break;
      } // invariant subspace: T is exact
      const next = q.subarray((k + 1) * n, (k + 2) * n);
      for (let j = 0; j < n; j++) next[j] = w[j] / beta[k];
    }
    // Ritz pair of the k×k tridiagonal T.
    const t = new Float64Array(k * k);
    for (let i = 0; i < k; i++) {
      t[i * k + i] = alpha[i];
      if (i + 1 < k) t[i * k + i + 1] = t[(i + 1) * k + i] = beta[i];
    }
    const ritz = denseTop(t, k);
    value = ritz.value;
    v.fill(0);
    for (let i = 0; i < k; i++) {
      const c = ritz.vector[i];
      for (let j = 0; j < n; j++) v[j] += c * q[i * n + j];
    }
    normalise(v);
    const residual = Math.abs(beta[k - 1] * ritz.vector[k - 1]);
    if (residual <= 1e-13 * norm || k < m) break;
  }
  return { value, vector: v };
}

function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

function normalise(x: Float64Array): void {
  const l = Math.sqrt(dot(x, x));
  if (l > 0) for (let i = 0; i < x.length; i++) x[i] /= l;
}

/** XXᵀ (hw×hw, float64) of channel-major [C, hw] planes: the dot products between positions. */
export function positionGram(x: Float64Array, c: number, hw: number): Float64Array {
  const g = new Float64Array(hw * hw);
  for (let ch = 0; ch < c; ch++) {
    const o = ch * hw;
    for (let p = 0; p < hw; p++) {
      const xp = x[o + p];
      if (xp === 0) continue;
      const row = p * hw;
      for (let q = p; q < hw; q++) g[row + q] += xp * x[o + q];
    }
  }
  for (let p = 0; p < hw; p++) for (let q = p + 1; q < hw; q++) g[q * hw + p] = g[p * hw + q];
  return g;
}

/**
 * Projection of one image's [C, hw] planes (channel-major, as in NCHW) on their first principal
 * component: `get_2d_projection` for one image, written into out[outOffset .. + hw).
 * `src` holds C·hw values from `srcOffset`. NaNs count as 0, as in pytorch-grad-cam.
 */
export function firstComponentProjection(
  src: Float32Array | Float64Array,
  srcOffset: number,
  c: number,
  hw: number,
  out: Float32Array,
  outOffset: number,
): void {
  // X[p, ch] centred, stored channel-major in float64: x[ch * hw + p].
  const x = new Float64Array(c * hw);
  for (let ch = 0; ch < c; ch++) {
    const base = srcOffset + ch * hw;
    let mean = 0;
    for (let p = 0; p < hw; p++) {
      const v = src[base + p];
      const val = v === v ? v : 0;
      x[ch * hw + p] = val;
      mean += val;
    }
    mean /= hw;
    for (let p = 0; p < hw; p++) x[ch * hw + p] -= mean;
  }
  const v = new Float64Array(c);
  if (c <= hw) {
    // XᵀX (C×C): v₁ directly.
    const g = new Float64Array(c * c);
    for (let i = 0; i < c; i++) {
      for (let j = i; j < c; j++) {
        let s = 0;
        const oi = i * hw;
        const oj = j * hw;
        for (let p = 0; p < hw; p++) s += x[oi + p] * x[oj + p];
        g[i * c + j] = s;
        g[j * c + i] = s;
      }
    }
    v.set(topEigenvector(g, c).vector);
  } else {
    // XXᵀ (hw×hw): u₁, then v₁ ∝ Xᵀu₁.
    const u = topEigenvector(positionGram(x, c, hw), hw).vector;
    let norm = 0;
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      const o = ch * hw;
      for (let p = 0; p < hw; p++) s += x[o + p] * u[p];
      v[ch] = s;
      norm += s * s;
    }
    norm = Math.sqrt(norm);
    if (norm > 0) for (let ch = 0; ch < c; ch++) v[ch] /= norm;
  }
  const proj = new Float64Array(hw);
  for (let ch = 0; ch < c; ch++) {
    const vc = v[ch];
    if (vc === 0) continue;
    const o = ch * hw;
    for (let p = 0; p < hw; p++) proj[p] += x[o + p] * vc;
  }
  // Sign convention (see the top of the file).
  let corr = 0;
  let energy = 0;
  const meanMap = new Float64Array(hw);
  for (let ch = 0; ch < c; ch++) {
    const base = srcOffset + ch * hw;
    for (let p = 0; p < hw; p++) {
      const val = src[base + p];
      if (val === val) meanMap[p] += val;
    }
  }
  let mm = 0;
  for (let p = 0; p < hw; p++) mm += meanMap[p];
  mm /= hw;
  let big = 0;
  for (let p = 0; p < hw; p++) {
    corr += proj[p] * (meanMap[p] - mm);
    energy += Math.abs(proj[p]) * Math.abs(meanMap[p] - mm);
    if (Math.abs(proj[p]) > Math.abs(big)) big = proj[p];
  }
  const flip = Math.abs(corr) > 1e-9 * energy ? corr < 0 : big < 0;
  for (let p = 0; p < hw; p++) out[outOffset + p] = flip ? -proj[p] : proj[p];
}
