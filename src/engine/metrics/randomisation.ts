// Adebayo et al. (2018) model-parameter randomisation test: the weights of the layers after the
// CAM layer are re-drawn, top-down (the layer nearest the output first, cascading), in an
// in-memory copy of the model; a method whose map barely changes does not depend on what the
// model learned. Re-drawn values are Gaussian with each tensor's own mean and standard deviation
// (the scale the layer was trained at; Adebayo re-initialise with the layer's init scheme).
import { CamLensError } from '../errors';
import type { LoadedModel } from '../model';
import { makeTensor, tensorDims, tensorToArray } from '../onnx/tensor';
import { DataType, type ModelProto, type TensorProto } from '../onnx/types';
import { gaussian, rng } from './stats';

/** Which inputs of which ops are learned parameters. */
const PARAMETER_INPUTS: Record<string, readonly number[]> = {
  Conv: [1, 2],
  ConvTranspose: [1, 2],
  Gemm: [1, 2],
  MatMul: [0, 1],
  BatchNormalization: [1, 2],
  LayerNormalization: [1, 2],
  InstanceNormalization: [1, 2],
  GroupNormalization: [1, 2],
  PRelu: [1],
};

export interface ParameterisedLayer {
  node: string;
  opType: string;
  initializers: string[];
}

/** The parameterised nodes downstream of `value`, nearest the output first. */
export function layersAfter(model: LoadedModel, value: string): ParameterisedLayer[] {
  const { graph } = model;
  const seen = new Set<string>();
  const queue = [value];
  const downstream = new Set<number>();
  while (queue.length) {
    const v = queue.pop()!;
    for (const n of graph.consumersOf(v)) {
      if (downstream.has(n.index)) continue;
      downstream.add(n.index);
      for (const o of n.outputs)
        if (o && !seen.has(o)) {
          seen.add(o);
          queue.push(o);
        }
    }
  }
  const initializerOf = (v: string): string | undefined => {
    if (graph.initializers.has(v)) return v;
    const p = graph.producerOf(v);
    if (p?.opType === 'Identity' && graph.initializers.has(p.inputs[0])) return p.inputs[0];
    return undefined;
  };
  const layers: ParameterisedLayer[] = [];
  for (const n of graph.nodes) {
    if (!downstream.has(n.index)) continue;
    const slots = PARAMETER_INPUTS[n.opType];
    if (!slots) continue;
    const inits = slots
      .map((i) => n.inputs[i])
      .filter(Boolean)
      .map(initializerOf)
      .filter((t): t is string => t !== undefined && graph.initializers.get(t)!.dataType === DataType.FLOAT);
    if (inits.length) layers.push({ node: n.name, opType: n.opType, initializers: inits });
  }
  return layers.reverse();
}

/** A copy of the model (sharing untouched tensors) with the named initializers re-drawn. */
export function randomiseInitializers(model: LoadedModel, names: ReadonlySet<string>, seed: number): ModelProto {
  const normal = gaussian(rng(seed));
  const g = model.proto.graph!;
  const initializer = g.initializer.map((t): TensorProto => {
    if (!t.name || !names.has(t.name)) return t;
    const values = tensorToArray(t) as Float32Array;
    let m = 0;
    for (const v of values) m += v;
    m /= values.length || 1;
    let s = 0;
    for (const v of values) s += (v - m) ** 2;
    const sd = Math.sqrt(s / (values.length || 1));
    const fresh = Float32Array.from(values, () => m + sd * normal());
    if (t.dataType !== DataType.FLOAT)
      throw new CamLensError('BAD_ARGUMENT', `Randomising ${t.name}: only float32 weights are handled (it is type ${t.dataType}).`);
    return makeTensor(t.name, DataType.FLOAT, tensorDims(t), fresh);
  });
  return { ...model.proto, graph: { ...g, initializer } };
}
