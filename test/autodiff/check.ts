// Gradient checker: for a tiny model built with the DSL, compares the backward graph's
// <Jᵀv, u> with the central finite difference <v, (f(x+hu) − f(x−hu)) / 2h> of the forward
// model, both run in onnxruntime. Models are built in float64 where ORT has double kernels for
// every op used (FD is then precise to ~1e-9); otherwise in float32 with a looser tolerance.
import { ok } from 'node:assert/strict';
import type { TestContext } from 'node:test';
import * as ort from 'onnxruntime-node';
import { buildGradientGraph } from '../../src/engine/autodiff';
import { DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { serializeModel } from '../../src/engine/onnx/io';
import type { ModelProto } from '../../src/engine/onnx/types';
import { rng } from '../../src/engine/metrics/stats';

export interface CheckInput {
  name: string;
  /** Runtime shape. */
  shape: number[];
  /** Values drawn uniformly from [lo, hi] (default [-1, 1]); ignored when `values` is set. */
  range?: [number, number];
  values?: number[];
  /** Integer input (int64): fed as is, not differentiated. */
  int?: boolean;
  /** Not differentiated (default: float inputs are wrt). */
  constant?: boolean;
}

export interface CheckSpec {
  inputs: CheckInput[];
  /** Builds the model on `b` (inputs already declared with `declared` dims or their shapes); returns the target value. */
  build: (b: ModelBuilder, dtype: DataType) => string;
  /** Declared dims per input (symbolic names allowed); default: the runtime shape. */
  declared?: Record<string, (number | string | null)[]>;
  opset?: number;
  /** Force float32 (skip the float64 attempt). */
  floatOnly?: boolean;
  /** Relative tolerance override. */
  tol?: number;
  /** Finite-difference step override. */
  step?: number;
  /** Extra wrt values (activations inside the model). */
  wrtValues?: string[];
  seed?: number;
}

export interface CheckResult {
  dtype: 'float64' | 'float32';
  fd: number;
  ad: number;
  relErr: number;
  nodes: number;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function buildModel(spec: CheckSpec, dtype: DataType): { model: ModelProto; target: string } {
  const b = ModelBuilder.create(spec.opset ?? 17);
  for (const inp of spec.inputs) b.input(inp.name, inp.int ? DataType.INT64 : dtype, spec.declared?.[inp.name] ?? inp.shape);
  const target = spec.build(b, dtype);
  b.output(target, dtype);
  return { model: b.build(), target };
}

async function session(model: ModelProto): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(serializeModel(model), { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
}

function tensor(dtype: DataType, data: Float64Array, shape: number[]): ort.Tensor {
  return dtype === DataType.DOUBLE ? new ort.Tensor('float64', data, shape) : new ort.Tensor('float32', Float32Array.from(data), shape);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Runs the check; asserts agreement and returns the figures. */
export async function gradCheck(t: TestContext | undefined, spec: CheckSpec): Promise<CheckResult> {
  const random = rng(spec.seed ?? 1234);
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * random();
  const x = new Map<string, Float64Array | BigInt64Array>();
  const u = new Map<string, Float64Array>();
  for (const inp of spec.inputs) {
    const n = size(inp.shape);
    if (inp.int) {
      x.set(inp.name, BigInt64Array.from(inp.values!.map(BigInt)));
      continue;
    }
    const [lo, hi] = inp.range ?? [-1, 1];
    x.set(inp.name, inp.values ? Float64Array.from(inp.values) : Float64Array.from({ length: n }, () => uniform(lo, hi)));
    if (!inp.constant)
      u.set(
        inp.name,
        Float64Array.from({ length: n }, () => uniform(-1, 1)),
      );
  }
  const wrtInputs = [...u.keys()];
  const wrt = [...wrtInputs, ...(spec.wrtValues ?? [])];

  let dtype = spec.floatOnly ? DataType.FLOAT : DataType.DOUBLE;
  let built = buildModel(spec, dtype);
  let forward: ort.InferenceSession;
  try {
    forward = await session(built.model);
  } catch (e) {
    if (dtype === DataType.FLOAT) throw e;
    dtype = DataType.FLOAT;
    built = buildModel(spec, dtype);
    forward = await session(built.model);
  }
  const feeds = (shift: number, extra: Record<string, ort.Tensor> = {}) => {
    const f: Record<string, ort.Tensor> = { ...extra };
    for (const inp of spec.inputs) {
      const base = x.get(inp.name)!;
      if (inp.int) {
        f[inp.name] = new ort.Tensor('int64', base as BigInt64Array, inp.shape);
        continue;
      }
      const dir = u.get(inp.name);
      const v = Float64Array.from(base as Float64Array, (val, i) => val + (dir ? shift * dir[i] : 0));
      f[inp.name] = tensor(dtype, v, inp.shape);
    }
    return f;
  };
  const isDouble = dtype === DataType.DOUBLE;
  const h = spec.step ?? (isDouble ? 1e-6 : 1e-2);
  const tol = spec.tol ?? (isDouble ? 1e-6 : 2e-2);
  try {
    const y0 = (await forward.run(feeds(0)))[built.target];
    const v = Float64Array.from({ length: y0.data.length }, () => uniform(-1, 1));
    const plus = (await forward.run(feeds(h)))[built.target].data as Float32Array | Float64Array;
    const minus = (await forward.run(feeds(-h)))[built.target].data as Float32Array | Float64Array;
    const diff = Float64Array.from(plus, (p, i) => (p - minus[i]) / (2 * h));
    const fd = dot(diff, v);

    const grad = buildGradientGraph(built.model, { target: built.target, wrt });
    const backward = await session(grad.model);
    try {
      const out = await backward.run(feeds(0, { [grad.cotangent]: tensor(dtype, v, [...y0.dims]) }));
      let ad = 0;
      for (const name of wrtInputs) {
        const g = out[grad.gradients[name]];
        const inp = spec.inputs.find((i) => i.name === name)!;
        ok(g, `gradient output for ${name}`);
        ok(JSON.stringify([...g.dims]) === JSON.stringify(inp.shape), `gradient of ${name} has shape [${g.dims}] (want [${inp.shape}])`);
        ad += dot(g.data as Float64Array, u.get(name)!);
      }
      const scale = Math.max(Math.abs(fd), Math.abs(ad), 1e-8);
      const relErr = Math.abs(fd - ad) / scale;
      const result: CheckResult = {
        dtype: isDouble ? 'float64' : 'float32',
        fd,
        ad,
        relErr,
        nodes: grad.model.graph!.node.length - built.model.graph!.node.length,
      };
      t?.diagnostic(
        `${result.dtype}: <v,Ju> FD ${fd.toPrecision(10)} vs backward ${ad.toPrecision(10)}; rel err ${relErr.toExponential(2)}; ${result.nodes} backward nodes`,
      );
      ok(relErr <= tol, `finite differences ${fd} vs backward ${ad}: relative error ${relErr.toExponential(2)} > ${tol}`);
      ok(Math.abs(fd) > 1e-9 || Math.abs(ad) > 1e-9 || spec.tol !== undefined, 'degenerate check: both directional derivatives are ~0');
      return result;
    } finally {
      await backward.release();
    }
  } finally {
    await forward.release();
  }
}

/** Random float values, for weights in test models. */
export function randomValues(n: number, seed: number, lo = -1, hi = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** A weight initializer in the model's element type. */
export function weight(b: ModelBuilder, dtype: DataType, name: string, dims: number[], seed: number, lo = -1, hi = 1): string {
  return b.initializer(name, dtype, dims, randomValues(size(dims), seed, lo, hi));
}
