// The values one shared tapped session exposes (runtime/tapRunner.ts): every value a user may
// tap, except those inside what onnxruntime fuses. Exposing a value as a graph output keeps it
// from being fused away: a Conv whose output is read cannot become Conv+Relu (or Conv+Add+Relu)
// in one kernel, a MatMul cannot become Gemm with its Add, and the small ops of a LayerNorm or
// GELU pattern cannot become one node. The output of such a group (the Relu's, the Add's) is
// fine: it exists after fusion too. A value left out here is still tappable, through a session
// of its own (the old, slower path).
import type { Graph } from '../onnx/graph';

/** Producer ops whose single-use output onnxruntime folds into the consumer's kernel, with those consumers. */
const FUSED_INTO: Record<string, ReadonlySet<string>> = {
  Conv: new Set(['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Clip', 'HardSigmoid', 'HardSwish', 'Add', 'Mul', 'BatchNormalization']),
  ConvTranspose: new Set(['BatchNormalization', 'Relu']),
  Gemm: new Set(['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Clip', 'HardSigmoid']),
  MatMul: new Set(['Add', 'Mul', 'Div', 'Relu']),
  // Conv + Add + activation: the Add's output, read once by the activation, is inside the group.
  Add: new Set(['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Clip', 'HardSigmoid', 'Erf', 'Mul', 'Div', 'Sqrt', 'Sub']),
  BatchNormalization: new Set(['Relu', 'Clip']),
};

/**
 * Ops of the normalisation and activation patterns onnxruntime recognises (LayerNorm, GELU,
 * FastGelu, SkipLayerNorm): a single-use output of one of them feeding another is internal.
 */
const PATTERN_OPS = new Set(['ReduceMean', 'Sub', 'Pow', 'Sqrt', 'Div', 'Erf', 'Mul', 'Add', 'Tanh']);

/** Whether exposing `value` could block a fusion (see above). */
export function insideFusion(graph: Graph, value: string): boolean {
  if (graph.outputs.includes(value)) return false;
  const producer = graph.producerOf(value);
  const consumers = graph.consumersOf(value);
  if (!producer || consumers.length !== 1) return false;
  const consumer = consumers[0].opType;
  if (FUSED_INTO[producer.opType]?.has(consumer)) return true;
  return PATTERN_OPS.has(producer.opType) && PATTERN_OPS.has(consumer);
}

/** The activations the shared tapped session exposes, in graph order. */
export function tapCandidates(graph: Graph): string[] {
  return graph.activations().filter((v) => !insideFusion(graph, v));
}
