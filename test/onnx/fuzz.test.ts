// Parser fuzzing: thousands of damaged models must each either parse and build a Graph, or be
// refused with a typed CamLensError (MODEL_PARSE / MODEL_INVALID). Anything else (TypeError,
// RangeError or a stack overflow escaping, a hang) is a bug at the source in io.ts / graph.ts.
//
// The loop runs in a worker thread so that a hang in synchronous parsing code fails the test
// (the worker is terminated by a watchdog) instead of blocking the run forever. Everything is
// driven by one seeded PRNG: a failure report names the seed and the variant, and failing
// inputs are written to the temp folder to reproduce with.
import { ok } from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isMainThread, Worker, workerData, parentPort } from 'node:worker_threads';
import { CamLensError } from '../../src/engine/errors';
import { attr, DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { Graph } from '../../src/engine/onnx/graph';
import { parseModel, serializeModel } from '../../src/engine/onnx/io';
import { emptyTensor } from '../../src/engine/onnx/tensor';
import type { GraphProto, ModelProto, NodeProto, TensorProto } from '../../src/engine/onnx/types';
import { FIXTURES_DIR, fixtureModels } from '../helpers/fixtures';

const DEFAULT_SEED = 0x5eed_ca11;
const FIXTURE_NAMES = ['shapes_cnn', 'shapes_cnn_v2', 'convnext_mini', 'vit_tiny', 'mobilenet_v2'];
const VARIANTS_PER_FIXTURE = 400;
/** Larger fixtures (> 4 MB) get fewer variants: each parse costs in proportion to the size. */
const VARIANTS_PER_LARGE_FIXTURE = 150;
const BUILDER_VARIANTS = 2100;
// Generous on purpose: CI machines are shared and this is a guard against pathological slowness,
// not a benchmark (hangs are caught separately by the stall watchdog).
const TIME_LIMIT_MS = 120_000;
/** No progress for this long means a hang. */
const STALL_MS = 20_000;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** mulberry32 */
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  float(): number {
    return this.u32() / 4294967296;
  }
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor(this.float() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
}

// ---------------------------------------------------------------------------------------------
// Protobuf wire format: just enough to find fields and re-encode edited trees

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** [value, next position], or undefined past `end` / over 10 bytes. */
function readVarint(bytes: Uint8Array, pos: number, end: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return undefined;
    const b = bytes[pos++];
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) return [value, pos];
  }
  return undefined;
}

interface WireField {
  field: number;
  wireType: number;
  /** Position of the tag in the original bytes. */
  start: number;
  /** For length-delimited fields: where the length varint is, and where the payload starts. */
  lenPos: number;
  dataStart: number;
  end: number;
  /** Varint / fixed value bytes, or the payload of a length-delimited leaf. */
  value: Uint8Array;
  /** Set when the payload itself parses as a message. */
  children?: WireField[];
}

function parseWire(bytes: Uint8Array, start: number, end: number, depth: number, bulk: Set<number>): WireField[] | undefined {
  const fields: WireField[] = [];
  let pos = start;
  while (pos < end) {
    const tag = readVarint(bytes, pos, end);
    if (!tag) return undefined;
    const [key, afterTag] = tag;
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0 || field > 536870911) return undefined;
    let next: number;
    let lenPos = afterTag;
    let dataStart = afterTag;
    let children: WireField[] | undefined;
    switch (wireType) {
      case 0: {
        const v = readVarint(bytes, afterTag, end);
        if (!v) return undefined;
        next = v[1];
        break;
      }
      case 1:
        next = afterTag + 8;
        break;
      case 5:
        next = afterTag + 4;
        break;
      case 2: {
        const len = readVarint(bytes, afterTag, end);
        if (!len) return undefined;
        lenPos = afterTag;
        dataStart = len[1];
        next = dataStart + len[0];
        if (next > end) return undefined;
        if (len[0] > 0 && depth < 48 && !bulk.has(dataStart)) children = parseWire(bytes, dataStart, next, depth + 1, bulk);
        break;
      }
      default:
        return undefined;
    }
    if (next > end) return undefined;
    fields.push({ field, wireType, start: pos, lenPos, dataStart, end: next, value: bytes.subarray(dataStart, next), children });
    pos = next;
  }
  return fields;
}

/** Replacements by identity: a field maps to the fields emitted in its place ([] deletes it). */
type Edits = Map<WireField, WireField[]>;

function encodeWire(fields: readonly WireField[], edits: Edits, parts: Uint8Array[]): number {
  let size = 0;
  for (const original of fields) {
    for (const f of edits.get(original) ?? [original]) {
      const tag = Uint8Array.from(varint(f.field * 8 + f.wireType));
      parts.push(tag);
      size += tag.length;
      if (f.wireType !== 2) {
        parts.push(f.value);
        size += f.value.length;
        continue;
      }
      if (f.children) {
        const sub: Uint8Array[] = [];
        const n = encodeWire(f.children, edits, sub);
        const len = Uint8Array.from(varint(n));
        parts.push(len, ...sub);
        size += len.length + n;
      } else {
        const len = Uint8Array.from(varint(f.value.length));
        parts.push(len, f.value);
        size += len.length + f.value.length;
      }
    }
  }
  return size;
}

