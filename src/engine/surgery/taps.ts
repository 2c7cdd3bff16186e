// Taps: capture any intermediate value of a model without changing the model file. A TapSet
// holds the values the user wants; `withTapOutputs` makes the model that runs (the original
// plus extra graph outputs), in memory only.
import { closestNames, CamLensError } from '../errors';
import { subgraphsOf } from '../onnx/attributes';
import type { Graph } from '../onnx/graph';
import { ModelBuilder } from '../onnx/builder';
import type { GraphProto, ModelProto } from '../onnx/types';

export interface TapHandle {
  readonly id: number;
  readonly value: string;
  readonly removed: boolean;
  remove(): void;
}

/** Prefix of names CamLens adds to a model (tap copies, gradient outputs...). */
export const CAMLENS_PREFIX = 'camlens::';

export function checkTappable(graph: Graph, value: string): void {
  if (graph.kindOf(value)) return;
  if (subgraphValues(graph).has(value)) {
    throw new CamLensError('UNKNOWN_VALUE', `"${value}" lives inside an If/Loop/Scan subgraph; only values of the main graph can be tapped.`);
  }
  const suggestions = closestNames(value, graph.allValues());
  throw new CamLensError(
    'UNKNOWN_VALUE',
    `The model has no value named "${value}".${suggestions.length ? ` Did you mean ${suggestions.map((s) => `"${s}"`).join(', ')}?` : ''}`,
    { suggestions },
  );
}

function subgraphValues(graph: Graph): Set<string> {
  const names = new Set<string>();
  const visit = (g: GraphProto) => {
    for (const n of g.node) {
      n.output.forEach((o) => names.add(o));
      subgraphsOf(n).forEach(visit);
    }
  };
  for (const node of graph.nodes) node.subgraphs.forEach(visit);
  return names;
}

let nextHandleId = 1;

export class TapSet {
  private readonly handles = new Map<number, TapHandle>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly graph: Graph) {}

  /** Registers a tap; the same value may be tapped by several handles (counted once). */
  register(value: string): TapHandle {
    checkTappable(this.graph, value);
    const id = nextHandleId++; // unique across tap sets, so a handle id names one tap
    let removed = false;
    const handle: TapHandle = {
      id,
      value,
      get removed() {
        return removed;
      },
      remove: () => {
        if (removed) return;
        removed = true;
        this.handles.delete(id);
        this.changed();
      },
    };
    this.handles.set(id, handle);
    this.changed();
    return handle;
  }

  get size(): number {
    return this.handles.size;
  }

  /** Distinct tapped values, sorted: the identity of the tap set. */
  values(): string[] {
    return [...new Set([...this.handles.values()].map((h) => h.value))].sort();
  }

  key(): string {
    return this.values().join('\n');
  }

  clear(): void {
    if (this.handles.size === 0) return;
    this.handles.clear();
    this.changed();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}

export interface TappedModel {
  model: ModelProto;
  /** value name → graph output name that carries it. */
  outputs: Map<string, string>;
}

/**
 * The original model plus one graph output per tapped value. Node outputs are exposed under
 * their own names; graph inputs and initializers go through an Identity so that the output
 * name differs from the input's (onnxruntime requires that). The original is not mutated.
 */
export function withTapOutputs(model: ModelProto, graph: Graph, values: readonly string[]): TappedModel {
  const b = ModelBuilder.extend(model);
  const outputs = new Map<string, string>();
  const existing = new Set(graph.outputs);
  for (const value of values) {
    checkTappable(graph, value);
    if (existing.has(value)) {
      outputs.set(value, value);
      continue;
    }
    const kind = graph.kindOf(value);
    if (kind === 'activation') {
      b.graph.output.push({ name: value, metadataProps: [] });
      outputs.set(value, value);
    } else {
      const name = b.uniqueName(`${CAMLENS_PREFIX}tap/${value}`);
      b.node('Identity', [value], {}, { name: `${name}/Identity`, outputs: [name] });
      b.graph.output.push({ name, metadataProps: [] });
      outputs.set(value, name);
    }
    existing.add(value);
  }
  return { model: b.build(), outputs };
}
