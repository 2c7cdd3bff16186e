// The model an explanation runs: forward + backward in one graph. Built from the user's model
// in memory: optional softmax on the target value, the backward graph of the target with
// respect to the CAM layers (engine/autodiff), and the layers' activations as extra outputs.
// The target value is a graph output or any internal value (engine/targets); the cotangent
// (which of its elements to explain) is either fed by the caller or, for the default "top-1" /
// VALUE@max case, computed inside the graph as one-hot(argmax) per input row, so a single run
// does prediction, forward and backward. Behind a classifier head (a Gemm) the top-1 backward
// starts at the head's input, from the best class's row of the weight (classifierHead below).
import { appendHessianVectorProducts, buildGradientGraph, type RuleSetName } from '../autodiff';
import { ModelBuilder } from '../onnx/builder';
import type { LoadedModel } from '../model';
import type { LayerCamInfo } from '../cam/registry';
import { CAMLENS_PREFIX } from '../surgery/taps';
import { serializeModel } from '../onnx/io';
import { int64ToNumber } from '../onnx/int64';
import { attrFloat, attrInt } from '../onnx/attributes';
import { DataType } from '../onnx/types';

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
  /** Also H·A at each layer: the Hessian-vector product of the target with the layer's own activations (reverse over reverse). */
  hessianVectorProducts?: boolean;
  /** Differentiate ReST = score + log softmax(scores) (logit − cross-entropy) instead of the raw score; the scores read back stay raw. */
  rest?: boolean;
  /** Also d target / d model input, built with this rule set (guided backprop: 'guided'). */
  inputGradient?: RuleSetName;
}

/** What a CAM method adds to a gradient run (from its registry entry; see cam/registry.ts). */
export type GradientExtras = Pick<GradientModelSpec, 'hessianVectorProducts' | 'rest' | 'inputGradient'>;

/** A method's extras, read from its registry entry (--softmax replaces ReST: the user asked for the probability). */
export function gradientExtras(method: Pick<LayerCamInfo, 'order' | 'scoreTarget' | 'ruleVariant'>, softmax: boolean): GradientExtras {
  return {
    ...(method.order === 2 ? { hessianVectorProducts: true } : {}),
    ...(method.scoreTarget === 'rest' && !softmax ? { rest: true } : {}),
    ...(method.ruleVariant ? { inputGradient: method.ruleVariant } : {}),
  };
}

export interface GradientModel {
  bytes: Uint8Array;
  /** Output carrying the scores the target is taken from (softmax'd if requested). */
  scores: string;
  activations: Record<string, string>;
  gradients: Record<string, string>;
  /** The cotangent input's name, when the caller feeds it. */
  cotangent?: string;
  /** layer → output holding H·A (spec.hessianVectorProducts). */
  hessianVectorProducts?: Record<string, string>;
  /** Output holding d target / d input (spec.inputGradient). */
  inputGradient?: string;
}

export const gradientVariantKey = (s: GradientModelSpec) =>
  `grad\n${s.output}\n${s.softmax ? 'softmax' : 'logit'}${s.rest ? '+rest' : ''}\n${s.top1InGraph ? 'top1' : 'fed'}` +
  `${s.hessianVectorProducts ? '\nhvp' : ''}${s.inputGradient ? `\ninput:${s.inputGradient}` : ''}\n${[...s.layers].join('\n')}`;