function concat(parts: readonly (Uint8Array | number[])[], size?: number, alloc: (n: number) => Uint8Array = (n) => new Uint8Array(n)): Uint8Array {
  const total = size ?? parts.reduce((a, p) => a + p.length, 0);
  const out = alloc(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Subjects: the models to damage

interface Subject {
  name: string;
  bytes: Uint8Array;
  variants: number;
  tree: WireField[];
  all: WireField[];
  messages: WireField[];
  lengthFields: WireField[];
  leaves: WireField[];
  varints: WireField[];
  /** Byte ranges outside large tensor payloads, where damage changes structure. */
  structural: Array<[number, number]>;
  structuralSize: number;
}

function tensorsOf(model: ModelProto): TensorProto[] {
  const out: TensorProto[] = [];
  const visit = (g: GraphProto) => {
    out.push(...g.initializer);
    for (const n of g.node)
      for (const a of n.attribute) {
        if (a.t) out.push(a.t);
        out.push(...a.tensors);
        if (a.g) visit(a.g);
        for (const s of a.graphs) visit(s);
      }
  };
  if (model.graph) visit(model.graph);
  return out;
}

function makeSubject(name: string, file: Uint8Array, variants: number): Subject {
  // A plain Uint8Array copy: Buffer#slice (what readFileSync gives) is a view, and mutations
  // made on a "copy" would pile up in the subject.
  const bytes = new Uint8Array(file);
  const model = parseModel(bytes, name);
  Graph.fromModel(model, name);
  const bulk: Array<[number, number]> = [];
  for (const t of tensorsOf(model)) {
    const raw = t.rawData;
    if (raw && raw.byteLength >= 64 && raw.buffer === bytes.buffer) bulk.push([raw.byteOffset - bytes.byteOffset, raw.byteLength]);
  }
  bulk.sort((a, b) => a[0] - b[0]);
  const structural: Array<[number, number]> = [];
  let at = 0;
  for (const [s, n] of bulk) {
    if (s > at) structural.push([at, s]);
    at = Math.max(at, s + n);
  }
  if (at < bytes.length) structural.push([at, bytes.length]);
  const tree = parseWire(bytes, 0, bytes.length, 0, new Set(bulk.map((b) => b[0])));
  if (!tree) throw new Error(`${name}: the fuzzer cannot walk its own subject`);
  const all: WireField[] = [];
  const walk = (fs: WireField[]) => {
    for (const f of fs) {
      all.push(f);
      if (f.children) walk(f.children);
    }
  };
  walk(tree);
  return {
    name,
    bytes,
    variants,
    tree,
    all,
    messages: all.filter((f) => f.children && f.children.length > 0),
    lengthFields: all.filter((f) => f.wireType === 2),
    leaves: all.filter((f) => f.wireType === 2 && !f.children && f.value.length < 256),
    varints: all.filter((f) => f.wireType === 0),
    structural,
    structuralSize: structural.reduce((a, [s, e]) => a + e - s, 0),
  };
}

const seededFloats = (rng: Rng, n: number) => Array.from({ length: n }, () => (rng.float() - 0.5) * 0.2);

function cnnModel(rng: Rng): ModelProto {
  const b = ModelBuilder.create(17);
  const x = b.input('input', DataType.FLOAT, ['batch', 3, 16, 16]);
  const w1 = b.floats('onnx::Conv_1', [4, 3, 3, 3], seededFloats(rng, 108));
  const b1 = b.floats('onnx::Conv_2', [4], seededFloats(rng, 4));
  const c1 = b.op('Conv', [x, w1, b1], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1], group: 1 }, { name: '/conv1/Conv' });
  const r1 = b.op('Relu', [c1], {}, { name: '/relu/Relu' });
  const p = b.op('MaxPool', [r1], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 0 }, { name: '/pool/MaxPool' });
  const w2 = b.floats('onnx::Conv_3', [4, 4, 3, 3], seededFloats(rng, 144));
  const c2 = b.op('Conv', [p, w2], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: '/block/conv/Conv' });
  const add = b.op('Add', [c2, p], {}, { name: '/block/Add' });
  const r2 = b.op('Relu', [add], {}, { name: '/block/relu/Relu' });
  const cat = b.op('Concat', [r2, p], { axis: 1 }, { name: '/Concat' });
  const gap = b.op('GlobalAveragePool', [cat], {}, { name: '/avgpool/GlobalAveragePool' });
  const flat = b.op('Flatten', [gap], { axis: 1 }, { name: '/Flatten' });
  const fw = b.floats('fc.weight', [5, 8], seededFloats(rng, 40));
  const fb = b.floats('fc.bias', [5], seededFloats(rng, 5));
  b.op('Gemm', [flat, fw, fb], { alpha: attr.float(1), beta: attr.float(1), transB: 1 }, { name: '/fc/Gemm', outputs: ['logits'] });
  b.output('logits', DataType.FLOAT, ['batch', 5]);
  b.graph.valueInfo.push({
    name: p,
    type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 4 }, { dimValue: 8 }, { dimValue: 8 }] } } },
    metadataProps: [],
  });
  return b.build();
}

