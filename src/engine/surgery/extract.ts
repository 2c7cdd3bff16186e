// Cutting a model: keep only the nodes needed to compute chosen values from chosen inputs.
// Used for "run only the tail after the CAM layer" and to check taps against a cut model.
import { CamLensError } from '../errors';
import { emptyGraph } from '../onnx/builder';
import type { Graph } from '../onnx/graph';
import type { GraphProto, ModelProto, ValueInfoProto } from '../onnx/types';
import { checkTappable } from './taps';
import type { ShapeMap } from '../onnx/shapes/types';
import { valueInfo } from '../onnx/builder';

/**
 * A model whose inputs are `inputs` (values of the original graph) and whose outputs are
 * `outputs`. Nodes upstream of the new inputs are dropped; initializers that the kept nodes
 * read are kept. Throws if an output depends on a graph input not listed (unless it is one of
 * the model's own inputs, which are kept automatically).
 */
export function extractModel(model: ModelProto, graph: Graph, inputs: readonly string[], outputs: readonly string[], shapes?: ShapeMap): ModelProto {
  for (const v of [...inputs, ...outputs]) checkTappable(graph, v);
  const cut = new Set(inputs);
  const needed = new Set<string>();
  const keepNodes = new Set<number>();
  const usedInitializers = new Set<string>();
  const usedInputs = new Set<string>();
  const stack = [...outputs];
  while (stack.length) {
    const v = stack.pop()!;
    if (!v || needed.has(v)) continue;
    needed.add(v);
    if (cut.has(v)) continue;
    if (graph.initializers.has(v)) {
      usedInitializers.add(v);
      continue;
    }
    const producer = graph.producerOf(v);
    if (!producer) {
      usedInputs.add(v);
      continue;
    }
    keepNodes.add(producer.index);
    for (const i of [...producer.inputs, ...producer.implicitInputs]) stack.push(i);
  }
  const src = model.graph!;
  const typeOf = (name: string): ValueInfoProto => {
    const declared = graph.declared.get(name);
    if (declared) return declared;
    const t = shapes?.get(name);
    if (t && t.dtype) return valueInfo(name, t.dtype, t.shape);
    throw new CamLensError('SHAPE_INFERENCE', `Cannot cut the model at "${name}": its element type is unknown.`);
  };
  const g: GraphProto = {
    ...emptyGraph(src.name ?? 'graph'),
    node: graph.nodes.filter((n) => keepNodes.has(n.index)).map((n) => n.proto),
    initializer: src.initializer.filter((t) => usedInitializers.has(t.name ?? '')),
    input: [...graph.inputs.filter((i) => usedInputs.has(i) && !cut.has(i)).map(typeOf), ...inputs.map(typeOf)],
    output: outputs.map((o) => ({ name: o, metadataProps: [] })),
  };
  return { ...model, graph: g, trainingInfo: [] };
}