export function buildGradientModel(model: LoadedModel, spec: GradientModelSpec): GradientModel {
  let proto = model.proto;
  let target = spec.output;
  if (spec.softmax) {
    const b = ModelBuilder.extend(proto);
    target = b.op('Softmax', [spec.output], { axis: -1 }, { name: `${CAMLENS_PREFIX}softmax`, outputs: [b.uniqueName(`${CAMLENS_PREFIX}probabilities`)] });
    proto = b.build();
  }
  const scores = target;
  if (spec.rest) {
    // ReST per row: z_c − CE(z, c) = z_c + log softmax(z)_c, the element the cotangent picks.
    const b = ModelBuilder.extend(proto);
    const logp = b.op('LogSoftmax', [target], { axis: -1 }, { name: `${CAMLENS_PREFIX}rest/LogSoftmax` });
    target = b.op('Add', [target, logp], {}, { name: `${CAMLENS_PREFIX}rest/Add`, outputs: [b.uniqueName(`${CAMLENS_PREFIX}rest`)] });
    proto = b.build();
  }
  const inputName = model.graph.inputs[0];
  const layerWrt = spec.inputGradient === 'standard' && !spec.layers.includes(inputName) ? [...spec.layers, inputName] : spec.layers;
  const head = classifierHead(model, spec);
  let seed: string | undefined;
  if (head) {
    const b = ModelBuilder.extend(proto);
    seed = headSeed(b, head);
    proto = b.build();
  }
  const grad = buildGradientGraph(proto, { target: head?.input ?? target, wrt: layerWrt, shapes: model.shapes, ...(seed ? { seed } : {}) });
  let extended = grad.model;
  let hessianVectorProducts: Record<string, string> | undefined;
  if (spec.hessianVectorProducts) {
    const second = appendHessianVectorProducts({ ...grad, model: extended }, { wrt: spec.layers, vector: 'self', shapes: model.shapes });
    extended = second.model;
    hessianVectorProducts = second.products;
  }
  let inputGradient = spec.inputGradient === 'standard' ? grad.gradients[inputName] : undefined;
  if (spec.inputGradient && spec.inputGradient !== 'standard') {
    // A second backward pass of the same target under the other rule set, seeded with the same cotangent.
    const other = buildGradientGraph(extended, { target, wrt: [inputName], shapes: model.shapes, rules: spec.inputGradient, seed: grad.cotangent });
    extended = other.model;
    inputGradient = other.gradients[inputName];
  }
  const b = ModelBuilder.extend(extended);
  const outputs = new Set(b.graph.output.map((o) => o.name));
  // An internal value (or its softmax) is read back as the run's scores.
  if (!outputs.has(scores)) b.graph.output.push({ name: scores, metadataProps: [] });
  outputs.add(scores);
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
  let cotangent: string | undefined = head ? undefined : grad.cotangent;
  if (spec.top1InGraph && !head) {
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
  return { bytes: serializeModel(b.build()), scores, activations, gradients: grad.gradients, cotangent, hessianVectorProducts, inputGradient };
}

/** A classifier head the top-1 backward can start behind: Y = alpha·A·op(B) + beta·C, a Gemm with B a float weight. */
interface ClassifierHead {
  /** A, the head's input: where the backward graph starts. */
  input: string;
  output: string;
  weight: string;
  /** B is [K, F] (transB 1: PyTorch's Linear) rather than [F, K]. */
  transB: boolean;
  alpha: number;
  /** K, the number of classes. */
  classes: number;
}

/**
 * The target's classifier head when a top-1 run can skip its backward product: with the
 * one-hot cotangent of row n's best class c, dY[n, c]/dA[n, :] is alpha·B[c, :] (transB) or
 * alpha·B[:, c], a row of the weight. Gathering it replaces a product with the whole weight
 * (ResNet-50: 0.2–0.3 ms of a 0.5 ms backward, reading all 8 MB of the fc weight; a 21k-class
 * head's is 64 MB). Only the plain case: raw logits of a Gemm whose weight and bias are
 * initializers, nothing else asked of the backward graph (softmax, ReST, Hessian or other-rule passes).
 */
function classifierHead(model: LoadedModel, spec: GradientModelSpec): ClassifierHead | undefined {
  if (!spec.top1InGraph || spec.softmax || spec.rest || spec.hessianVectorProducts || spec.inputGradient) return undefined;
  if (spec.layers.includes(spec.output)) return undefined;
  const node = model.graph.producerOf(spec.output);
  if (!node || node.opType !== 'Gemm' || node.domain !== '' || attrInt(node.proto, 'transA', 0) !== 0) return undefined;
  const [input, weight, bias] = node.inputs;
  const w = model.graph.initializers.get(weight);
  if (!w || w.dataType !== DataType.FLOAT || w.dims.length !== 2) return undefined;
  // A bias computed from the input (legal, if odd) would add its own path to the gradient.
  if (bias && !model.graph.initializers.has(bias)) return undefined;
  if (model.shapes.get(spec.output)?.shape?.length !== 2) return undefined;
  const transB = attrInt(node.proto, 'transB', 0) === 1;
  const classes = int64ToNumber(w.dims[transB ? 0 : 1]);
  return { input, output: spec.output, weight, transB, alpha: attrFloat(node.proto, 'alpha', 1), classes };
}

/**
 * alpha·(the weight's row of each input row's best class), [N, F]: the cotangent of the head's
 * input. Ties go to the first class (ArgMax), the one the predictions name first.
 */
function headSeed(b: ModelBuilder, head: ClassifierHead): string {
  const name = (s: string) => `${CAMLENS_PREFIX}top1/head/${s}`;
  const best = b.op('ArgMax', [head.output], { axis: 1, keepdims: 0 }, { name: name('ArgMax') });
  const rows = head.transB
    ? b.op('Gather', [head.weight, best], { axis: 0 }, { name: name('Gather') })
    : b.op('Transpose', [b.op('Gather', [head.weight, best], { axis: 1 }, { name: name('Gather') })], { perm: [1, 0] }, { name: name('Transpose') });
  const scaled = head.alpha === 1 ? rows : b.op('Mul', [rows, b.floats(b.uniqueName(name('alpha')), [], [head.alpha])], {}, { name: name('Mul') });
  // Scores with a NaN (or ±Infinity) have no best class: the seed becomes NaN there, and the
  // map's non-finite warning says so (ArgMax would still pick a class, and a clean-looking map).
  const ones = b.floats(b.uniqueName(name('ones')), [head.classes, 1], new Float32Array(head.classes).fill(1));
  const rowSum = b.op('MatMul', [head.output, ones], {}, { name: name('RowSum') });
  const nanIfNotFinite = b.op('Sub', [rowSum, rowSum], {}, { name: name('NotFinite') });
  return b.op('Add', [scaled, nanIfNotFinite], {}, { name: name('Seed') });
}