function controlFlowModel(): ModelProto {
  const b = ModelBuilder.create(17);
  const x = b.input('x', DataType.FLOAT, [2, 3]);
  const cond = b.input('cond', DataType.BOOL, []);
  const one = b.floats('one', [1], [1]);
  const branch = (name: string, nested: boolean): GraphProto => {
    const g = ModelBuilder.create(17, name);
    if (nested) {
      const inner = g.op('If', [cond], { then_branch: branch(`${name}_then`, false), else_branch: branch(`${name}_else`, false) });
      g.op('Mul', [inner, one], {}, { outputs: [`${name}_out`] });
    } else {
      g.op('Add', [x, one], {}, { outputs: [`${name}_out`] });
    }
    g.output(`${name}_out`, DataType.FLOAT, [2, 3]);
    return g.graph;
  };
  const y = b.op('If', [cond], { then_branch: branch('then', true), else_branch: branch('else', false) }, { name: '/if/If' });
  const trip = b.int64s('trip', [3], []);
  const body = ModelBuilder.create(17, 'body');
  body.input('i', DataType.INT64, []);
  body.input('c_in', DataType.BOOL, []);
  body.input('acc', DataType.FLOAT, [2, 3]);
  body.op('Identity', ['c_in'], {}, { outputs: ['c_out'] });
  body.op('Add', ['acc', y], {}, { outputs: ['acc_out'] });
  body.output('c_out', DataType.BOOL, []);
  body.output('acc_out', DataType.FLOAT, [2, 3]);
  b.node('Loop', [trip, cond, x], { body: body.graph }, { name: '/loop/Loop', outputs: ['z'] });
  b.output('z', DataType.FLOAT, [2, 3]);
  return b.build();
}

function miscModel(): ModelProto {
  const b = ModelBuilder.create(21);
  const x = b.input('x', DataType.FLOAT, ['batch', 4]);
  const ends = b.int64s('ends', [9223372036854775807n]);
  const starts = b.int64s('starts', [-9223372036854775808n]);
  const s = b.op('Slice', [x, starts, ends], {}, { name: '/slice/Slice' });
  const k = b.op('Constant', [], { value: attr.tensor(emptyTensor({ name: 'k', dataType: DataType.FLOAT, dims: [1], floatData: [2] })) });
  const m = b.op('Mul', [s, k], {}, { name: '/mul/Mul' });
  b.node('CustomOp', [m], { mode: 'fast', scales: [0.5, 2], names: ['a', 'b'] }, { name: '/custom/Op', domain: 'local', outputs: ['y'] });
  b.useOpset('local', 1);
  b.output('y', DataType.FLOAT, ['batch', null]);
  const model = b.build();
  model.irVersion = 10;
  model.docString = 'fuzz subject';
  model.metadataProps.push({ key: 'author', value: 'camlens' });
  model.graph!.sparseInitializer.push({
    dims: [3, 3],
    values: emptyTensor({ name: 'sparse', dataType: DataType.FLOAT, dims: [2], rawData: new Uint8Array(8) }),
    indices: emptyTensor({ name: 'sparse_idx', dataType: DataType.INT64, dims: [2], rawData: new Uint8Array(16) }),
  });
  model.graph!.initializer.push(
    emptyTensor({
      name: 'words',
      dataType: DataType.STRING,
      dims: [2],
      stringData: [new TextEncoder().encode('a'), new TextEncoder().encode('bc')],
      segment: { begin: 0, end: 2 },
    }),
  );
  model.functions.push({
    name: 'CustomOp',
    domain: 'local',
    input: ['a'],
    output: ['b'],
    attribute: ['mode'],
    attributeProto: [],
    node: [{ input: ['a'], output: ['b'], opType: 'Relu', attribute: [], metadataProps: [], deviceConfigurations: [] }],
    opsetImport: [{ version: 21 }],
    valueInfo: [],
    metadataProps: [],
  });
  return model;
}

// ---------------------------------------------------------------------------------------------
// Mutations

/**
 * Two reusable buffers for variants: allocating (and zeroing) a fresh 14 MB array per variant
 * costs three times more than the copy itself. A variant never outlives the next one.
 */
class Scratch {
  private readonly buffers = [new Uint8Array(0), new Uint8Array(0)];

  /** `size` bytes that do not overlap `avoid` (the input being mutated). */
  take(size: number, avoid?: Uint8Array): Uint8Array {
    const i = avoid && this.buffers[0].buffer === avoid.buffer ? 1 : 0;
    if (this.buffers[i].length < size) this.buffers[i] = new Uint8Array(Math.ceil(size * 1.25) + 1024);
    return this.buffers[i].subarray(0, size);
  }

  copy(input: Uint8Array): Uint8Array {
    const out = this.take(input.length, input);
    out.set(input);
    return out;
  }
}

const scratch = new Scratch();
const joinParts = (parts: readonly (Uint8Array | number[])[], input: Uint8Array) => concat(parts, undefined, (n) => scratch.take(n, input));

interface Variant {
  bytes: Uint8Array;
  desc: string;
}

function structuralOffset(rng: Rng, s: Subject, limit: number): number {
  if (s.structuralSize === 0 || rng.chance(0.15)) return rng.int(limit);
  let k = rng.int(s.structuralSize);
  for (const [a, e] of s.structural) {
    if (k < e - a) return Math.min(a + k, Math.max(0, limit - 1));
    k -= e - a;
  }
  return rng.int(limit);
}

