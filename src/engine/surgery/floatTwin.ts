// The float twin of a quantized graph, built in memory so that gradients can pass where integer
// tensors stop them (QDQ pairs, DynamicQuantizeLinear + ConvInteger/MatMulInteger, QLinear*).
//
// Rule: every quantized integer tensor q is replaced by its un-rounded value in the integer
// domain, q' = clip(x / scale + zero_point, qmin, qmax), computed in float32. Rounding is
// straight-through (its derivative is taken as 1, as in quantization-aware training); clipping
// is kept, because quantized models use it (a uint8 QLinearConv with zero point 0 is Conv + ReLU).
// Dequantization, integer convolutions and matrix products then run as float ops on these
// values with the same scales, so the twin computes what the quantized model computes up to
// rounding, and its weights are exactly the quantized model's (dequantized).
// Integer values the twin cannot follow (an op with no float form here) are reported in
// `blocked`, so that a gradient that cannot pass becomes an error, not a silent zero map.
import { ModelBuilder } from '../onnx/builder';
import { attrInt } from '../onnx/attributes';
import { Graph } from '../onnx/graph';
import { analyseShapes } from '../onnx/shapes';
import { DataType, type ModelProto, type NodeProto } from '../onnx/types';

/** Ops that mark a model as quantized (and that the twin replaces). */
const QUANTIZED_OPS = new Set([
  'QuantizeLinear',
  'DequantizeLinear',
  'DynamicQuantizeLinear',
  'ConvInteger',
  'MatMulInteger',
  'QLinearConv',
  'QLinearMatMul',
  'QLinearAdd',
  'QLinearMul',
  'QLinearSigmoid',
  'QLinearLeakyRelu',
  'QLinearGlobalAveragePool',
]);

/** Ops that only move or select elements: on a twin they run on the float values as they are. */
const MOVEMENT_OPS = new Set([
  'Identity',
  'Reshape',
  'Flatten',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'MaxPool',
  'Concat',
  'Slice',
  'Gather',
  'Split',
  'Pad',
  'Resize',
  'Expand',
]);

const RANGES: Record<number, [number, number]> = {
  [DataType.UINT8]: [0, 255],
  [DataType.INT8]: [-128, 127],
  [DataType.UINT16]: [0, 65535],
  [DataType.INT16]: [-32768, 32767],
};

export interface FloatTwin {
  model: ModelProto;
  /** Quantized ops of the original model, by type (empty when it has none). */
  ops: Record<string, number>;
  /** Nodes that read a quantized value the twin could not follow ("name (op)"). */
  blocked: string[];
}

/** Counts of the quantized ops in `model` (empty for a float model). */
export function quantizedOps(model: ModelProto): Record<string, number> {
  const ops: Record<string, number> = {};
  for (const n of model.graph!.node) if (QUANTIZED_OPS.has(n.opType!)) ops[n.opType!] = (ops[n.opType!] ?? 0) + 1;
  return ops;
}

/** What S.json's notes say about a quantized model: explained through its float twin. */
export function quantizationNotes(model: ModelProto): Record<string, string> {
  const ops = quantizedOps(model);
  const list = Object.entries(ops);
  if (list.length === 0) return {};
  return {
    quantized: 'float-twin (gradients through the dequantized graph: rounding straight-through, clipping kept)',
    quantizedOps: list.map(([op, n]) => `${op}×${n}`).join(', '),
  };
}

