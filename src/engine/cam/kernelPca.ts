// Kernel PCA of one image's activations, as pytorch-grad-cam's KPCA-CAM asks sklearn for it
// (`get_2d_projection_kernel`): the positions are the samples (hw rows), the channels the
// features, each channel centred over the positions first (NaN counts as 0). The kernel matrix
// (sklearn's kernels, gamma = 1/C by default) is centred in feature space and its top
// eigenvectors v_i (largest eigenvalues λ_i) give the projections v_i·√λ_i, which is
// `KernelPCA.fit_transform`.
//
// Sign: sklearn fixes each eigenvector's sign with `svd_flip` (its entry of largest magnitude
// is positive), and pytorch-grad-cam keeps that sign: the map is relu'd afterwards, so the sign
// decides the map. We use the same rule (not eigen.ts's correlation with the mean activation).
import { DENSE_EIGEN_MAX, positionGram, symmetricEigen, topEigenvector } from './eigen';

export const KPCA_KERNELS = ['sigmoid', 'rbf', 'poly', 'linear', 'cosine'] as const;
export type KpcaKernel = (typeof KPCA_KERNELS)[number];

export interface KernelPcaOptions {
  kernel: KpcaKernel;
  /** How many components are summed into the map (pytorch-grad-cam: 1). */
  components: number;
  /** The kernel's gamma (rbf, sigmoid, poly); default 1/C as sklearn's. */
  gamma?: number;
}

/** sklearn's defaults for the kernels' other parameters: coef0 = 1, degree = 3. */
function kernelMatrix(x: Float64Array, c: number, hw: number, kernel: KpcaKernel, gamma: number): Float64Array {
  const dot = positionGram(x, c, hw);
  const k = dot;
  if (kernel === 'linear') return k;
  if (kernel === 'cosine') {
    const norms = Float64Array.from({ length: hw }, (_, p) => Math.sqrt(dot[p * hw + p]));
    for (let p = 0; p < hw; p++) for (let q = 0; q < hw; q++) k[p * hw + q] = norms[p] && norms[q] ? dot[p * hw + q] / (norms[p] * norms[q]) : 0;
    return k;
  }
  if (kernel === 'rbf') {
    const sq = Float64Array.from({ length: hw }, (_, p) => dot[p * hw + p]);
    for (let p = 0; p < hw; p++) for (let q = 0; q < hw; q++) k[p * hw + q] = Math.exp(-gamma * Math.max(sq[p] + sq[q] - 2 * dot[p * hw + q], 0));
    return k;
  }
  const f = kernel === 'sigmoid' ? (v: number) => Math.tanh(gamma * v + 1) : (v: number) => (gamma * v + 1) ** 3;
  for (let i = 0; i < k.length; i++) k[i] = f(k[i]);
  return k;
}

/** K ← (I − 1/n)·K·(I − 1/n): the kernel of the samples centred in feature space. */
function centreKernel(k: Float64Array, n: number): void {
  const rowMean = new Float64Array(n);
  let total = 0;
  for (let p = 0; p < n; p++) {
    let s = 0;
    for (let q = 0; q < n; q++) s += k[p * n + q];
    rowMean[p] = s / n;
    total += s;
  }
  total /= n * n;
  // K is symmetric: column means are the row means.
  for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) k[p * n + q] += total - rowMean[p] - rowMean[q];
}

/** The `count` eigenpairs of largest eigenvalue, largest first. */
function topEigenpairs(k: Float64Array, n: number, count: number): { value: number; vector: Float64Array }[] {
  if (n <= DENSE_EIGEN_MAX) {
    const { values, vectors } = symmetricEigen(k, n);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[b] - values[a]);
    return order.slice(0, count).map((j) => ({ value: values[j], vector: Float64Array.from({ length: n }, (_, i) => vectors[i * n + j]) }));
  }
  // Lanczos finds one pair at a time; deflate each found pair away for the next.
  const pairs: { value: number; vector: Float64Array }[] = [];
  for (let i = 0; i < count; i++) {
    const pair = topEigenvector(Float64Array.from(k), n);
    pairs.push(pair);
    const { value, vector: v } = pair;
    for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) k[p * n + q] -= value * v[p] * v[q];
  }
  return pairs;
}

/**
 * The map of one image's [C, hw] planes (channel-major from `srcOffset`): the sum of the first
 * `components` kernel-PCA projections, written into out[outOffset .. + hw).
 */
export function kernelPcaProjection(
  src: Float32Array,
  srcOffset: number,
  c: number,
  hw: number,
  out: Float32Array,
  outOffset: number,
  options: KernelPcaOptions,
): void {
  const x = new Float64Array(c * hw);
  for (let ch = 0; ch < c; ch++) {
    let mean = 0;
    for (let p = 0; p < hw; p++) {
      const v = src[srcOffset + ch * hw + p];
      x[ch * hw + p] = v === v ? v : 0;
      mean += x[ch * hw + p];
    }
    mean /= hw;
    for (let p = 0; p < hw; p++) x[ch * hw + p] -= mean;
  }
  const k = kernelMatrix(x, c, hw, options.kernel, options.gamma ?? 1 / c);
  centreKernel(k, hw);
  const map = new Float64Array(hw);
  for (const { value, vector } of topEigenpairs(k, hw, Math.min(options.components, hw))) {
    let big = 0;
    for (let p = 0; p < hw; p++) if (Math.abs(vector[p]) > Math.abs(big)) big = vector[p];
    // A negative eigenvalue (the sigmoid kernel is not positive definite) contributes nothing, as sklearn clips it to 0.
    const scale = (big < 0 ? -1 : 1) * Math.sqrt(Math.max(value, 0));
    for (let p = 0; p < hw; p++) map[p] += vector[p] * scale;
  }
  for (let p = 0; p < hw; p++) out[outOffset + p] = map[p];
}