/** Length values that point past the end, or just a little too far, or absurdly far. */
function inflatedLength(rng: Rng, f: WireField, total: number): number {
  const len = f.end - f.dataStart;
  switch (rng.int(6)) {
    case 0:
      return len + 1 + rng.int(16);
    case 1:
      return total + rng.int(1 << 20);
    case 2:
      return 2 ** 31 - 1;
    case 3:
      return 2 ** 32 - 1;
    case 4:
      return 2 ** 32 + rng.int(1000);
    default:
      return 2 ** 53 - 1 - rng.int(1000);
  }
}

function byteMutation(rng: Rng, s: Subject, input: Uint8Array, others: readonly Subject[]): Variant {
  const n = input.length;
  const kind = rng.int(8);
  switch (kind) {
    case 0: {
      const at = structuralOffset(rng, s, n);
      return { bytes: input.subarray(0, at), desc: `truncate@${at}` };
    }
    case 1: {
      const out = scratch.copy(input);
      const flips = rng.range(1, 8);
      for (let i = 0; i < flips; i++) out[structuralOffset(rng, s, n)] ^= 1 + rng.int(255);
      return { bytes: out, desc: `flip x${flips}` };
    }
    case 2: {
      const out = scratch.copy(input);
      const at = structuralOffset(rng, s, n);
      const len = Math.min(rng.range(2, 64), n - at);
      for (let i = 0; i < len; i++) out[at + i] = rng.int(256);
      return { bytes: out, desc: `overwrite ${len}@${at}` };
    }
    case 3: {
      const out = scratch.copy(input);
      const at = structuralOffset(rng, s, n);
      const len = Math.min(rng.range(1, 256), n - at);
      out.fill(0, at, at + len);
      return { bytes: out, desc: `zero ${len}@${at}` };
    }
    case 4: {
      // a length prefix rewritten to point past the end of its message (or shrunk to cut it)
      const f = rng.pick(s.lengthFields);
      if (!f || f.end > n) return byteMutation(rng, s, input, others);
      const value = rng.chance(0.8) ? inflatedLength(rng, f, n) : rng.int(f.end - f.dataStart);
      const bytes = joinParts([input.subarray(0, f.lenPos), varint(value), input.subarray(f.dataStart)], input);
      return { bytes, desc: `length@${f.lenPos} ${f.end - f.dataStart}->${value}` };
    }
    case 5: {
      // a chunk duplicated in place, or moved elsewhere
      const a = structuralOffset(rng, s, n);
      const len = Math.min(rng.range(1, 512), n - a);
      const at = rng.chance(0.5) ? a + len : structuralOffset(rng, s, n);
      return { bytes: joinParts([input.subarray(0, at), input.subarray(a, a + len), input.subarray(at)], input), desc: `dup ${len}@${a}->${at}` };
    }
    case 6: {
      // a chunk of another model spliced in, replacing a chunk of this one
      const o = rng.pick(others.length ? others : [s]);
      const oa = structuralOffset(rng, o, o.bytes.length);
      const olen = Math.min(rng.range(1, 512), o.bytes.length - oa);
      const at = structuralOffset(rng, s, n);
      const cut = Math.min(rng.int(512), n - at);
      return {
        bytes: joinParts([input.subarray(0, at), o.bytes.subarray(oa, oa + olen), input.subarray(at + cut)], input),
        desc: `splice ${o.name}[${oa}+${olen}]@${at}-${cut}`,
      };
    }
    default: {
      // a whole length-delimited record repeated (bytes only, enclosing lengths left stale)
      const f = rng.pick(s.lengthFields);
      if (!f || f.end > n || f.end - f.start > 1 << 16) return byteMutation(rng, s, input, others);
      return { bytes: joinParts([input.subarray(0, f.end), input.subarray(f.start, f.end), input.subarray(f.end)], input), desc: `repeat-record@${f.start}` };
    }
  }
}

const INTERESTING = [0, 1, 2, 3, 7, 127, 128, 255, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 53 - 1];

