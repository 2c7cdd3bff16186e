// A read-only view of a GraphProto that answers the questions every other part asks: who
// produces a value, who consumes it, in what order nodes run. Built once per parsed model.
// Subgraphs (If/Loop/Scan bodies) stay inside their node: their free variables count as
// implicit inputs of that node, so ordering and consumers are right, but they are not flattened.
import { CamLensError } from '../errors';
import { subgraphsOf } from './attributes';
import { int64ToNumber } from './int64';
import type { GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from './types';

export interface GraphNode {
  /** Position in the file's node list (stable across runs). */
  readonly index: number;
  /** The node's name, or a stable generated one (`<OpType>_<index>`) when the file has none. */
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  /** Data inputs, '' kept for omitted optional inputs (positions matter). */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Values a subgraph of this node reads from the enclosing scope. */
  readonly implicitInputs: readonly string[];
  readonly proto: NodeProto;
  readonly subgraphs: readonly GraphProto[];
}

export type ValueKind = 'input' | 'initializer' | 'activation';

export class Graph {
  /** Nodes in a topological order (file order where it is already valid). */
  readonly nodes: readonly GraphNode[];
  /** Graph inputs that are not initializers: what a caller must feed. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly initializers: ReadonlyMap<string, TensorProto>;
  /** Declared type information (inputs, outputs, value_info), by value name. */
  readonly declared: ReadonlyMap<string, ValueInfoProto>;
  private readonly producers = new Map<string, GraphNode>();
  private readonly consumers = new Map<string, GraphNode[]>();
  private readonly byName = new Map<string, GraphNode>();

  constructor(
    readonly proto: GraphProto,
    readonly opsets: ReadonlyMap<string, number>,
    source = 'model',
  ) {
    const initializers = new Map<string, TensorProto>();
    for (const t of proto.initializer) initializers.set(t.name ?? '', t);
    this.initializers = initializers;
    this.inputs = proto.input.map((v) => v.name ?? '').filter((n) => !initializers.has(n));
    this.outputs = proto.output.map((v) => v.name ?? '');
    const declared = new Map<string, ValueInfoProto>();
    for (const v of [...proto.input, ...proto.valueInfo, ...proto.output]) declared.set(v.name ?? '', v);
    this.declared = declared;

    const unordered = proto.node.map((node, index) => makeNode(node, index));
    const inputSet = new Set(this.inputs);
    const usedNames = new Set<string>();
    for (const node of unordered) {
      let name = node.name;
      for (let k = 2; usedNames.has(name); k++) name = `${node.name}#${k}`;
      usedNames.add(name);
      (node as { name: string }).name = name;
      this.byName.set(name, node);
      for (const out of node.outputs) {
        if (!out) continue;
        const other = this.producers.get(out);
        if (other) {
          throw new CamLensError('MODEL_INVALID', `${source}: value "${out}" is produced twice, by node "${other.name}" and by node "${node.name}".`);
        }
        if (initializers.has(out) || inputSet.has(out)) {
          throw new CamLensError('MODEL_INVALID', `${source}: node "${node.name}" writes "${out}", which is already a graph input or initializer.`);
        }
        this.producers.set(out, node);
      }
    }
    const available = new Set<string>([...this.inputs, ...initializers.keys()]);
    for (const node of unordered) {
      for (const value of [...node.inputs, ...node.implicitInputs]) {
        if (!value) continue;
        if (!available.has(value) && !this.producers.has(value)) {
          throw new CamLensError(
            'MODEL_INVALID',
            `${source}: node "${node.name}" (${node.opType}) reads "${value}", which no node, input or initializer provides.`,
          );
        }
        let list = this.consumers.get(value);
        if (!list) this.consumers.set(value, (list = []));
        // A node's reads are visited together, so a repeat can only be the last entry
        // (a search of the whole list is quadratic for a value with many readers).
        if (list[list.length - 1] !== node) list.push(node);
      }
    }
    for (const out of this.outputs) {
      if (!available.has(out) && !this.producers.has(out)) {
        throw new CamLensError('MODEL_INVALID', `${source}: graph output "${out}" is not produced by any node.`);
      }
    }
    this.nodes = this.topologicalOrder(unordered, source);
  }

  static fromModel(model: ModelProto, source = 'model'): Graph {
    if (!model.graph) throw new CamLensError('MODEL_INVALID', `${source}: the model has no graph.`);
    const opsets = new Map<string, number>();
    for (const o of model.opsetImport) {
      const domain = o.domain === 'ai.onnx' ? '' : (o.domain ?? '');
      opsets.set(domain, int64ToNumber(o.version));
    }
    return new Graph(model.graph, opsets, source);
  }

  /** The opset version of a domain ('' = ai.onnx); 0 when the model does not import it. */
  opset(domain = ''): number {
    return this.opsets.get(domain) ?? 0;
  }

  producerOf(value: string): GraphNode | undefined {
    return this.producers.get(value);
  }

  consumersOf(value: string): readonly GraphNode[] {
    return this.consumers.get(value) ?? [];
  }

  node(name: string): GraphNode | undefined {
    return this.byName.get(name);
  }

  kindOf(value: string): ValueKind | undefined {
    if (this.initializers.has(value)) return 'initializer';
    if (this.inputs.includes(value)) return 'input';
    if (this.producers.has(value)) return 'activation';
    return undefined;
  }

  /** Every value of the main graph: inputs, initializers, then node outputs in order. */
  allValues(): string[] {
    const out = [...this.inputs, ...this.initializers.keys()];
    for (const node of this.nodes) for (const o of node.outputs) if (o) out.push(o);
    return out;
  }

  /** Node outputs only (the values a user can tap), in topological order. */
  activations(): string[] {
    const out: string[] = [];
    for (const node of this.nodes) for (const o of node.outputs) if (o) out.push(o);
    return out;
  }

  private topologicalOrder(nodes: GraphNode[], source: string): GraphNode[] {
    // Kahn's algorithm, always taking the earliest ready node so that a file already in order
    // keeps its order (names and indices then read naturally in listings).
    const pending = new Map<GraphNode, number>();
    for (const node of nodes) {
      const deps = new Set<GraphNode>();
      for (const v of [...node.inputs, ...node.implicitInputs]) {
        const p = v ? this.producers.get(v) : undefined;
        if (p && p !== node) deps.add(p);
        if (p === node) {
          throw new CamLensError('MODEL_INVALID', `${source}: the graph has a cycle: node "${node.name}" reads its own output "${v}".`);
        }
      }
      pending.set(node, deps.size);
    }
    // A min-heap on file position: a linear scan of the ready set is quadratic in wide graphs.
    const ready = new ReadyQueue();
    for (const n of nodes) if (pending.get(n) === 0) ready.push(n);
    const order: GraphNode[] = [];
    const done = new Set<GraphNode>();
    while (ready.size) {
      const node = ready.pop();
      order.push(node);
      done.add(node);
      // Dependencies are counted per distinct producer, so release each consumer once.
      const released = new Set<GraphNode>();
      for (const out of node.outputs) for (const c of this.consumers.get(out) ?? []) released.add(c);
      for (const c of released) {
        if (done.has(c)) continue;
        const left = pending.get(c)! - 1;
        pending.set(c, left);
        if (left === 0) ready.push(c);
      }
    }
    if (order.length !== nodes.length) {
      const stuck = nodes
        .filter((n) => !done.has(n))
        .slice(0, 5)
        .map((n) => `"${n.name}"`);
      throw new CamLensError('MODEL_INVALID', `${source}: the graph has a cycle; nodes that can never run include ${stuck.join(', ')}.`);
    }
    return order;
  }
}

/** Binary min-heap of nodes keyed by file index. */
class ReadyQueue {
  private readonly heap: GraphNode[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(node: GraphNode): void {
    const h = this.heap;
    let i = h.push(node) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent].index <= node.index) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = node;
  }

  pop(): GraphNode {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const c = l + 1 < h.length && h[l + 1].index < h[l].index ? l + 1 : l;
        if (h[c].index >= last.index) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

/**
 * The nodes of a subgraph (If branch, Loop/Scan body) in file order, which ONNX requires to be
 * topological; their outer-scope reads are implicit inputs as in the main graph.
 */
export function bodyNodes(body: GraphProto): GraphNode[] {
  return body.node.map((node, index) => makeNode(node, index));
}

function makeNode(node: NodeProto, index: number): GraphNode {
  const opType = node.opType ?? '';
  const subgraphs = subgraphsOf(node);
  return {
    index,
    name: node.name || `${opType}_${index}`,
    opType,
    domain: node.domain === 'ai.onnx' ? '' : (node.domain ?? ''),
    inputs: [...node.input],
    outputs: [...node.output],
    implicitInputs: subgraphs.length ? [...freeVariables(subgraphs)] : [],
    proto: node,
    subgraphs,
  };
}

/** Names used inside subgraphs that none of those subgraphs defines (outer-scope reads). */
function freeVariables(graphs: readonly GraphProto[]): Set<string> {
  const free = new Set<string>();
  const visit = (g: GraphProto, outer: Set<string>) => {
    const defined = new Set<string>(outer);
    for (const v of g.input) defined.add(v.name ?? '');
    for (const t of g.initializer) defined.add(t.name ?? '');
    for (const n of g.node) for (const o of n.output) defined.add(o);
    for (const n of g.node) {
      for (const i of n.input) if (i && !defined.has(i)) free.add(i);
      for (const sub of subgraphsOf(n)) visit(sub, defined);
    }
    for (const o of g.output) if (o.name && !defined.has(o.name)) free.add(o.name);
  };
  for (const g of graphs) visit(g, new Set());
  return free;
}
