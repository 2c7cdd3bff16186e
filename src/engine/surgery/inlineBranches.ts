// An If whose condition is known statically (a constant, or shape arithmetic folded to one) is
// its taken branch: its nodes are moved into the enclosing graph and its outputs become
// Identity copies of the branch's outputs. The model computes exactly what it computed before,
// but the branch's values are now ordinary values of the main graph, so the autodiff can
// differentiate through them (it differentiates the main graph only) and shape inference
// sees them. Subgraph value names are distinct from the enclosing scope's (ONNX requires it);
// a model that breaks that rule gets an error, not a silently renamed value.
import { CamLensError } from '../errors';
import { findAttr } from '../onnx/attributes';
import { Graph } from '../onnx/graph';
import { analyseShapes } from '../onnx/shapes';
import type { GraphProto, ModelProto, NodeProto } from '../onnx/types';

export interface InlinedBranches {
  model: ModelProto;
  /** If node → the branch taken ('then' / 'else'). */
  inlined: Record<string, 'then' | 'else'>;
}

/** Inlines every If of the main graph whose condition folds to a constant, until none is left (branches may hold Ifs too). */
export function inlineStaticBranches(model: ModelProto): InlinedBranches {
  const inlined: Record<string, 'then' | 'else'> = {};
  let current = model;
  for (;;) {
    if (!current.graph?.node.some((n) => n.opType === 'If')) return { model: current, inlined };
    const graph = Graph.fromModel(current);
    const shapes = analyseShapes(graph, { contradictions: 'record' });
    const taken = new Map<NodeProto, GraphProto>();
    for (const node of graph.nodes) {
      if (node.opType !== 'If' || node.domain !== '') continue;
      const cond = shapes.numbers(node.inputs[0]);
      if (!cond || cond.length !== 1) continue;
      const branch = findAttr(node.proto, cond[0] ? 'then_branch' : 'else_branch')?.g;
      if (!branch) continue;
      taken.set(node.proto, branch);
      inlined[node.name] = cond[0] ? 'then' : 'else';
    }
    if (!taken.size) return { model: current, inlined };
    current = { ...current, graph: replaceNodes(current.graph, taken) };
  }
}

function replaceNodes(graph: GraphProto, taken: ReadonlyMap<NodeProto, GraphProto>): GraphProto {
  const used = new Set<string>([...graph.input.map((v) => v.name ?? ''), ...graph.initializer.map((t) => t.name ?? '')]);
  for (const n of graph.node) for (const o of n.output) used.add(o);
  const node: NodeProto[] = [];
  const initializer = [...graph.initializer];
  const valueInfo = [...graph.valueInfo];
  for (const n of graph.node) {
    const branch = taken.get(n);
    if (!branch) {
      node.push(n);
      continue;
    }
    for (const name of [...branch.initializer.map((t) => t.name ?? ''), ...branch.node.flatMap((b) => b.output)]) {
      if (name && used.has(name))
        throw new CamLensError('MODEL_INVALID', `If "${n.name}": its branch defines "${name}", which the enclosing graph defines too (ONNX forbids it).`);
      if (name) used.add(name);
    }
    initializer.push(...branch.initializer);
    valueInfo.push(...branch.valueInfo);
    node.push(...branch.node);
    branch.output.forEach((out, i) => {
      if (!n.output[i]) return;
      node.push({
        opType: 'Identity',
        name: `${n.name}/taken/${i}`,
        input: [out.name ?? ''],
        output: [n.output[i]],
        attribute: [],
        metadataProps: [],
        deviceConfigurations: [],
      });
    });
  }
  return { ...graph, node, initializer, valueInfo };
}