/** Edits of the message tree that keep the protobuf well formed: lengths are recomputed. */
function treeMutation(rng: Rng, s: Subject): Variant {
  const edits: Edits = new Map();
  const count = rng.range(1, 3);
  const descs: string[] = [];
  for (let i = 0; i < count; i++) {
    switch (rng.int(7)) {
      case 0: {
        const f = rng.pick(s.all);
        edits.set(f, []);
        descs.push(`delete f${f.field}@${f.start}`);
        break;
      }
      case 1: {
        const f = rng.pick(s.all);
        edits.set(f, [f, f]);
        descs.push(`duplicate f${f.field}@${f.start}`);
        break;
      }
      case 2: {
        // a name swapped for another name: dangling inputs, cycles, duplicate producers
        const a = rng.pick(s.leaves);
        const b = rng.pick(s.leaves);
        if (a && b) {
          edits.set(a, [{ ...b, field: a.field, wireType: 2 }]);
          descs.push(`rename@${a.start}<-@${b.start}`);
        }
        break;
      }
      case 3: {
        // a field moved into another message (a node in a subgraph, an attribute on a tensor...)
        const m = rng.pick(s.messages);
        const g = rng.pick(s.all);
        // (never an ancestor into its own descendant: that tree would be infinite)
        if (m && g && !(g.start <= m.start && m.end <= g.end)) {
          const children = [...m.children!];
          children.splice(rng.int(children.length + 1), 0, g);
          edits.set(m, [{ ...m, children }]);
          descs.push(`insert f${g.field}@${g.start} into @${m.start}`);
        }
        break;
      }
      case 4: {
        const m = rng.pick(s.messages);
        if (m && m.children!.length > 1) {
          const children = [...m.children!];
          for (let k = children.length - 1; k > 0; k--) {
            const j = rng.int(k + 1);
            [children[k], children[j]] = [children[j], children[k]];
          }
          edits.set(m, [{ ...m, children }]);
          descs.push(`shuffle @${m.start}`);
        }
        break;
      }
      case 5: {
        const f = rng.pick(s.varints);
        if (f) {
          const minusOne = rng.chance(0.2);
          const value = rng.pick(INTERESTING);
          const v = minusOne ? [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01] : varint(value);
          edits.set(f, [{ ...f, value: Uint8Array.from(v) }]);
          descs.push(`varint@${f.start}=${minusOne ? -1 : value}`);
        }
        break;
      }
      default: {
        // a field re-tagged with another field number or wire type
        const f = rng.pick(s.all);
        const field = rng.chance(0.5) ? f.field : rng.range(1, 30);
        const wireType = rng.chance(0.5) ? f.wireType : rng.pick([0, 1, 2, 5]);
        const value = f.wireType === wireType ? f.value : wireType === 1 ? f.value.subarray(0, 8) : wireType === 5 ? f.value.subarray(0, 4) : f.value;
        const fixed =
          wireType === 1 || wireType === 5
            ? concat([value, new Uint8Array(wireType === 1 ? 8 : 4)]).subarray(0, wireType === 1 ? 8 : 4)
            : wireType === 0
              ? Uint8Array.from(varint(f.value.length))
              : value;
        edits.set(f, [{ ...f, field, wireType, value: fixed, children: wireType === 2 && f.wireType === 2 ? f.children : undefined }]);
        descs.push(`retag f${f.field}/${f.wireType}->f${field}/${wireType}@${f.start}`);
      }
    }
  }
  const parts: Uint8Array[] = [];
  const size = encodeWire(s.tree, edits, parts);
  return { bytes: concat(parts, size, (n) => scratch.take(n)), desc: `tree ${descs.join(', ')}` };
}

