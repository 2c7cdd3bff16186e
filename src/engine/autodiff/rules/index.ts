// The one table of gradient rules, by ai.onnx op type. Each rule lives in the file of its family.
import type { GradientRule } from '../rule';
import * as activations from './activations';
import * as conv from './conv';
import * as elementwise from './elementwise';
import * as matmul from './matmul';
import * as norm from './norm';
import * as pool from './pool';
import * as reduce from './reduce';
import * as resize from './resize';
import * as scatter from './scatter';
import * as shape from './shape';
import { RULE_VARIANTS, type RuleSetName } from './variants';

export { RULE_SETS, RULE_VARIANTS, type RuleSetName } from './variants';

export const GRADIENT_RULES: Readonly<Record<string, GradientRule>> = {
  // elementwise.ts
  Add: elementwise.Add,
  Sub: elementwise.Sub,
  Mul: elementwise.Mul,
  Div: elementwise.Div,
  Pow: elementwise.Pow,
  Sum: elementwise.Sum,
  Mean: elementwise.Mean,
  Sqrt: elementwise.Sqrt,
  Exp: elementwise.Exp,
  Log: elementwise.Log,
  Neg: elementwise.Neg,
  Reciprocal: elementwise.Reciprocal,
  Abs: elementwise.Abs,
  Min: elementwise.Min,
  Max: elementwise.Max,
  Where: elementwise.Where,
  // activations.ts
  Relu: activations.Relu,
  LeakyRelu: activations.LeakyRelu,
  PRelu: activations.PRelu,
  Clip: activations.Clip,
  Sigmoid: activations.Sigmoid,
  Tanh: activations.Tanh,
  HardSigmoid: activations.HardSigmoid,
  HardSwish: activations.HardSwish,
  Softplus: activations.Softplus,
  Erf: activations.Erf,
  Gelu: activations.Gelu,
  // conv.ts
  Conv: conv.Conv,
  ConvTranspose: conv.ConvTranspose,
  // pool.ts
  MaxPool: pool.MaxPool,
  AveragePool: pool.AveragePool,
  GlobalAveragePool: pool.GlobalAveragePool,
  GlobalMaxPool: pool.GlobalMaxPool,
  // matmul.ts
  Gemm: matmul.Gemm,
  MatMul: matmul.MatMul,
  Einsum: matmul.Einsum,
  // norm.ts
  BatchNormalization: norm.BatchNormalization,
  InstanceNormalization: norm.InstanceNormalization,
  LayerNormalization: norm.LayerNormalization,
  // reduce.ts
  ReduceSum: reduce.ReduceSum,
  ReduceMean: reduce.ReduceMean,
  ReduceMax: reduce.ReduceMax,
  Softmax: reduce.Softmax,
  LogSoftmax: reduce.LogSoftmax,
  // resize.ts
  Resize: resize.Resize,
  // shape.ts
  Identity: shape.Identity,
  Dropout: shape.Dropout,
  Cast: shape.Cast,
  Flatten: shape.Flatten,
  Reshape: shape.Reshape,
  Squeeze: shape.Squeeze,
  Unsqueeze: shape.Unsqueeze,
  Transpose: shape.Transpose,
  Expand: shape.Expand,
  Concat: shape.Concat,
  Split: shape.Split,
  Slice: shape.Slice,
  Gather: shape.Gather,
  GatherElements: shape.GatherElements,
  GatherND: shape.GatherND,
  TopK: shape.TopK,
  Pad: shape.Pad,
  // scatter.ts (the backward graphs of Slice, MaxPool and Gather use them: second order needs them;
  // their own backward graphs use GatherElements/GatherND, whose rules are in shape.ts)
  ScatterElements: scatter.ScatterElements,
  ScatterND: scatter.ScatterND,
};

const bySet = new Map<RuleSetName, Readonly<Record<string, GradientRule>>>();

/** The table with a variant's replacements applied ('standard': the table itself). */
export function rulesFor(set: RuleSetName): Readonly<Record<string, GradientRule>> {
  let rules = bySet.get(set);
  if (!rules) bySet.set(set, (rules = Object.keys(RULE_VARIANTS[set]).length ? { ...GRADIENT_RULES, ...RULE_VARIANTS[set] } : GRADIENT_RULES));
  return rules;
}
