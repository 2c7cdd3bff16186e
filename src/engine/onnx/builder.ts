// A small DSL for making ONNX models in code: tests build tiny models with it, graph surgery
// and autodiff append nodes to existing models with it. Output is plain ModelProto data.
import { CamLensError } from '../errors';
import { emptyTensor, makeTensor } from './tensor';
import {
  AttributeType,
  DataType,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type TypeProto,
  type ValueInfoProto,
} from './types';

/** A dimension: a size, a symbolic name, or null for "unknown". */
export type Dim = number | string | null;

/** Attribute values are typed by their JS shape; wrap with `attr.float()` etc. to force a type. */
export type AttrValue = number | string | number[] | string[] | TensorProto | GraphProto | TypedAttr;

export class TypedAttr {
  constructor(
    readonly type: AttributeType,
    readonly value: unknown,
  ) {}
}

export const attr = {
  float: (v: number) => new TypedAttr(AttributeType.FLOAT, v),
  floats: (v: number[]) => new TypedAttr(AttributeType.FLOATS, v),
  int: (v: number | bigint) => new TypedAttr(AttributeType.INT, v),
  ints: (v: Array<number | bigint>) => new TypedAttr(AttributeType.INTS, v),
  string: (v: string) => new TypedAttr(AttributeType.STRING, v),
  strings: (v: string[]) => new TypedAttr(AttributeType.STRINGS, v),
  tensor: (v: TensorProto) => new TypedAttr(AttributeType.TENSOR, v),
  graph: (v: GraphProto) => new TypedAttr(AttributeType.GRAPH, v),
};

const encoder = new TextEncoder();

export function makeAttribute(name: string, value: AttrValue): AttributeProto {
  const a: AttributeProto = {
    name,
    floats: [],
    ints: [],
    strings: [],
    tensors: [],
    graphs: [],
    sparseTensors: [],
    typeProtos: [],
  };
  const typed = value instanceof TypedAttr ? value : inferAttr(value);
  a.type = typed.type;
  const v = typed.value;
  switch (typed.type) {
    case AttributeType.FLOAT:
      a.f = v as number;
      break;
    case AttributeType.INT:
      a.i = v as number;
      break;
    case AttributeType.STRING:
      a.s = encoder.encode(v as string);
      break;
    case AttributeType.TENSOR:
      a.t = v as TensorProto;
      break;
    case AttributeType.GRAPH:
      a.g = v as GraphProto;
      break;
    case AttributeType.FLOATS:
      a.floats = [...(v as number[])];
      break;
    case AttributeType.INTS:
      a.ints = [...(v as number[])];
      break;
    case AttributeType.STRINGS:
      a.strings = (v as string[]).map((s) => encoder.encode(s));
      break;
    default:
      throw new CamLensError('BAD_ARGUMENT', `Attribute "${name}": type ${typed.type} is not supported by the builder.`);
  }
  return a;
}

function inferAttr(value: Exclude<AttrValue, TypedAttr>): TypedAttr {
  if (typeof value === 'number') return new TypedAttr(Number.isInteger(value) ? AttributeType.INT : AttributeType.FLOAT, value);
  if (typeof value === 'string') return new TypedAttr(AttributeType.STRING, value);
  if (Array.isArray(value)) {
    if (value.every((x) => typeof x === 'string')) return new TypedAttr(AttributeType.STRINGS, value);
    const nums = value as number[];
    return new TypedAttr(nums.every((x) => Number.isInteger(x)) ? AttributeType.INTS : AttributeType.FLOATS, nums);
  }
  if ('node' in value) return new TypedAttr(AttributeType.GRAPH, value);
  return new TypedAttr(AttributeType.TENSOR, value);
}