function mutate(rng: Rng, s: Subject, others: readonly Subject[]): Variant {
  if (rng.chance(0.35)) return treeMutation(rng, s);
  let v = byteMutation(rng, s, s.bytes, others);
  // sometimes stack a second or third byte-level mutation on the first
  for (let extra = rng.chance(0.25) ? rng.range(1, 2) : 0; extra > 0 && v.bytes.length > 0; extra--) {
    const next = byteMutation(rng, s, v.bytes, others);
    v = { bytes: next.bytes, desc: `${v.desc} + ${next.desc}` };
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Crafted models

type Expect = 'parsed' | 'MODEL_PARSE' | 'MODEL_INVALID' | 'typed';

interface Crafted {
  name: string;
  bytes: Uint8Array;
  expect: Expect;
  message?: RegExp;
}

const text = (s: string) => new TextEncoder().encode(s);
const lenField = (field: number, payload: Uint8Array | number[]) => [...varint(field * 8 + 2), ...varint(payload.length), ...payload];
const strField = (field: number, s: string) => lenField(field, text(s));
const intField = (field: number, v: number) => [...varint(field * 8), ...varint(v)];

/**
 * A model whose main graph holds an If whose then_branch holds an If ... `depth` levels deep,
 * encoded by hand from the inside out (protobufjs cannot encode what it would refuse to decode,
 * and concatenating level by level would copy quadratically).
 */
function nestedIfModel(depth: number): Uint8Array {
  const valueInfo = (name: string) => lenField(1, text(name));
  const innermost = Uint8Array.from([
    ...lenField(12, valueInfo(`y_${depth}`)),
    ...lenField(1, [...strField(1, 'cond'), ...strField(2, `y_${depth}`), ...strField(4, 'Identity')]),
  ]);
  const prefixes: number[][] = new Array(depth);
  let inner = innermost.length;
  for (let k = depth - 1; k >= 0; k--) {
    const attrHead = [...strField(1, 'then_branch'), ...intField(20, 5)];
    const attrSize = attrHead.length + varint(6 * 8 + 2).length + varint(inner).length + inner;
    const nodeHead = [...strField(1, 'cond'), ...strField(2, `y_${k}`), ...strField(3, `If_${k}`), ...strField(4, 'If')];
    const nodeSize = nodeHead.length + varint(5 * 8 + 2).length + varint(attrSize).length + attrSize;
    const graphHead = [...strField(2, `g_${k}`), ...(k === 0 ? lenField(11, valueInfo('cond')) : []), ...lenField(12, valueInfo(`y_${k}`))];
    prefixes[k] = [
      ...graphHead,
      ...varint(1 * 8 + 2),
      ...varint(nodeSize),
      ...nodeHead,
      ...varint(5 * 8 + 2),
      ...varint(attrSize),
      ...attrHead,
      ...varint(6 * 8 + 2),
      ...varint(inner),
    ];
    inner = graphHead.length + varint(1 * 8 + 2).length + varint(nodeSize).length + nodeSize;
  }
  const modelHead = [...intField(1, 8), ...lenField(8, intField(2, 17)), ...varint(7 * 8 + 2), ...varint(inner)];
  return concat([modelHead, ...prefixes, innermost]);
}

/** A graph input whose type is sequence<sequence<...<float>>> `depth` levels deep (inside out, as above). */
function nestedTypeModel(depth: number): Uint8Array {
  const innermost = Uint8Array.from(lenField(1, intField(1, 1))); // TypeProto { tensor_type { elem_type: FLOAT } }
  const prefixes: number[][] = new Array(depth);
  let inner = innermost.length;
  for (let k = depth - 1; k >= 0; k--) {
    // TypeProto { sequence_type (4) { elem_type (1): <inner TypeProto> } }
    const sequenceSize = varint(1 * 8 + 2).length + varint(inner).length + inner;
    prefixes[k] = [...varint(4 * 8 + 2), ...varint(sequenceSize), ...varint(1 * 8 + 2), ...varint(inner)];
    inner = prefixes[k].length + inner;
  }
  const name = strField(1, 'x');
  const valueInfoSize = name.length + varint(2 * 8 + 2).length + varint(inner).length + inner;
  const output = lenField(12, name);
  const graphSize = varint(11 * 8 + 2).length + varint(valueInfoSize).length + valueInfoSize + output.length;
  const head = [
    ...intField(1, 8),
    ...varint(7 * 8 + 2),
    ...varint(graphSize),
    ...varint(11 * 8 + 2),
    ...varint(valueInfoSize),
    ...name,
    ...varint(2 * 8 + 2),
    ...varint(inner),
  ];
  return concat([head, ...prefixes, innermost, output]);
}

function graphModel(edit: (b: ModelBuilder) => void, extra?: (g: GraphProto) => void): Uint8Array {
  const b = ModelBuilder.create(17);
  b.input('x', DataType.FLOAT, [1, 4]);
  edit(b);
  const model = b.build();
  extra?.(model.graph!);
  return serializeModel(model);
}

const rawNode = (opType: string, input: string[], output: string[], name?: string): NodeProto => ({
  input,
  output,
  opType,
  ...(name ? { name } : {}),
  attribute: [],
  metadataProps: [],
  deviceConfigurations: [],
});

function craftedModels(): Crafted[] {
  const out: Crafted[] = [];
  out.push({ name: 'nested sequence type x3', bytes: nestedTypeModel(3), expect: 'parsed' });
  for (const depth of [1, 2, 8, 16, 24]) out.push({ name: `nested If x${depth}`, bytes: nestedIfModel(depth), expect: 'parsed' });
  for (const depth of [32, 33, 34, 40, 64, 65, 200, 1000]) out.push({ name: `nested If x${depth}`, bytes: nestedIfModel(depth), expect: 'typed' });
  out.push({ name: 'nested If x10000', bytes: nestedIfModel(10_000), expect: 'MODEL_PARSE', message: /nested too deeply/ });
  out.push({ name: 'nested sequence type x10000', bytes: nestedTypeModel(10_000), expect: 'MODEL_PARSE', message: /nested too deeply/ });
  // an unknown field made of 100,000 nested start-group tags
  out.push({
    name: 'nested groups x100000',
    bytes: concat([Uint8Array.from([...intField(1, 8)]), new Uint8Array(100_000).fill(15 * 8 + 3)]),
    expect: 'MODEL_PARSE',
  });
  out.push({
    name: 'graph length 2^32-1',
    bytes: Uint8Array.from([...intField(1, 8), ...varint(7 * 8 + 2), ...varint(2 ** 32 - 1), 0, 0]),
    expect: 'MODEL_PARSE',
  });
  out.push({
    name: 'graph length 2^53-1',
    bytes: Uint8Array.from([...intField(1, 8), ...varint(7 * 8 + 2), ...varint(2 ** 53 - 1), 0, 0]),
    expect: 'MODEL_PARSE',
  });

  out.push({
    name: 'dangling input',
    expect: 'MODEL_INVALID',
    message: /"ghost".*no node, input or initializer/,
    bytes: graphModel((b) => {
      b.op('Add', ['x', 'ghost'], {}, { outputs: ['y'] });
      b.output('y');
    }),
  });
  out.push({
    name: 'dangling outer-scope read in a subgraph',
    expect: 'MODEL_INVALID',
    message: /"ghost"/,
    bytes: graphModel((b) => {
      const then = ModelBuilder.create(17, 'then');
      then.op('Identity', ['ghost'], {}, { outputs: ['t'] });
      then.output('t');
      b.op('If', ['x'], { then_branch: then.graph, else_branch: then.graph }, { outputs: ['y'] });
      b.output('y');
    }),
  });
  out.push({
    name: 'graph output nobody produces',
    expect: 'MODEL_INVALID',
    message: /"nothing"/,
    bytes: graphModel((b) => {
      b.op('Relu', ['x'], {}, { outputs: ['y'] });
      b.output('nothing');
    }),
  });
  out.push({
    name: 'two-node cycle',
    expect: 'MODEL_INVALID',
    message: /cycle/,
    bytes: graphModel(
      (b) => b.output('a'),
      (g) => {
        g.node.push(rawNode('Relu', ['b'], ['a'], 'first'), rawNode('Relu', ['a'], ['b'], 'second'));
      },
    ),
  });
  out.push({
    name: 'self cycle',
    expect: 'MODEL_INVALID',
    message: /cycle/,
    bytes: graphModel(
      (b) => b.output('a'),
      (g) => {
        g.node.push(rawNode('Add', ['x', 'a'], ['a'], 'loop'));
      },
    ),
  });
  out.push({
    name: 'duplicate producers',
    expect: 'MODEL_INVALID',
    message: /produced twice/,
    bytes: graphModel(
      (b) => b.output('y'),
      (g) => {
        g.node.push(rawNode('Relu', ['x'], ['y'], 'one'), rawNode('Sigmoid', ['x'], ['y'], 'two'));
      },
    ),
  });
  out.push({
    name: 'node writes a graph input',
    expect: 'MODEL_INVALID',
    message: /already a graph input/,
    bytes: graphModel(
      (b) => b.output('x'),
      (g) => {
        g.node.push(rawNode('Relu', ['x'], ['x'], 'overwrite'));
      },
    ),
  });
  // (Graph building was quadratic in the width of a graph: 50,000 readers took minutes)
  out.push({
    name: '50,000 nodes reading one input',
    expect: 'parsed',
    bytes: graphModel(
      (b) => b.output('y0'),
      (g) => {
        for (let i = 0; i < 50_000; i++) g.node.push(rawNode('Relu', ['x'], [`y${i}`]));
      },
    ),
  });
  out.push({
    name: '20,000-node chain, in reverse file order',
    expect: 'parsed',
    bytes: graphModel(
      (b) => b.output('y19999'),
      (g) => {
        for (let i = 19_999; i >= 0; i--) g.node.push(rawNode('Relu', [i === 0 ? 'x' : `y${i - 1}`], [`y${i}`]));
      },
    ),
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// The loop (runs in the worker)

type Outcome = 'parsed' | 'MODEL_PARSE' | 'MODEL_INVALID';

interface Failure {
  subject: string;
  variant: number;
  desc: string;
  error: string;
  file?: string;
}

interface FuzzReport {
  seed: number;
  fixtures: string[];
  elapsedMs: number;
  total: number;
  counts: Record<string, number>;
  perSubject: Record<string, Record<string, number>>;
  /** Milliseconds spent per subject, mutating and checking. */
  subjectMs: Record<string, number>;
  slowest: { ms: number; subject: string; desc: string };
  failures: Failure[];
}

function check(bytes: Uint8Array, source: string): { outcome: Outcome; message?: string } | { error: unknown } {
  try {
    Graph.fromModel(parseModel(bytes, source), source);
    return { outcome: 'parsed' };
  } catch (e) {
    if (e instanceof CamLensError && (e.code === 'MODEL_PARSE' || e.code === 'MODEL_INVALID')) return { outcome: e.code, message: e.message };
    return { error: e };
  }
}

const describeError = (e: unknown): string => {
  if (e instanceof CamLensError) return `CamLensError(${e.code}): ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  return `non-Error thrown: ${String(e)}`;
};

/** progress[0]: variants checked so far; bytes after 8: the current variant's description. */
function runFuzz(seed: number, progress: Int32Array, current: Uint8Array): FuzzReport {
  const rng = new Rng(seed);
  const subjects: Subject[] = [];
  const builders: Array<[string, Uint8Array]> = [
    ['builder:cnn', serializeModel(cnnModel(new Rng(seed ^ 1)))],
    ['builder:control-flow', serializeModel(controlFlowModel())],
    ['builder:misc', serializeModel(miscModel())],
  ];
  for (const [name, bytes] of builders) subjects.push(makeSubject(name, bytes, Math.ceil(BUILDER_VARIANTS / builders.length)));
  const fixtures: string[] = [];
  for (const m of fixtureModels().filter((f) => FIXTURE_NAMES.includes(f.name) && existsSync(f.path))) {
    fixtures.push(m.name);
    {
      const bytes = readFileSync(m.path);
      subjects.push(makeSubject(m.name, bytes, bytes.byteLength > 4_000_000 ? VARIANTS_PER_LARGE_FIXTURE : VARIANTS_PER_FIXTURE));
    }
  }

  const report: FuzzReport = {
    seed,
    fixtures,
    elapsedMs: 0,
    total: 0,
    counts: {},
    perSubject: {},
    subjectMs: {},
    slowest: { ms: 0, subject: '', desc: '' },
    failures: [],
  };
  const encoder = new TextEncoder();
  const started = performance.now();
  const run = (subject: string, variant: number, v: Variant, expect?: Expect, message?: RegExp) => {
    const label = `${subject}#${variant}: ${v.desc}`;
    current.fill(0);
    current.set(encoder.encode(label).subarray(0, current.length));
    const t0 = performance.now();
    const result = check(v.bytes, `fuzz ${subject}`);
    const ms = performance.now() - t0;
    if (ms > report.slowest.ms) report.slowest = { ms, subject, desc: v.desc };
    Atomics.add(progress, 0, 1);
    report.total++;
    let problem: string | undefined;
    if ('error' in result) problem = describeError(result.error);
    else {
      report.counts[result.outcome] = (report.counts[result.outcome] ?? 0) + 1;
      const per = (report.perSubject[subject] ??= {});
      per[result.outcome] = (per[result.outcome] ?? 0) + 1;
      // 'typed': either outcome is right (where the line falls depends on protobufjs's depth limit)
      if (expect && expect !== 'typed' && expect !== result.outcome)
        problem = `expected ${expect}, got ${result.outcome}${result.message ? `: ${result.message}` : ''}`;
      else if (message && !message.test(result.message ?? '')) problem = `message ${JSON.stringify(result.message)} does not match ${message}`;
    }
    if (problem) {
      const failure: Failure = { subject, variant, desc: v.desc, error: problem };
      if (report.failures.length < 20) {
        failure.file = join(tmpdir(), `camlens-fuzz-${seed}-${report.failures.length}.onnx`);
        try {
          writeFileSync(failure.file, v.bytes);
        } catch {
          delete failure.file;
        }
      }
      report.failures.push(failure);
    }
  };

  let t0 = performance.now();
  for (const c of craftedModels()) run('crafted', 0, { bytes: c.bytes, desc: c.name }, c.expect, c.message);
  report.subjectMs.crafted = performance.now() - t0;
  for (const s of subjects) {
    t0 = performance.now();
    const others = subjects.filter((o) => o !== s);
    for (let i = 0; i < s.variants; i++) run(s.name, i, mutate(rng, s, others));
    report.subjectMs[s.name] = performance.now() - t0;
  }
  report.elapsedMs = performance.now() - started;
  return report;
}

// ---------------------------------------------------------------------------------------------
// The test (main thread): start the worker, watch for stalls, report.

function runInWorker(seed: number): Promise<FuzzReport> {
  const shared = new SharedArrayBuffer(8 + 1024);
  const progress = new Int32Array(shared, 0, 2);
  const current = new Uint8Array(shared, 8);
  // A stack close to the main thread's, so recursion that would overflow there overflows here.
  const worker = new Worker(__filename, { workerData: { camlensFuzz: { seed, shared } }, resourceLimits: { stackSizeMb: 1 } });
  return new Promise((resolve, reject) => {
    let last = -1;
    let lastChange = Date.now();
    const started = Date.now();
    const watchdog = setInterval(() => {
      const now = Atomics.load(progress, 0);
      if (now !== last) {
        last = now;
        lastChange = Date.now();
      }
      const stuck = Date.now() - lastChange > STALL_MS;
      const tooLong = Date.now() - started > 2 * TIME_LIMIT_MS;
      if (stuck || tooLong) {
        const label = new TextDecoder().decode(current).replace(/\0+$/, '');
        clearInterval(watchdog);
        void worker.terminate();
        reject(
          new Error(
            `fuzz loop ${stuck ? `made no progress for ${STALL_MS} ms` : `ran past ${2 * TIME_LIMIT_MS} ms`} (seed ${seed}, ${now} variants done); stuck on ${label}`,
          ),
        );
      }
    }, 500);
    worker.once('message', (report: FuzzReport) => {
      clearInterval(watchdog);
      resolve(report);
    });
    worker.once('error', (e) => {
      clearInterval(watchdog);
      const label = new TextDecoder().decode(current).replace(/\0+$/, '');
      reject(new Error(`fuzz worker died on ${label} (seed ${seed}): ${describeError(e)}`));
    });
    worker.once('exit', (code) => {
      clearInterval(watchdog);
      reject(new Error(`fuzz worker exited with code ${code} before reporting`));
    });
  });
}

if (!isMainThread && workerData?.camlensFuzz) {
  const { seed, shared } = workerData.camlensFuzz as { seed: number; shared: SharedArrayBuffer };
  parentPort!.postMessage(runFuzz(seed, new Int32Array(shared, 0, 2), new Uint8Array(shared, 8)));
} else if (isMainThread) {
  describe('parser fuzzing', () => {
    it('every damaged or crafted model parses and builds a Graph, or raises MODEL_PARSE / MODEL_INVALID', { timeout: 4 * TIME_LIMIT_MS }, async (t) => {
      const seed = process.env.CAMLENS_FUZZ_SEED ? Number(process.env.CAMLENS_FUZZ_SEED) : DEFAULT_SEED;
      const report = await runInWorker(seed);
      if (report.fixtures.length === 0) {
        t.diagnostic(`shared fixtures ${FIXTURES_DIR ? 'lack the small models' : 'not found'}: fuzzing builder-made models only (${report.total} variants)`);
      } else {
        t.diagnostic(`fixtures fuzzed: ${report.fixtures.join(', ')}`);
      }
      t.diagnostic(`seed ${report.seed}: ${report.total} variants in ${report.elapsedMs.toFixed(0)} ms; outcomes ${JSON.stringify(report.counts)}`);
      for (const [name, counts] of Object.entries(report.perSubject)) {
        t.diagnostic(`  ${name}: ${JSON.stringify(counts)} in ${report.subjectMs[name]?.toFixed(0)} ms`);
      }
      t.diagnostic(`slowest variant: ${report.slowest.ms.toFixed(1)} ms (${report.slowest.subject}: ${report.slowest.desc})`);

      const shown = report.failures
        .slice(0, 5)
        .map((f) => `- ${f.subject}#${f.variant} [${f.desc}]${f.file ? ` (bytes in ${f.file})` : ''}\n  ${f.error.replace(/\n/g, '\n  ')}`);
      ok(
        report.failures.length === 0,
        `${report.failures.length} variants ended in something other than a typed MODEL_PARSE/MODEL_INVALID error (seed ${seed}):\n${shown.join('\n')}`,
      );
      ok(report.total >= 2000, `only ${report.total} variants ran`);
      ok(report.elapsedMs < TIME_LIMIT_MS, `the fuzz loop took ${report.elapsedMs.toFixed(0)} ms (limit ${TIME_LIMIT_MS} ms)`);
    });
  });
}