export function floatTwin(model: ModelProto): FloatTwin {
  const ops = quantizedOps(model);
  if (Object.keys(ops).length === 0) return { model, ops, blocked: [] };
  const graph = Graph.fromModel(model);
  const shapes = analyseShapes(graph, { contradictions: 'record' });
  const b = ModelBuilder.extend(model);
  const original = b.graph.node;
  b.graph.node = [];
  /** Integer value → float value holding it un-rounded. */
  const twin = new Map<string, string>();
  const blocked: string[] = [];
  const op = (type: string, inputs: string[], attrs: Record<string, number | number[] | string> = {}, output?: string) => {
    const made = b.op(type, inputs, attrs, { name: `camlens_twin/${type}` });
    if (!output) return made;
    // the replaced node's output keeps its name (the builder has it taken already)
    b.graph.node[b.graph.node.length - 1].output = [output];
    return output;
  };
  const floatOf = (v: string): string | undefined => {
    if (!v) return undefined;
    const known = twin.get(v);
    if (known) return known;
    if (graph.initializers.has(v)) {
      const f = op('Cast', [v], { to: DataType.FLOAT });
      twin.set(v, f);
      return f;
    }
    return undefined;
  };
  /**
   * A scale or zero point shaped to broadcast along `axis` of a rank-`rank` tensor. One of
   * unknown shape is a scalar computed at run time (DynamicQuantizeLinear's): a Reshape to []
   * says so, which keeps the twin's ranks known to shape inference (the gradient rules need them).
   */
  const alongAxis = (v: string, axis: number, rank: number | undefined): string => {
    const shape = shapes.shape(v);
    if (!shape) return op('Reshape', [v, b.int64s('camlens_twin/scalar', [], [0])]);
    const n = shape.length ? shape[0] : 1;
    if (n === 1 || rank === undefined) return v;
    const a = axis < 0 ? axis + rank : axis;
    const dims = Array.from({ length: rank }, (_, i) => (i === a ? -1 : 1));
    return op('Reshape', [v, b.int64s('camlens_twin/shape', dims)]);
  };
  const zeroPoint = (zp: string | undefined, axis: number, rank: number | undefined) =>
    zp ? op('Cast', [alongAxis(zp, axis, rank)], { to: DataType.FLOAT }) : undefined;
  /** Real value of quantized q: (q' − zp)·scale. */
  const real = (qf: string, scale: string, zp: string | undefined, axis = 1, rank?: number, output?: string) => {
    const z = zeroPoint(zp, axis, rank);
    return op('Mul', [z ? op('Sub', [qf, z]) : qf, alongAxis(scale, axis, rank)], {}, output);
  };
  /** Un-rounded quantized value of real x: clip(x/scale + zp) in the range of `type`. */
  const quantize = (x: string, scale: string, zp: string | undefined, type: number, axis = 1, rank?: number) => {
    const z = zeroPoint(zp, axis, rank);
    const scaled = op('Div', [x, alongAxis(scale, axis, rank)]);
    const q = z ? op('Add', [scaled, z]) : scaled;
    const range = RANGES[type];
    // Max/Min rather than Clip: the gradient passes at the bounds too (inclusive, like PyTorch's fake-quant)
    return range ? op('Max', [op('Min', [q, b.floats('camlens_twin/max', [], [range[1]])]), b.floats('camlens_twin/min', [], [range[0]])]) : q;
  };
  const quantType = (zp: string | undefined, node: NodeProto) => (zp ? shapes.dtype(zp) : attrInt(node, 'output_dtype', 0)) || DataType.UINT8;
  const copy = (node: NodeProto) => b.graph.node.push(node);

  for (const node of original) {
    const t = node.opType!;
    const i = node.input;
    const rankOf = (v: string) => shapes.rank(v);
    const axis = attrInt(node, 'axis', 1);
    if (t === 'QuantizeLinear') {
      twin.set(node.output[0], quantize(i[0], i[1], i[2] || undefined, quantType(i[2], node), axis, rankOf(i[0])));
      copy(node);
    } else if (t === 'DequantizeLinear' && floatOf(i[0])) {
      real(floatOf(i[0])!, i[1], i[2] || undefined, axis, rankOf(i[0]), node.output[0]);
    } else if (t === 'DynamicQuantizeLinear') {
      copy(node); // its scale and zero point outputs are used as they are
      twin.set(node.output[0], quantize(i[0], node.output[1], node.output[2], DataType.UINT8));
    } else if ((t === 'ConvInteger' || t === 'MatMulInteger') && floatOf(i[0]) && floatOf(i[1])) {
      const a = i[2] ? op('Sub', [floatOf(i[0])!, zeroPoint(i[2], 1, rankOf(i[0]))!]) : floatOf(i[0])!;
      // a per-channel weight zero point lies along the output channels: axis 0 of a conv weight, the last of a matrix
      const wAxis = t === 'ConvInteger' ? 0 : -1;
      const w = i[3] ? op('Sub', [floatOf(i[1])!, zeroPoint(i[3], wAxis, rankOf(i[1]))!]) : floatOf(i[1])!;
      const attrs = Object.fromEntries(
        node.attribute.map((x) => [x.name!, x.ints.length ? x.ints.map(Number) : x.s?.length ? new TextDecoder().decode(x.s) : Number(x.i)]),
      );
      twin.set(node.output[0], op(t === 'ConvInteger' ? 'Conv' : 'MatMul', [a, w], attrs));
      copy(node);
    } else if (t === 'QLinearConv' && floatOf(i[0]) && floatOf(i[3])) {
      const x = real(floatOf(i[0])!, i[1], i[2], 1, rankOf(i[0]));
      const w = real(floatOf(i[3])!, i[4], i[5], 0, rankOf(i[3]));
      const bias = i[8] ? [op('Mul', [op('Cast', [i[8]], { to: DataType.FLOAT }), op('Mul', [i[1], i[4]])])] : [];
      const attrs = Object.fromEntries(
        node.attribute.map((x) => [x.name!, x.ints.length ? x.ints.map(Number) : x.s?.length ? new TextDecoder().decode(x.s) : Number(x.i)]),
      );
      const y = op('Conv', [x, w, ...bias], attrs);
      twin.set(node.output[0], quantize(y, i[6], i[7], quantType(i[7], node), 1, rankOf(i[0])));
      copy(node);
    } else if (t === 'QLinearMatMul' && floatOf(i[0]) && floatOf(i[3])) {
      const y = op('MatMul', [real(floatOf(i[0])!, i[1], i[2], -1), real(floatOf(i[3])!, i[4], i[5], -1)]);
      twin.set(node.output[0], quantize(y, i[6], i[7], quantType(i[7], node), -1));
      copy(node);
    } else if (node.domain === 'com.microsoft' && QLINEAR_UNARY[t] && floatOf(i[0])) {
      const y = op(QLINEAR_UNARY[t], [real(floatOf(i[0])!, i[1], i[2])], t === 'QLinearLeakyRelu' ? { alpha: attrFloatOf(node, 'alpha', 0.01) } : {});
      twin.set(node.output[0], quantize(y, i[3], i[4], quantType(i[4], node)));
      copy(node);
    } else if (node.domain === 'com.microsoft' && (t === 'QLinearAdd' || t === 'QLinearMul') && floatOf(i[0]) && floatOf(i[3])) {
      const y = op(t === 'QLinearAdd' ? 'Add' : 'Mul', [real(floatOf(i[0])!, i[1], i[2]), real(floatOf(i[3])!, i[4], i[5])]);
      twin.set(node.output[0], quantize(y, i[6], i[7], quantType(i[7], node)));
      copy(node);
    } else if (t === 'Cast' && floatOf(i[0]) && twin.has(i[0])) {
      // an integer accumulator (ConvInteger/MatMulInteger) read as float: its twin already is
      const to = attrInt(node, 'to', DataType.FLOAT);
      op(to === DataType.FLOAT ? 'Identity' : 'Cast', [twin.get(i[0])!], to === DataType.FLOAT ? {} : { to }, node.output[0]);
    } else if (MOVEMENT_OPS.has(t) && node.domain === '' && twin.has(i[0])) {
      copy(node);
      const outs = node.output.map((o) => (o ? b.uniqueName(`${o}_twin`) : ''));
      const data = i.map((v, k) => (k === 0 || (t === 'Concat' && twin.has(v)) ? twin.get(v)! : v));
      b.graph.node.push({ ...node, name: b.uniqueName(`camlens_twin/${node.name || t}`), input: data, output: outs });
      outs.forEach((o, k) => o && twin.set(node.output[k], o));
    } else {
      if (node.input.some((v) => twin.has(v)) || QUANTIZED_OPS.has(t))
        blocked.push(`${node.name || '(unnamed)'} (${node.domain ? `${node.domain}::` : ''}${t})`);
      copy(node);
    }
  }
  removeDeadNodes(b);
  return { model: b.build(), ops, blocked };
}

/** com.microsoft QLinear ops of one quantized input, by the float op they wrap. */
const QLINEAR_UNARY: Record<string, string> = { QLinearSigmoid: 'Sigmoid', QLinearLeakyRelu: 'LeakyRelu', QLinearGlobalAveragePool: 'GlobalAveragePool' };

function attrFloatOf(node: NodeProto, name: string, fallback: number): number {
  const a = node.attribute.find((x) => x.name === name);
  return a?.f ?? fallback;
}

/** Drops nodes none of whose outputs is read (the integer nodes the twin replaced). */
function removeDeadNodes(b: ModelBuilder): void {
  // Subgraphs read outer values without listing them as inputs: keep everything then.
  if (b.graph.node.some((n) => n.attribute.some((a) => a.g || a.graphs.length))) return;
  const outputs = new Set(b.graph.output.map((o) => o.name));
  for (;;) {
    const read = new Set<string>(outputs as Set<string>);
    for (const n of b.graph.node) for (const i of n.input) read.add(i);
    const kept = b.graph.node.filter((n) => n.output.some((o) => o && read.has(o)));
    if (kept.length === b.graph.node.length) return;
    b.graph.node = kept;
  }
}