export function tensorType(elemType: DataType, shape?: readonly Dim[]): TypeProto {
  const type: TypeProto = { tensorType: { elemType } };
  if (shape) {
    type.tensorType!.shape = {
      dim: shape.map((d) => (d === null ? {} : typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  return type;
}

export function valueInfo(name: string, elemType: DataType, shape?: readonly Dim[]): ValueInfoProto {
  return { name, type: tensorType(elemType, shape), metadataProps: [] };
}

export function emptyGraph(name = 'graph'): GraphProto {
  return {
    node: [],
    name,
    initializer: [],
    sparseInitializer: [],
    input: [],
    output: [],
    valueInfo: [],
    quantizationAnnotation: [],
    metadataProps: [],
  };
}

export interface NodeOptions {
  name?: string;
  /** Output names; by default `<name>_output_<i>`. */
  outputs?: string[];
  /** Number of outputs when names are generated (default 1). */
  outputCount?: number;
  domain?: string;
}

/**
 * Builds a graph. `ModelBuilder.extend(model)` starts from an existing model and never mutates
 * it: the new model shares the original's tensors and nodes but has its own lists.
 */
export class ModelBuilder {
  readonly graph: GraphProto;
  private readonly names = new Set<string>();
  /** Names handed out by uniqueName() and not yet used: node() may take them as outputs. */
  private readonly reserved = new Set<string>();
  private readonly opsetImports: Map<string, number>;
  private counter = 0;

  constructor(
    private readonly base: Partial<ModelProto> = {},
    graph?: GraphProto,
    opsets?: Map<string, number>,
  ) {
    this.graph = graph ?? emptyGraph();
    this.opsetImports = opsets ?? new Map([['', 17]]);
    for (const v of [...this.graph.input, ...this.graph.output, ...this.graph.valueInfo]) this.names.add(v.name ?? '');
    for (const t of this.graph.initializer) this.names.add(t.name ?? '');
    for (const n of this.graph.node) {
      if (n.name) this.names.add(n.name);
      for (const o of n.output) this.names.add(o);
    }
  }

  static create(opset = 17, graphName = 'graph'): ModelBuilder {
    return new ModelBuilder({}, emptyGraph(graphName), new Map([['', opset]]));
  }

  static extend(model: ModelProto): ModelBuilder {
    const g = model.graph!;
    const graph: GraphProto = {
      ...g,
      node: [...g.node],
      initializer: [...g.initializer],
      input: [...g.input],
      output: [...g.output],
      valueInfo: [...g.valueInfo],
    };
    const opsets = new Map<string, number>();
    for (const o of model.opsetImport) opsets.set(o.domain ?? '', Number(o.version ?? 0));
    return new ModelBuilder(model, graph, opsets);
  }

  get opset(): number {
    return this.opsetImports.get('') ?? 0;
  }

  /** A name not yet used in this graph, derived from `hint`. */
  uniqueName(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    this.reserved.add(name);
    return name;
  }

  input(name: string, elemType: DataType, shape?: readonly Dim[]): string {
    this.claim(name);
    this.graph.input.push(valueInfo(name, elemType, shape));
    return name;
  }

  output(name: string, elemType: DataType = DataType.FLOAT, shape?: readonly Dim[]): string {
    this.graph.output.push(valueInfo(name, elemType, shape));
    return name;
  }

  initializer(name: string, elemType: DataType, dims: readonly number[], values: ArrayLike<number | bigint>): string {
    const unique = this.uniqueName(name);
    this.graph.initializer.push(makeTensor(unique, elemType, dims, values));
    return unique;
  }

  /** An existing TensorProto as an initializer (renamed if the name is taken). */
  addInitializer(tensor: TensorProto): string {
    const unique = this.uniqueName(tensor.name || 'initializer');
    this.graph.initializer.push(unique === tensor.name ? tensor : { ...tensor, name: unique });
    return unique;
  }

  /** A float32 initializer. */
  floats(name: string, dims: readonly number[], values: ArrayLike<number>): string {
    return this.initializer(name, DataType.FLOAT, dims, values);
  }

  /** An int64 initializer (shapes, axes). */
  int64s(name: string, values: ArrayLike<number | bigint>, dims: readonly number[] = [values.length]): string {
    return this.initializer(name, DataType.INT64, dims, values);
  }

  /** Adds a node; returns its output names. */
  node(opType: string, inputs: readonly string[], attributes: Record<string, AttrValue | undefined> = {}, options: NodeOptions = {}): string[] {
    const name = this.uniqueName(options.name ?? `${opType}_${this.graph.node.length}`);
    const outputs = options.outputs
      ? options.outputs.map((o) => (o ? this.claim(o) : ''))
      : Array.from({ length: options.outputCount ?? 1 }, (_, i) => this.uniqueName(`${name}_output_${i}`));
    const node: NodeProto = {
      input: [...inputs],
      output: outputs,
      name,
      opType,
      attribute: [],
      metadataProps: [],
      deviceConfigurations: [],
    };
    if (options.domain) node.domain = options.domain;
    for (const [key, value] of Object.entries(attributes)) {
      if (value !== undefined) node.attribute.push(makeAttribute(key, value));
    }
    this.graph.node.push(node);
    return outputs;
  }

  /** Adds a single-output node and returns that output. */
  op(opType: string, inputs: readonly string[], attributes: Record<string, AttrValue | undefined> = {}, options: NodeOptions = {}): string {
    return this.node(opType, inputs, attributes, options)[0];
  }

  useOpset(domain: string, version: number): void {
    this.opsetImports.set(domain, Math.max(this.opsetImports.get(domain) ?? 0, version));
  }

  build(): ModelProto {
    const base = this.base;
    return {
      irVersion: base.irVersion ?? 8,
      opsetImport: [...this.opsetImports].map(([domain, version]) => (domain ? { domain, version } : { version })),
      producerName: base.producerName ?? 'camlens',
      ...(base.producerVersion !== undefined ? { producerVersion: base.producerVersion } : {}),
      ...(base.domain !== undefined ? { domain: base.domain } : {}),
      ...(base.modelVersion !== undefined ? { modelVersion: base.modelVersion } : {}),
      ...(base.docString !== undefined ? { docString: base.docString } : {}),
      graph: this.graph,
      metadataProps: [...(base.metadataProps ?? [])],
      trainingInfo: [...(base.trainingInfo ?? [])],
      functions: [...(base.functions ?? [])],
      configuration: [...(base.configuration ?? [])],
    };
  }

  private claim(name: string): string {
    if (this.reserved.delete(name)) return name;
    if (this.names.has(name)) throw new CamLensError('BAD_ARGUMENT', `Builder: the name "${name}" is already used in this graph.`);
    this.names.add(name);
    return name;
  }
}

export { DataType, emptyTensor };
