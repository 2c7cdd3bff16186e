// Gradient checks shared by the target tests: the model cut at a CAM layer as a function of the
// layer's activation, the directional derivative g·u against a central difference, and two
// gradients that must agree.
import { ok } from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import type { LoadedModel } from '../../src/engine/model';
import { serializeModel } from '../../src/engine/onnx/io';
import type { PlainTensor } from '../../src/engine/runtime/tapRunner';
import { extractModel } from '../../src/engine/surgery/extract';

/**
 * d scalar/d layer · u by central differences of `scalar(value at layer activation)`, on the model
 * cut from `layer` to `value`, beside the analytic g·u from the gradient `g`.
 */
export async function directionalCheck(
  model: LoadedModel,
  layer: string,
  value: string,
  act: PlainTensor,
  g: Float32Array,
  u: Float32Array,
  h: number,
  scalar: (out: Float32Array) => number,
): Promise<{ analytic: number; fd: number }> {
  const tail = await ort.InferenceSession.create(serializeModel(extractModel(model.proto, model.graph, [layer], [value], model.shapes)));
  const at = async (a: Float32Array) => scalar((await tail.run({ [layer]: new ort.Tensor('float32', a, act.dims) }))[value].data as Float32Array);
  const a0 = act.data as Float32Array;
  const fd = ((await at(a0.map((v, i) => v + h * u[i]))) - (await at(a0.map((v, i) => v - h * u[i])))) / (2 * h);
  await tail.release();
  return { analytic: g.reduce((s, v, i) => s + v * u[i], 0), fd };
}

/** Every element of `b` within `rel` × max|a| of `a`. */
export function assertSameGradient(a: Float32Array, b: Float32Array, rel: number, message: string): void {
  const scale = Math.max(...a.map(Math.abs));
  ok(a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= rel * scale), message);
}
