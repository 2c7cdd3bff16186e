// The symmetric eigen-solver behind EigenCAM and eigen_smooth (always runs).
import { equal, ok } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCam, DENSE_EIGEN_MAX, firstComponentProjection, symmetricEigen, topEigenvector } from '../../src/engine/cam';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function randomSymmetric(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = r();
  return a;
}

/** max over eigenpairs of ‖A v − λ v‖, and max |VᵀV − I|. */
function residuals(a: Float64Array, n: number): { res: number; orth: number } {
  const { values, vectors } = symmetricEigen(Float64Array.from(a), n);
  let res = 0;
  let orth = 0;
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j] * vectors[j * n + k];
      res = Math.max(res, Math.abs(s - values[k] * vectors[i * n + k]));
    }
    for (let l = 0; l < n; l++) {
      let d = 0;
      for (let i = 0; i < n; i++) d += vectors[i * n + k] * vectors[i * n + l];
      orth = Math.max(orth, Math.abs(d - (k === l ? 1 : 0)));
    }
  }
  return { res, orth };
}

describe('symmetric eigen-solver', () => {
  it('decomposes random symmetric matrices (sizes 1..60)', () => {
    for (const n of [1, 2, 3, 7, 16, 60]) {
      const { res, orth } = residuals(randomSymmetric(n, n), n);
      ok(res < 1e-12 * n && orth < 1e-12 * n, `n=${n}: residual ${res}, orthogonality ${orth}`);
    }
  });

  it('handles repeated eigenvalues, zeros and diagonal matrices', () => {
    const n = 6;
    const id = new Float64Array(n * n);
    for (let i = 0; i < n; i++) id[i * n + i] = 1;
    ok(residuals(id, n).res < 1e-14);
    ok(residuals(new Float64Array(n * n), n).res === 0);
    const diag = new Float64Array(n * n);
    [3, 1, 3, 0, -2, 3].forEach((v, i) => {
      diag[i * n + i] = v;
    });
    const top = topEigenvector(Float64Array.from(diag), n);
    equal(top.value, 3);
    // rank-one plus identity: top eigenvector is the rank-one direction
    const u = [1, 2, 0, -1, 0.5, 0];
    const norm = Math.hypot(...u);
    const m = Float64Array.from(id);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] += 5 * u[i] * u[j];
    const t = topEigenvector(m, n);
    ok(Math.abs(t.value - (1 + 5 * norm * norm)) < 1e-10);
    const dot = u.reduce((s, v, i) => s + v * t.vector[i], 0) / norm;
    ok(Math.abs(Math.abs(dot) - 1) < 1e-12);
  });

  it('large matrices (Lanczos) give the same top eigenpair as the full solver', () => {
    const n = DENSE_EIGEN_MAX + 72;
    for (const gap of [5, 1e-3]) {
      // a random PSD matrix B·Bᵀ/n plus gap·u·uᵀ: top eigenvalue separated by about `gap`
      const r = rng(n + gap);
      const b = Float64Array.from({ length: n * n }, r);
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += b[i * n + k] * b[j * n + k];
          a[i * n + j] = a[j * n + i] = s / n;
        }
      const full = symmetricEigen(Float64Array.from(a), n);
      let best = 0;
      for (let i = 1; i < n; i++) if (full.values[i] > full.values[best]) best = i;
      const t = topEigenvector(Float64Array.from(a), n);
      ok(Math.abs(t.value - full.values[best]) < 1e-10 * Math.abs(full.values[best]), `gap ${gap}: eigenvalue`);
      let d = 0;
      for (let k = 0; k < n; k++) d += t.vector[k] * full.vectors[k * n + best];
      ok(Math.abs(Math.abs(d) - 1) < 1e-8, `gap ${gap}: |cos| = ${Math.abs(d)}`);
    }
    // the zero matrix
    equal(topEigenvector(new Float64Array(200 * 200), 200).value, 0);
  });

  it('first-component projection: zero and NaN activations give finite maps', () => {
    const out = new Float32Array(4);
    firstComponentProjection(new Float32Array(12), 0, 3, 4, out, 0);
    ok(out.every((v) => v === 0));
    const withNaN = Float32Array.of(NaN, 1, 2, 3, 1, 1, 1, 1, 0, 0, 0, 0);
    firstComponentProjection(withNaN, 0, 3, 4, out, 0);
    ok(out.every(Number.isFinite));
  });

  it('both Gram routes (C ≤ hw and C > hw) agree with a long power iteration', () => {
    for (const [c, hw] of [
      [5, 30],
      [30, 5],
    ]) {
      const r = rng(c * 100 + hw);
      const x = new Float32Array(c * hw);
      // a dominant spatial pattern plus noise, so the top component is well separated
      for (let ch = 0; ch < c; ch++) for (let p = 0; p < hw; p++) x[ch * hw + p] = 3 * Math.sin(p) * Math.cos(ch) + 0.3 * r();
      const out = new Float32Array(hw);
      firstComponentProjection(x, 0, c, hw, out, 0);
      // reference: power iteration on XᵀX with centred columns
      const xc = Float64Array.from(x);
      for (let ch = 0; ch < c; ch++) {
        let m = 0;
        for (let p = 0; p < hw; p++) m += xc[ch * hw + p];
        for (let p = 0; p < hw; p++) xc[ch * hw + p] -= m / hw;
      }
      let v = new Float64Array(c).fill(1);
      for (let it = 0; it < 2000; it++) {
        const xv = new Float64Array(hw);
        for (let ch = 0; ch < c; ch++) for (let p = 0; p < hw; p++) xv[p] += xc[ch * hw + p] * v[ch];
        const nv = new Float64Array(c);
        for (let ch = 0; ch < c; ch++) for (let p = 0; p < hw; p++) nv[ch] += xc[ch * hw + p] * xv[p];
        const nrm = Math.hypot(...nv);
        v = nv.map((q) => q / nrm);
      }
      const proj = new Float64Array(hw);
      for (let ch = 0; ch < c; ch++) for (let p = 0; p < hw; p++) proj[p] += xc[ch * hw + p] * v[ch];
      const sign = proj.reduce((s, q, i) => s + q * out[i], 0) < 0 ? -1 : 1;
      const scale = Math.max(...proj.map(Math.abs));
      proj.forEach((q, i) => ok(Math.abs(sign * q - out[i]) < 1e-5 * scale, `c=${c} hw=${hw} [${i}]`));
    }
  });

  it('EigenCAM on a [40, 96, 24, 24] batch gives finite maps (its time is a diagnostic, not an assertion)', (t) => {
    const r = rng(7);
    const data = Float32Array.from({ length: 40 * 96 * 576 }, () => Math.max(0, r()));
    const t0 = performance.now();
    const res = createCam('eigencam').lowres({ activations: { data, shape: [40, 96, 24, 24] } });
    const ms = performance.now() - t0;
    ok(res.lowres.data.every(Number.isFinite));
    t.diagnostic(`EigenCAM [40, 96, 24, 24]: ${ms.toFixed(0)} ms`);
  });
});
