// FullGrad's layers (the registry's `layers: 'biases'`): the model's input, and every op output of
// the graph that adds a constant bias per channel of a 2-D feature map, with that bias. As
// pytorch-grad-cam takes them from Conv2d and BatchNorm2d modules: a Conv's bias input, and a
// BatchNormalization's effective bias B − mean·scale/√(var + ε) (its output is scale'·x + that).
// An exported graph has its BatchNorms folded into the Convs in front of them; the folded bias sits
// at the BatchNorm's old output with the same gradient, so the terms are the same (see the test).
// A Gemm's bias has no spatial extent: its term would be a constant map, which the per-channel
// min-max makes zero, so Gemms are left out (and so are 1×1 maps, below).
import { attrFloat, attrTensor } from '../onnx/attributes';
import { tensorToArray } from '../onnx/tensor';
import type { TensorProto } from '../onnx/types';
import type { LoadedModel } from '../model';

export interface BiasLayers {
  /** The input first, then the biased outputs in graph order. */
  values: string[];
  /** Output value → its bias per channel (float32, as the CAM math reads it). */
  biases: Record<string, Float32Array>;
}

export function biasLayers(model: LoadedModel): BiasLayers {
  const { graph } = model;
  // Exporters store parameters as initializers; some (Paddle) as Constant nodes.
  const constants = new Map<string, TensorProto>(graph.initializers);
  for (const node of graph.nodes) {
    const value = node.opType === 'Constant' && node.domain === '' ? attrTensor(node.proto, 'value') : undefined;
    if (value) constants.set(node.outputs[0], value);
  }
  const constant = (name: string | undefined) => {
    const t = name ? constants.get(name) : undefined;
    return t ? Float64Array.from(tensorToArray(t) as ArrayLike<number>) : undefined;
  };
  const values = [graph.inputs[0]];
  const biases: Record<string, Float32Array> = {};
  for (const node of graph.nodes) {
    if (node.domain !== '') continue;
    const out = node.outputs[0];
    // A 1×1 map (the convolutions of a squeeze-excitation after pooling) is constant per channel:
    // its term is zero after the min-max, and it has no spatial layout to read.
    const shape = model.shapes.get(out)?.shape;
    if (shape?.length === 4 && shape[2] === 1 && shape[3] === 1) continue;
    if (node.opType === 'Conv') {
      const weight = constants.get(node.inputs[1]);
      const bias = constant(node.inputs[2]);
      if (!bias || weight?.dims.length !== 4) continue;
      biases[out] = Float32Array.from(bias);
    } else if (node.opType === 'BatchNormalization') {
      if (model.shapes.get(out)?.shape?.length !== 4) continue;
      const [scale, shift, mean, variance] = node.inputs.slice(1, 5).map(constant);
      if (!scale || !shift || !mean || !variance) continue;
      const eps = attrFloat(node.proto, 'epsilon', 1e-5);
      biases[out] = Float32Array.from(shift, (b, c) => b - (mean[c] * scale[c]) / Math.sqrt(variance[c] + eps));
    } else {
      continue;
    }
    values.push(out);
  }
  return { values, biases };
}
