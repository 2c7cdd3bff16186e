// Raising a model's ai.onnx opset node by node. The backward graph needs opset 13 (and its rules
// may need newer ops), but models from the wild are exported at opset 7–12. Most operator
// revisions only add types or optional attributes, so raising the version number is enough;
// the ones below really changed: an attribute became an input, an op was renamed or replaced,
// or the meaning changed (Softmax-13 no longer coerces its input to 2-D). Each gets one adapter
// that rewrites only the nodes that need it into the form of the new version, so the upgraded
// model computes exactly what the original did (tested against onnxruntime on both). An op with
// a breaking revision and no adapter is refused with the op, node and versions named.
import { CamLensError } from '../errors';
import { attrString } from './attributes';
import { Graph } from './graph';
import { inferShapes } from './shapes';
import { makeAttribute } from './builder';
import { makeTensor } from './tensor';
import { DataType, type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from './types';

/** One rewritten node, for reports ("Clip: min/max attributes became inputs (opset 11)"). */
export interface OpsetChange {
  node: string;
  op: string;
  version: number;
  change: string;
}

export interface OpsetUpgrade {
  model: ModelProto;
  from: number;
  to: number;
  changes: OpsetChange[];
}

/** What the adapters may need to know about a value; unknown is 0 / undefined. */
export interface ValueFacts {
  dtype(value: string): number;
  rank(value: string): number | undefined;
}

interface AdaptContext {
  facts: ValueFacts;
  /** A new int64 initializer (axes, pads, starts…). */
  int64s(hint: string, values: readonly number[], dims?: readonly number[]): string;
  /** A new scalar initializer of the dtype of `like` (float when unknown). */
  scalarLike(hint: string, value: number, like: string): string;
  /** A float initializer (Upsample scales, an empty Resize roi). */
  floats(hint: string, values: readonly number[]): string;
  uniqueName(hint: string): string;
  fail(node: NodeProto, why: string): never;
}

interface Adapter {
  /** The opset version whose definition the adapter rewrites into. */
  version: number;
  change: string;
  /** Rewrites `node` in place; returns nodes to insert before it, if any. Undefined: nothing to do. */
  adapt(node: NodeProto, ctx: AdaptContext): NodeProto[] | undefined | false;
}

const REDUCE_OPS_18 = ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'];

function takeAttr(node: NodeProto, name: string): AttributeProto | undefined {
  const i = node.attribute.findIndex((a) => a.name === name);
  if (i < 0) return undefined;
  const [a] = node.attribute.splice(i, 1);
  return a;
}

const intsOf = (a: AttributeProto) => (a.ints ?? []).map(Number);
const setAttr = (node: NodeProto, name: string, value: string | number) => {
  takeAttr(node, name);
  node.attribute.push(makeAttribute(name, value));
};
/** Sets input `index`, filling skipped optional inputs with ''. */
function setInput(node: NodeProto, index: number, value: string): void {
  while (node.input.length < index) node.input.push('');
  node.input[index] = value;
}
const trimInputs = (node: NodeProto) => {
  while (node.input.length && node.input[node.input.length - 1] === '') node.input.pop();
};

/** An attribute of ints that became an int64 input at `index`. */
function intsToInput(name: string, index: number): Adapter['adapt'] {
  return (node, ctx) => {
    const a = takeAttr(node, name);
    if (!a) return undefined;
    setInput(node, index, ctx.int64s(`${node.name || node.opType}_${name}`, intsOf(a)));
    return [];
  };
}

/** Softmax/LogSoftmax/Hardmax before 13 flatten the input to 2-D at `axis` (default 1). */
const coerceTo2d: Adapter['adapt'] = (node, ctx) => {
  const axisAttr = takeAttr(node, 'axis');
  const axis = axisAttr ? Number(axisAttr.i ?? 0) : 1;
  const x = node.input[0];
  const rank = ctx.facts.rank(x);
  const last = rank !== undefined && (axis === rank - 1 || axis === -1);
  if (last) {
    setAttr(node, 'axis', -1); // over the last axis the two definitions agree
    return [];
  }
  const base = node.name || node.opType;
  const flat = ctx.uniqueName(`${base}_flatten_output`);
  const shape = ctx.uniqueName(`${base}_shape_output`);
  const inner = ctx.uniqueName(`${base}_2d_output`);
  const out = node.output[0];
  const pre: NodeProto[] = [
    plainNode('Flatten', [x], [flat], ctx.uniqueName(`${base}_coerce_flatten`), [makeAttribute('axis', axis)]),
    plainNode('Shape', [x], [shape], ctx.uniqueName(`${base}_coerce_shape`)),
  ];
  node.input[0] = flat;
  node.output[0] = inner;
  setAttr(node, 'axis', -1);
  // The Reshape goes after the node: the caller appends `after` nodes (see below).
  (node as NodeWithAfter).after = [plainNode('Reshape', [inner, shape], [out], ctx.uniqueName(`${base}_coerce_reshape`))];
  return pre;
};

interface NodeWithAfter extends NodeProto {
  after?: NodeProto[];
}

function plainNode(opType: string, input: string[], output: string[], name: string, attribute: AttributeProto[] = []): NodeProto {
  return { opType, input, output, name, attribute, metadataProps: [], deviceConfigurations: [] };
}

const ADAPTERS: Record<string, Adapter[]> = {
  BatchNormalization: [
    {
      version: 9,
      change: '"spatial" attribute removed',
      adapt: (node, ctx) => {
        const a = takeAttr(node, 'spatial');
        if (!a) return undefined;
        if (Number(a.i ?? 1) === 0) ctx.fail(node, 'spatial=0 (per-activation statistics) has no equivalent after opset 8');
        return [];
      },
    },
  ],
  Upsample: [
    {
      version: 9,
      change: '"scales" attribute became an input',
      adapt: (node, ctx) => {
        const a = takeAttr(node, 'scales');
        if (!a) return undefined;
        setInput(node, 1, ctx.floats(`${node.name || 'Upsample'}_scales`, (a.floats ?? []).map(Number)));
        return [];
      },
    },
    {
      version: 10,
      change: 'Upsample (deprecated) became Resize',
      adapt: (node) => {
        node.opType = 'Resize';
        const mode = attrString(node, 'mode') ?? 'nearest';
        setAttr(node, 'mode', mode === 'bilinear' ? 'linear' : mode);
        return [];
      },
    },
  ],
  Resize: [
    {
      version: 11,
      change: 'roi input added; Resize-10 sampled asymmetrically (nearest: floor)',
      adapt: (node, ctx) => {
        const mode = attrString(node, 'mode') ?? 'nearest';
        node.input = [node.input[0], ctx.floats(`${node.name || 'Resize'}_roi`, []), node.input[1]];
        setAttr(node, 'coordinate_transformation_mode', 'asymmetric');
        if (mode === 'nearest') setAttr(node, 'nearest_mode', 'floor');
        return [];
      },
    },
  ],
  Slice: [
    {
      version: 10,
      change: '"starts", "ends", "axes" attributes became inputs',
      adapt: (node, ctx) => {
        const starts = takeAttr(node, 'starts');
        const ends = takeAttr(node, 'ends');
        const axes = takeAttr(node, 'axes');
        if (!starts || !ends) return undefined;
        const base = node.name || 'Slice';
        node.input = [node.input[0], ctx.int64s(`${base}_starts`, intsOf(starts)), ctx.int64s(`${base}_ends`, intsOf(ends))];
        if (axes) node.input.push(ctx.int64s(`${base}_axes`, intsOf(axes)));
        return [];
      },
    },
  ],
  TopK: [
    {
      version: 10,
      change: '"k" attribute became an input',
      adapt: (node, ctx) => {
        const k = takeAttr(node, 'k');
        if (!k) return undefined;
        setInput(node, 1, ctx.int64s(`${node.name || 'TopK'}_k`, [Number(k.i ?? 0)], [1]));
        return [];
      },
    },
  ],
  Pad: [
    {
      version: 11,
      change: '"pads" and "value" attributes became inputs',
      adapt: (node, ctx) => {
        const pads = takeAttr(node, 'pads');
        const value = takeAttr(node, 'value');
        if (!pads) return undefined;
        const base = node.name || 'Pad';
        setInput(node, 1, ctx.int64s(`${base}_pads`, intsOf(pads)));
        const v = Number(value?.f ?? 0);
        if (v !== 0) setInput(node, 2, ctx.scalarLike(`${base}_value`, v, node.input[0]));
        return [];
      },
    },
  ],
  Clip: [
    {
      version: 11,
      change: '"min" and "max" attributes became inputs',
      adapt: (node, ctx) => {
        const min = takeAttr(node, 'min');
        const max = takeAttr(node, 'max');
        if (!min && !max) return undefined;
        const base = node.name || 'Clip';
        if (min) setInput(node, 1, ctx.scalarLike(`${base}_min`, Number(min.f ?? 0), node.input[0]));
        if (max) setInput(node, 2, ctx.scalarLike(`${base}_max`, Number(max.f ?? 0), node.input[0]));
        return [];
      },
    },
  ],
  Scatter: [
    {
      version: 11,
      change: 'Scatter (deprecated) became ScatterElements',
      adapt: (node) => {
        node.opType = 'ScatterElements';
        return [];
      },
    },
  ],
  Dropout: [
    {
      version: 12,
      change: '"ratio" attribute became an input (inference ignores it)',
      adapt: (node, ctx) => {
        const ratio = takeAttr(node, 'ratio');
        if (!ratio) return undefined;
        setInput(node, 1, ctx.scalarLike(`${node.name || 'Dropout'}_ratio`, Number(ratio.f ?? 0.5), node.input[0]));
        return [];
      },
    },
  ],
  Squeeze: [{ version: 13, change: '"axes" attribute became an input', adapt: intsToInput('axes', 1) }],
  Unsqueeze: [{ version: 13, change: '"axes" attribute became an input', adapt: intsToInput('axes', 1) }],
  ReduceSum: [{ version: 13, change: '"axes" attribute became an input', adapt: intsToInput('axes', 1) }],
  Split: [
    { version: 13, change: '"split" attribute became an input', adapt: intsToInput('split', 1) },
    {
      version: 18,
      change: 'an even split names its "num_outputs"',
      adapt: (node) => {
        if (node.input[1]) return undefined;
        setAttr(node, 'num_outputs', node.output.length);
        return [];
      },
    },
  ],
  Softmax: [{ version: 13, change: 'no longer coerces the input to 2-D (kept with Flatten/Reshape)', adapt: coerceTo2d }],
  LogSoftmax: [{ version: 13, change: 'no longer coerces the input to 2-D (kept with Flatten/Reshape)', adapt: coerceTo2d }],
  Hardmax: [{ version: 13, change: 'no longer coerces the input to 2-D (kept with Flatten/Reshape)', adapt: coerceTo2d }],
  RoiAlign: [
    {
      version: 16,
      change: 'coordinate_transformation_mode added; before 16 it was "output_half_pixel"',
      adapt: (node) => {
        if (node.attribute.some((a) => a.name === 'coordinate_transformation_mode')) return undefined;
        setAttr(node, 'coordinate_transformation_mode', 'output_half_pixel');
        return [];
      },
    },
  ],
  ...Object.fromEntries(REDUCE_OPS_18.map((op) => [op, [{ version: 18, change: '"axes" attribute became an input', adapt: intsToInput('axes', 1) }]])),
};

/** Every version at which some adapter applies, ascending. */
const VERSIONS = [...new Set(Object.values(ADAPTERS).flatMap((list) => list.map((a) => a.version)))].sort((a, b) => a - b);

/** Types and ranks the model declares, completed by static shape inference where it runs. */
export function valueFactsOf(model: ModelProto): ValueFacts {
  const declared = new Map<string, { dtype: number; rank?: number }>();
  const g = model.graph;
  for (const v of [...(g?.input ?? []), ...(g?.output ?? []), ...(g?.valueInfo ?? [])]) {
    const t = v.type?.tensorType;
    if (t) declared.set(v.name ?? '', { dtype: t.elemType ?? 0, rank: t.shape ? (t.shape.dim ?? []).length : undefined });
  }
  for (const t of g?.initializer ?? []) declared.set(t.name ?? '', { dtype: t.dataType ?? 0, rank: (t.dims ?? []).length });
  let inferred: ReturnType<typeof inferShapes> | undefined;
  const inferredOf = (v: string) => {
    if (inferred === undefined) {
      try {
        inferred = inferShapes(Graph.fromModel(model));
      } catch {
        inferred = new Map();
      }
    }
    return inferred.get(v);
  };
  return {
    dtype: (v) => declared.get(v)?.dtype || inferredOf(v)?.dtype || 0,
    rank: (v) => declared.get(v)?.rank ?? inferredOf(v)?.shape?.length,
  };
}

function adaptGraph(graph: GraphProto, from: number, to: number, ctx: AdaptContext, changes: OpsetChange[]): void {
  const nodes: NodeProto[] = [];
  for (const original of graph.node) {
    const domain = original.domain ?? '';
    if (domain !== '' && domain !== 'ai.onnx') {
      nodes.push(original);
      continue;
    }
    // In place: a builder extending this graph keeps references to its nodes.
    const node: NodeWithAfter = original;
    for (const a of node.attribute) {
      if (a.g) adaptGraph(a.g, from, to, ctx, changes);
      for (const sub of a.graphs ?? []) adaptGraph(sub, from, to, ctx, changes);
    }
    const after: NodeProto[] = [];
    // Version by version, looking the op up again each time: Upsample becomes Resize at 10 and
    // must then take Resize's own change at 11.
    for (const version of VERSIONS) {
      if (version <= from || version > to) continue;
      const op = node.opType ?? '';
      const adapter = ADAPTERS[op]?.find((a) => a.version === version);
      const before = adapter?.adapt(node, ctx);
      if (!adapter || !before) continue;
      nodes.push(...before);
      if (node.after) after.push(...node.after.splice(0));
      changes.push({ node: node.name || `(${op} → ${node.output[0]})`, op, version, change: adapter.change });
    }
    trimInputs(node);
    delete node.after;
    nodes.push(node, ...after);
  }
  graph.node = nodes;
}

/** A copy of `graph` whose nodes (and subgraphs) can be rewritten without touching the original. */
function copyGraph(graph: GraphProto): GraphProto {
  return {
    ...graph,
    initializer: [...graph.initializer],
    node: graph.node.map((n) => ({
      ...n,
      input: [...n.input],
      output: [...n.output],
      attribute: n.attribute.map((a) => ({ ...a, ...(a.g ? { g: copyGraph(a.g) } : {}), ...(a.graphs?.length ? { graphs: a.graphs.map(copyGraph) } : {}) })),
    })),
  };
}

/** Names the upgrade may not reuse; `uniqueName` hands out fresh ones and records them. */
export interface NameSource {
  uniqueName(hint: string): string;
}

function namesOf(graph: GraphProto): NameSource {
  const taken = new Set<string>();
  for (const n of graph.node) {
    if (n.name) taken.add(n.name);
    for (const o of n.output) taken.add(o);
  }
  for (const v of [...graph.input, ...graph.output, ...graph.initializer]) taken.add(v.name ?? '');
  return {
    uniqueName: (hint) => {
      let name = hint;
      for (let k = 1; taken.has(name); k++) name = `${hint}_${k}`;
      taken.add(name);
      return name;
    },
  };
}

/**
 * Rewrites, in place, the nodes of `graph` (an ai.onnx opset `from` graph) into their opset `to`
 * form; new constants are appended to its initializers. For a builder that goes on adding nodes,
 * pass its own name source so that later names cannot collide.
 */
export function upgradeGraph(graph: GraphProto, from: number, to: number, facts: ValueFacts, names: NameSource = namesOf(graph)): OpsetChange[] {
  if (from >= to) return [];
  if (from < 7) {
    throw new CamLensError(
      'UNSUPPORTED_OP',
      `The model uses ai.onnx opset ${from}; CamLens reads opset 7 and newer (opset 1–6 ops such as experimental Upsample have no defined upgrade). Convert it with onnx.version_converter first.`,
    );
  }
  const addInitializer = (t: TensorProto) => {
    graph.initializer.push(t);
    return t.name!;
  };
  const { uniqueName } = names;
  const ctx: AdaptContext = {
    facts,
    uniqueName,
    int64s: (hint, values, dims = [values.length]) => addInitializer(makeTensor(uniqueName(hint), DataType.INT64, dims, values)),
    floats: (hint, values) => addInitializer(makeTensor(uniqueName(hint), DataType.FLOAT, [values.length], values)),
    scalarLike: (hint, value, like) => addInitializer(makeTensor(uniqueName(hint), facts.dtype(like) || DataType.FLOAT, [], [value])),
    fail: (node, why) => {
      throw new CamLensError(
        'UNSUPPORTED_OP',
        `Cannot raise the model from ai.onnx opset ${from} to ${to}: node "${node.name || node.output[0]}" (${node.opType}): ${why}.`,
      );
    },
  };
  const changes: OpsetChange[] = [];
  adaptGraph(graph, from, to, ctx, changes);
  return changes;
}

/** The ai.onnx opset a model imports (0 when it imports none). */
export function aiOnnxOpset(model: ModelProto): number {
  const entry = model.opsetImport.find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  return Number(entry?.version ?? 0);
}

/**
 * `model` with its ai.onnx opset raised to `to`, each node whose operator changed meaning or
 * form on the way rewritten into the new form. The input model is not modified. A model
 * already at `to` or newer is returned as it is.
 */
export function upgradeOpset(model: ModelProto, to: number, facts: ValueFacts = valueFactsOf(model)): OpsetUpgrade {
  const from = aiOnnxOpset(model);
  if (from === 0 || from >= to) return { model, from, to: Math.max(from, to), changes: [] };
  const graph = copyGraph(model.graph!);
  const changes = upgradeGraph(graph, from, to, facts);
  const opsetImport = model.opsetImport.map((o) => ((o.domain ?? '') === '' || o.domain === 'ai.onnx' ? { ...o, version: to } : o));
  return { model: { ...model, graph, opsetImport }, from, to, changes };
}
