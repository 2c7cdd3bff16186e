// The model an explanation runs: forward + backward in one graph. Built from the user's model
// in memory: optional softmax on the target value, the backward graph of the target with
// respect to the CAM layers (engine/autodiff), and the layers' activations as extra outputs.
// The target value is a graph output or any internal value (engine/targets); the cotangent
// (which of its elements to explain) is either fed by the caller or, for the default "top-1" /
// VALUE@max case, computed inside the graph as one-hot(argmax) per input row, so a single run
// does prediction, forward and backward.
import { buildGradientGraph } from '../autodiff';
import { ModelBuilder } from '../onnx/builder';
import type { LoadedModel } from '../model';
import { CAMLENS_PREFIX } from '../surgery/taps';
import { serializeModel } from '../onnx/io';
import { int64ToNumber } from '../onnx/int64';

export interface GradientModelSpec {
  /** The value the target is taken from: the class scores ([N, K]) or any value of the model. */
  output: string;
  layers: readonly string[];
  /** Differentiate softmax(scores) instead of the raw scores. */
  softmax: boolean;
  /**
   * true: cotangent = one-hot(argmax) inside the graph, over every axis but the batch axis (the
   * last axis of [N, K] scores: top-1); false: the caller feeds it.
   */
  top1InGraph: boolean;
}

export interface GradientModel {
  bytes: Uint8Array;
  /** Output carrying the scores the target is taken from (softmax'd if requested). */
  scores: string;
  activations: Record<string, string>;
  gradients: Record<string, string>;
  /** The cotangent input's name, when the caller feeds it. */
  cotangent?: string;
}

export const gradientVariantKey = (s: GradientModelSpec) =>
  `grad\n${s.output}\n${s.softmax ? 'softmax' : 'logit'}\n${s.top1InGraph ? 'top1' : 'fed'}\n${[...s.layers].join('\n')}`;

export function buildGradientModel(model: LoadedModel, spec: GradientModelSpec): GradientModel {
  let proto = model.proto;
  let target = spec.output;
  if (spec.softmax) {
    const b = ModelBuilder.extend(proto);
    target = b.op('Softmax', [spec.output], { axis: -1 }, { name: `${CAMLENS_PREFIX}softmax`, outputs: [b.uniqueName(`${CAMLENS_PREFIX}probabilities`)] });
    proto = b.build();
  }
  const grad = buildGradientGraph(proto, { target, wrt: spec.layers, shapes: model.shapes });
  const b = ModelBuilder.extend(grad.model);
  const outputs = new Set(b.graph.output.map((o) => o.name));
  // An internal value (or its softmax) is read back as the run's scores.
  if (!outputs.has(target)) b.graph.output.push({ name: target, metadataProps: [] });
  outputs.add(target);
  const activations: Record<string, string> = {};
  for (const layer of spec.layers) {
    activations[layer] = layer;
    if (outputs.has(layer)) continue;
    if (model.graph.kindOf(layer) === 'activation') {
      b.graph.output.push({ name: layer, metadataProps: [] });
    } else {
      const copy = b.op('Identity', [layer], {}, { name: `${CAMLENS_PREFIX}act/${layer}` });
      b.graph.output.push({ name: copy, metadataProps: [] });
      activations[layer] = copy;
    }
    outputs.add(layer);
  }
  let cotangent: string | undefined = grad.cotangent;
  if (spec.top1InGraph) {
    // Replace the cotangent input by one-hot(argmax(target)) per row: over the class axis of
    // [N, K] scores, over all of a row of a value of higher rank (VALUE@max).
    const index = b.graph.input.findIndex((i) => i.name === grad.cotangent);
    b.graph.input.splice(index, 1);
    const opset = int64ToNumber(grad.model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version);
    // An unknown rank is taken as [N, K] scores (the last axis), as before.
    const rank = model.shapes.get(spec.output)?.shape?.length ?? 2;
    const axes = rank > 2 ? Array.from({ length: rank - 1 }, (_, i) => i + 1) : [-1];
    // A rank-0 value (a regressor's scalar) is its own maximum: ReduceMax has no axis to take.
    const best =
      rank === 0
        ? target
        : opset >= 18
          ? b.op('ReduceMax', [target, b.int64s(`${CAMLENS_PREFIX}class_axis`, axes)], { keepdims: 1 }, { name: `${CAMLENS_PREFIX}top1/ReduceMax` })
          : b.op('ReduceMax', [target], { axes, keepdims: 1 }, { name: `${CAMLENS_PREFIX}top1/ReduceMax` });
    const isBest = b.op('Equal', [target, best], {}, { name: `${CAMLENS_PREFIX}top1/Equal` });
    const scoreType = model.shapes.get(spec.output)?.dtype || 1;
    b.op('Cast', [isBest], { to: scoreType }, { name: `${CAMLENS_PREFIX}top1/Cast` });
    // The Cast now produces the value the backward graph reads as its cotangent.
    b.graph.node[b.graph.node.length - 1].output = [grad.cotangent];
    cotangent = undefined;
  }
  return { bytes: serializeModel(b.build()), scores: target, activations, gradients: grad.gradients, cotangent };
}
