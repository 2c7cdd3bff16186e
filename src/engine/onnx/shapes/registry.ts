// The one table from ONNX op type (default domain) to its shape rule. An op missing here gets
// an unknown shape (and the type the model declares for it, if any).
import type { ShapeRule } from './context';
import { conv, convTranspose } from './rules/conv';
import { concat, split } from './rules/concat';
import { binary, cast, castLike, clip, dropout, not, prelu, sameShape, unary, unaryToBool, variadic, where } from './rules/elementwise';
import { gather, gatherElements, gatherND, scatter } from './rules/gather';
import { constant, constantOfShape, likeInput, nonMaxSuppression, nonZero, oneHot, randomFromAttrs, range, shapeOf, size } from './rules/generators';
import { einsum, gemm, matMul } from './rules/matmul';
import { batchNormalization, layerNormalization } from './rules/normalization';
import { pad } from './rules/pad';
import { globalPool, pool } from './rules/pool';
import { argReduce, reduce, topK } from './rules/reduce';
import { depthToSpace, expand, flatten, reshape, spaceToDepth, squeeze, tile, transpose, unsqueeze } from './rules/reshape';
import { resize, upsample } from './rules/resize';
import { slice } from './rules/slice';

const UNARY = [
  'Identity',
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'Tanh',
  'Softplus',
  'Softsign',
  'Elu',
  'Selu',
  'Celu',
  'Mish',
  'Gelu',
  'ThresholdedRelu',
  'Shrink',
  'Erf',
  'Sqrt',
  'Exp',
  'Log',
  'Neg',
  'Abs',
  'Reciprocal',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'Sin',
  'Cos',
  'Tan',
  'Asin',
  'Acos',
  'Atan',
  'Sinh',
  'Cosh',
  'Asinh',
  'Acosh',
  'Atanh',
  'BitwiseNot',
];

const BINARY = [
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Mod',
  'BitShift',
  'BitwiseAnd',
  'BitwiseOr',
  'BitwiseXor',
  'Equal',
  'Less',
  'LessOrEqual',
  'Greater',
  'GreaterOrEqual',
  'And',
  'Or',
  'Xor',
];

const SAME_SHAPE = [
  'Softmax',
  'LogSoftmax',
  'Hardmax',
  'CumSum',
  'Trilu',
  'InstanceNormalization',
  'GroupNormalization',
  'LRN',
  'MeanVarianceNormalization',
  'LpNormalization',
  'ReverseSequence',
];

const REDUCE = [
  'ReduceMean',
  'ReduceSum',
  'ReduceMax',
  'ReduceMin',
  'ReduceProd',
  'ReduceL1',
  'ReduceL2',
  'ReduceLogSum',
  'ReduceLogSumExp',
  'ReduceSumSquare',
];

const table = new Map<string, ShapeRule>([
  ...UNARY.map((op): [string, ShapeRule] => [op, unary]),
  ...BINARY.map((op): [string, ShapeRule] => [op, binary]),
  ...SAME_SHAPE.map((op): [string, ShapeRule] => [op, sameShape]),
  ...REDUCE.map((op): [string, ShapeRule] => [op, reduce]),
  ['Not', not],
  ['IsNaN', unaryToBool],
  ['IsInf', unaryToBool],
  ['Cast', cast],
  ['CastLike', castLike],
  ['Dropout', dropout],
  ['Clip', clip],
  ['PRelu', prelu],
  ['Sum', variadic],
  ['Mean', variadic],
  ['Max', variadic],
  ['Min', variadic],
  ['Where', where],
  ['Conv', conv],
  ['ConvTranspose', convTranspose],
  ['MaxPool', pool],
  ['AveragePool', pool],
  ['LpPool', pool],
  ['GlobalAveragePool', globalPool],
  ['GlobalMaxPool', globalPool],
  ['GlobalLpPool', globalPool],
  ['BatchNormalization', batchNormalization],
  ['LayerNormalization', layerNormalization],
  ['Gemm', gemm],
  ['MatMul', matMul],
  ['MatMulInteger', matMul],
  ['Einsum', einsum],
  ['Reshape', reshape],
  ['Flatten', flatten],
  ['Squeeze', squeeze],
  ['Unsqueeze', unsqueeze],
  ['Transpose', transpose],
  ['Expand', expand],
  ['Tile', tile],
  ['DepthToSpace', depthToSpace],
  ['SpaceToDepth', spaceToDepth],
  ['Concat', concat],
  ['Split', split],
  ['Slice', slice],
  ['Pad', pad],
  ['Gather', gather],
  ['GatherElements', gatherElements],
  ['GatherND', gatherND],
  ['ScatterND', scatter],
  ['ScatterElements', scatter],
  ['Scatter', scatter],
  ['Resize', resize],
  ['Upsample', upsample],
  ['ArgMax', argReduce],
  ['ArgMin', argReduce],
  ['TopK', topK],
  ['Constant', constant],
  ['ConstantOfShape', constantOfShape],
  ['Shape', shapeOf],
  ['Size', size],
  ['Range', range],
  ['NonZero', nonZero],
  ['NonMaxSuppression', nonMaxSuppression],
  ['OneHot', oneHot],
  ['EyeLike', likeInput],
  ['RandomNormalLike', likeInput],
  ['RandomUniformLike', likeInput],
  ['Bernoulli', likeInput],
  ['RandomNormal', randomFromAttrs],
  ['RandomUniform', randomFromAttrs],
]);

/** The rule for an op, or undefined when CamLens has none (custom domains, control flow, ...). */
export function ruleFor(domain: string, opType: string): ShapeRule | undefined {
  if (domain !== '' && domain !== 'ai.onnx') return undefined;
  return table.get(opType);
}

/** Op types with a rule (for listings and tests). */
export function supportedOps(): string[] {
  return [...table.keys()].sort();
}
