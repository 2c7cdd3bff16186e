// Hessian-vector product checker: the second-order graph's H·u (reverse over reverse,
// autodiff/hessian.ts) against the central finite difference of the first-order gradient graph
// (∇f(x + hu) − ∇f(x − hu)) / 2h, both run in onnxruntime, for a fixed cotangent w (f = <w, y>).
// float64 where ORT has double kernels for every op, else float32 with a looser tolerance.
import { ok } from 'node:assert/strict';
import type { TestContext } from 'node:test';
import * as ort from 'onnxruntime-node';
import { appendHessianVectorProducts, buildGradientGraph } from '../../src/engine/autodiff';
import { DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { serializeModel } from '../../src/engine/onnx/io';
import { rng } from '../../src/engine/metrics/stats';

export interface HvpSpec {
  /** The differentiated input and its shape. */
  shape: number[];
  range?: [number, number];
  build: (b: ModelBuilder, dtype: DataType) => string;
  floatOnly?: boolean;
  tol?: number;
  /** The check expects H·u = 0 everywhere (e.g. piecewise-linear models). */
  zero?: boolean;
  seed?: number;
}

export interface HvpResult {
  dtype: 'float64' | 'float32';
  /** max |H·u| over the elements (the scale of the check). */
  scale: number;
  /** max |AD − FD| / max(scale, 1e-12). */
  relErr: number;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function build(spec: HvpSpec, dtype: DataType) {
  const b = ModelBuilder.create(17);
  b.input('x', dtype, spec.shape);
  const y = spec.build(b, dtype);
  b.output(y, dtype);
  return { model: b.build(), target: y };
}

const session = (bytes: Uint8Array) => ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });

export async function hvpCheck(t: TestContext, spec: HvpSpec): Promise<HvpResult> {
  const random = rng(spec.seed ?? 99);
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * random();
  const n = size(spec.shape);
  const [lo, hi] = spec.range ?? [-1, 1];
  const x = Float64Array.from({ length: n }, () => uniform(lo, hi));
  const u = Float64Array.from({ length: n }, () => uniform(-1, 1));
  let dtype = spec.floatOnly ? DataType.FLOAT : DataType.DOUBLE;
  let built = build(spec, dtype);
  let grad = buildGradientGraph(built.model, { target: built.target, wrt: ['x'] });
  let hvp = appendHessianVectorProducts(grad, { wrt: ['x'], vector: 'fed' });
  let first: ort.InferenceSession;
  let second: ort.InferenceSession;
  try {
    first = await session(serializeModel(grad.model));
    second = await session(serializeModel(hvp.model));
  } catch (e) {
    if (dtype === DataType.FLOAT) throw e;
    dtype = DataType.FLOAT;
    built = build(spec, dtype);
    grad = buildGradientGraph(built.model, { target: built.target, wrt: ['x'] });
    hvp = appendHessianVectorProducts(grad, { wrt: ['x'], vector: 'fed' });
    first = await session(serializeModel(grad.model));
    second = await session(serializeModel(hvp.model));
  }
  const isDouble = dtype === DataType.DOUBLE;
  const tensor = (data: Float64Array, dims: readonly number[]) =>
    isDouble ? new ort.Tensor('float64', data, dims) : new ort.Tensor('float32', Float32Array.from(data), dims);
  try {
    // The cotangent's shape is the target's: read it from one forward-only run of the model.
    const forward = await session(serializeModel(built.model));
    const y = (await forward.run({ x: tensor(x, spec.shape) }))[built.target];
    await forward.release();
    const w = Float64Array.from({ length: y.data.length }, () => uniform(-1, 1));
    const h = isDouble ? 1e-5 : 1e-2;
    const gradAt = async (shift: number) => {
      const xs = Float64Array.from(x, (v, i) => v + shift * u[i]);
      const out = await first.run({ x: tensor(xs, spec.shape), [grad.cotangent]: tensor(w, y.dims) });
      return out[grad.gradients.x].data as Float32Array | Float64Array;
    };
    const plus = await gradAt(h);
    const minus = await gradAt(-h);
    const fd = Float64Array.from(plus, (p, i) => (p - minus[i]) / (2 * h));
    const out = await second.run({ x: tensor(x, spec.shape), [grad.cotangent]: tensor(w, y.dims), [hvp.vectors.x]: tensor(u, spec.shape) });
    const ad = out[hvp.products.x];
    ok(JSON.stringify([...ad.dims]) === JSON.stringify(spec.shape), `H·u has shape [${ad.dims}] (want [${spec.shape}])`);
    let scale = 0;
    let err = 0;
    for (let i = 0; i < n; i++) {
      const a = Number(ad.data[i]);
      scale = Math.max(scale, Math.abs(a), Math.abs(fd[i]));
      err = Math.max(err, Math.abs(a - fd[i]));
    }
    const relErr = err / Math.max(scale, 1e-12);
    const result: HvpResult = { dtype: isDouble ? 'float64' : 'float32', scale, relErr };
    t.diagnostic(
      `${result.dtype}: max|H·u| ${scale.toPrecision(6)}, max|AD − FD| ${err.toExponential(2)} (rel ${relErr.toExponential(2)}); ${hvp.model.graph!.node.length - grad.model.graph!.node.length} second-order nodes`,
    );
    if (spec.zero) {
      ok(scale < 1e-6, `expected H·u = 0, got max |H·u| or |FD| = ${scale}`);
    } else {
      ok(scale > 1e-6, 'degenerate check: H·u ~ 0');
      ok(relErr <= (spec.tol ?? (isDouble ? 1e-5 : 3e-2)), `H·u vs finite differences of the gradient: relative error ${relErr.toExponential(2)}`);
    }
    return result;
  } finally {
    await first.release();
    await second.release();
  }
}
