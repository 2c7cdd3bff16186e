// The model zoo of issue 15, built with the DSL: one small CNN in the forms models come in from
// the wild (fp16, mixed precision, float64, QDQ, dynamic-quantized, QLinearConv, 1- and 4-channel,
// NHWC, several inputs, dynamic H/W). Each entry names its float reference (the float32 model it
// was derived from), so tests and bench/zoo.mjs can check that the map agrees.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { explain } from '../../src/engine/explain';
import type { ExplainResult } from '../../src/engine/explainTypes';
import { pearson } from '../../src/engine/metrics/stats';
import { DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { serializeModel } from '../../src/engine/onnx/io';
import type { SessionCache } from '../../src/engine/runtime/sessions';
import type { ModelProto } from '../../src/engine/onnx/types';
import { randomArray } from './models';

/** The value every zoo model exposes as its CAM layer (the second block's ReLU, 16×16×16). */
export const ZOO_LAYER = 'features';
/** Preprocessing that keeps x = pixel/255, so that channel conversions have exact float twins. */
export const UNIT_CONFIG = { input: { scale: 255, mean: [0, 0, 0], std: [1, 1, 1] } };

type Precision = 'float32' | 'float16' | 'float64' | 'mixed';

interface CnnOptions {
  precision?: Precision;
  /** Input channels (1, 3 or 4). */
  channels?: number;
  layout?: 'NCHW' | 'NHWC';
  /** Input [H, W] dims; strings make them symbolic. */
  size?: [number | string, number | string];
  /** First conv's weights (default: random for `channels`). */
  conv1?: Float32Array;
}

const W = {
  conv1: (c: number) => randomArray(8 * c * 9, 11),
  conv2: () => randomArray(16 * 8 * 9, 12, 0.3),
  // Class 0 weighs every feature positively, so that its Grad-CAM map is not all zero.
  fc: () => randomArray(4 * 16, 13).map((v, i) => (i < 16 ? Math.abs(v) + 0.05 : v)),
  fcBias: () => randomArray(4, 14, 0.1),
};

/**
 * input → conv 3×3 (8) → ReLU → conv 3×3 stride 2 (16) → ReLU (`features`) → GAP → Gemm (4 logits).
 * float16: every tensor in fp16; mixed: the second block in fp16 between Casts; float64: every
 * value in float64 but the convolutions (onnxruntime's CPU provider has no float64 Conv).
 */
export function zooCnn(options: CnnOptions = {}): ModelProto {
  const precision = options.precision ?? 'float32';
  const c = options.channels ?? 3;
  const [h, w] = options.size ?? [32, 32];
  const outer = precision === 'float16' ? DataType.FLOAT16 : precision === 'float64' ? DataType.DOUBLE : DataType.FLOAT;
  const b = ModelBuilder.create(17);
  const nhwc = options.layout === 'NHWC';
  let x = b.input('input', outer, nhwc ? [1, h, w, c] : [1, c, h, w]);
  if (nhwc) x = b.op('Transpose', [x], { perm: [0, 3, 1, 2] }, { name: '/to_nchw' });
  const convType = precision === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
  const to = (v: string, dtype: DataType) => b.op('Cast', [v], { to: dtype });
  if (precision === 'float64') x = to(x, DataType.FLOAT);
  const c1 = b.op('Conv', [x, b.initializer('conv1.weight', convType, [8, c, 3, 3], options.conv1 ?? W.conv1(c))], {
    pads: [1, 1, 1, 1],
    kernel_shape: [3, 3],
  });
  let r1 = b.op('Relu', [precision === 'float64' ? to(c1, DataType.DOUBLE) : c1], {}, { name: '/block1/relu' });
  if (precision === 'float64') r1 = to(r1, DataType.FLOAT);
  const block2 = precision === 'mixed' ? DataType.FLOAT16 : convType;
  if (precision === 'mixed') r1 = to(r1, DataType.FLOAT16);
  const c2 = b.op('Conv', [r1, b.initializer('conv2.weight', block2, [16, 8, 3, 3], W.conv2())], { pads: [1, 1, 1, 1], strides: [2, 2], kernel_shape: [3, 3] });
  b.op('Relu', [precision === 'float64' ? to(c2, DataType.DOUBLE) : c2], {}, { name: '/block2/relu', outputs: [ZOO_LAYER] });
  const back = precision === 'mixed' ? to(ZOO_LAYER, DataType.FLOAT) : ZOO_LAYER;
  head(b, back, outer);
  return b.build();
}

/** GAP → Flatten → Gemm into `logits` [1, 4] of element type `dtype`. */
function head(b: ModelBuilder, features: string, dtype: DataType): void {
  // onnxruntime's CPU provider has GlobalAveragePool in float32/float16 only; ReduceMean covers float64
  const gap =
    dtype === DataType.DOUBLE
      ? b.op('ReduceMean', [features], { axes: [2, 3], keepdims: 1 }, { name: '/pool' })
      : b.op('GlobalAveragePool', [features], {}, { name: '/pool' });
  const flat = b.op('Flatten', [gap], { axis: 1 });
  b.op(
    'Gemm',
    [flat, b.initializer('fc.weight', dtype, [4, 16], W.fc()), b.initializer('fc.bias', dtype, [4], W.fcBias())],
    { transB: 1 },
    { outputs: ['logits'] },
  );
  b.output('logits', dtype, [1, 4]);
}

/** Symmetric int8 quantization of `values` per output channel (axis 0 of a conv weight). */
function quantizePerChannel(values: Float32Array, channels: number): { q: Int8Array; scales: number[] } {
  const per = values.length / channels;
  const scales: number[] = [];
  const q = new Int8Array(values.length);
  for (let o = 0; o < channels; o++) {
    let max = 0;
    for (let i = 0; i < per; i++) max = Math.max(max, Math.abs(values[o * per + i]));
    const s = max / 127 || 1;
    scales.push(s);
    for (let i = 0; i < per; i++) q[o * per + i] = Math.round(values[o * per + i] / s);
  }
  return { q, scales };
}

/** Activation ranges used for the static quantization below (inputs x = pixel/255 in [0, 1]). */
const ACT_SCALE = { input: 1 / 255, block1: 1 / 16 };

/**
 * The float CNN as a QDQ model (what onnxruntime's static quantizer writes): int8 per-channel
 * weights behind DequantizeLinear, uint8 activations through QuantizeLinear → DequantizeLinear.
 */
export function zooQdq(): ModelProto {
  const b = ModelBuilder.create(17);
  const qdq = (v: string, scale: number, tag: string) => {
    const s = b.floats(`${tag}.scale`, [], [scale]);
    const zp = b.initializer(`${tag}.zp`, DataType.UINT8, [], [0]);
    return b.op('DequantizeLinear', [b.op('QuantizeLinear', [v, s, zp]), s, zp]);
  };
  const weight = (name: string, values: Float32Array, dims: number[]) => {
    const { q, scales } = quantizePerChannel(values, dims[0]);
    return b.op('DequantizeLinear', [b.initializer(`${name}_q`, DataType.INT8, dims, q), b.floats(`${name}_scale`, [dims[0]], scales)], { axis: 0 });
  };
  const x = qdq(b.input('input', DataType.FLOAT, [1, 3, 32, 32]), ACT_SCALE.input, 'input');
  const c1 = b.op('Conv', [x, weight('conv1.weight', W.conv1(3), [8, 3, 3, 3])], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] });
  const r1 = qdq(b.op('Relu', [c1]), ACT_SCALE.block1, 'block1');
  const c2 = b.op('Conv', [r1, weight('conv2.weight', W.conv2(), [16, 8, 3, 3])], { pads: [1, 1, 1, 1], strides: [2, 2], kernel_shape: [3, 3] });
  b.op('Relu', [c2], {}, { outputs: [ZOO_LAYER] });
  // the gradient from the logits to `features` crosses a quantizer
  head(b, qdq(ZOO_LAYER, 1 / 8, 'features'), DataType.FLOAT);
  return b.build();
}

/**
 * The float CNN as onnxruntime's dynamic quantizer writes it: DynamicQuantizeLinear on the
 * activations, ConvInteger/MatMulInteger on uint8 weights, the int32 result cast to float and
 * scaled by activation scale × weight scale.
 */
export function zooDynamic(): ModelProto {
  const b = ModelBuilder.create(17);
  const convInteger = (x: string, name: string, values: Float32Array, dims: number[], attrs: Record<string, number[]>) => {
    let max = 0;
    for (const v of values) max = Math.max(max, Math.abs(v));
    const s = max / 127;
    const wq = b.initializer(
      `${name}_q`,
      DataType.UINT8,
      dims,
      Array.from(values, (v) => Math.round(v / s) + 128),
    );
    const [xq, xs, xzp] = b.node('DynamicQuantizeLinear', [x], {}, { outputCount: 3 });
    const acc = b.op('ConvInteger', [xq, wq, xzp, b.initializer(`${name}_zp`, DataType.UINT8, [], [128])], attrs);
    return b.op('Mul', [b.op('Cast', [acc], { to: DataType.FLOAT }), b.op('Mul', [xs, b.floats(`${name}_scale`, [], [s])])]);
  };
  const x = b.input('input', DataType.FLOAT, [1, 3, 32, 32]);
  const r1 = b.op('Relu', [convInteger(x, 'conv1.weight', W.conv1(3), [8, 3, 3, 3], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] })]);
  const c2 = convInteger(r1, 'conv2.weight', W.conv2(), [16, 8, 3, 3], { pads: [1, 1, 1, 1], strides: [2, 2], kernel_shape: [3, 3] });
  b.op('Relu', [c2], {}, { outputs: [ZOO_LAYER] });
  const flat = b.op('Flatten', [b.op('GlobalAveragePool', [ZOO_LAYER])], { axis: 1 });
  // fc as MatMulInteger on the transposed weight [16, 4]
  const fc = W.fc();
  const wt = Float32Array.from({ length: 64 }, (_, i) => fc[(i % 4) * 16 + Math.floor(i / 4)]);
  let max = 0;
  for (const v of wt) max = Math.max(max, Math.abs(v));
  const s = max / 127;
  const [xq, xs, xzp] = b.node('DynamicQuantizeLinear', [flat], {}, { outputCount: 3 });
  const wq = b.initializer(
    'fc_q',
    DataType.UINT8,
    [16, 4],
    Array.from(wt, (v) => Math.round(v / s) + 128),
  );
  const acc = b.op('MatMulInteger', [xq, wq, xzp, b.initializer('fc_zp', DataType.UINT8, [], [128])]);
  const scaled = b.op('Mul', [b.op('Cast', [acc], { to: DataType.FLOAT }), b.op('Mul', [xs, b.floats('fc_scale', [], [s])])]);
  b.op('Add', [scaled, b.floats('fc.bias', [4], W.fcBias())], {}, { outputs: ['logits'] });
  b.output('logits', DataType.FLOAT, [1, 4]);
  return b.build();
}

/** The float CNN with QLinearConv layers (uint8 activations, int8 per-channel weights, int32 bias 0). */
export function zooQLinear(): ModelProto {
  const b = ModelBuilder.create(17);
  const scalar = (name: string, v: number) => b.floats(name, [], [v]);
  const zp = (name: string) => b.initializer(name, DataType.UINT8, [], [0]);
  const qconv = (
    xq: string,
    xs: string,
    xzp: string,
    name: string,
    values: Float32Array,
    dims: number[],
    ys: string,
    yzp: string,
    attrs: Record<string, number[]>,
  ) => {
    const { q, scales } = quantizePerChannel(values, dims[0]);
    const w = b.initializer(`${name}_q`, DataType.INT8, dims, q);
    const wzp = b.initializer(`${name}_zp`, DataType.INT8, [dims[0]], new Array(dims[0]).fill(0));
    return b.op('QLinearConv', [xq, xs, xzp, w, b.floats(`${name}_scale`, [dims[0]], scales), wzp, ys, yzp], attrs);
  };
  const [s0, z0, s1, z1] = [scalar('input.scale', ACT_SCALE.input), zp('input.zp'), scalar('block1.scale', ACT_SCALE.block1), zp('block1.zp')];
  const xq = b.op('QuantizeLinear', [b.input('input', DataType.FLOAT, [1, 3, 32, 32]), s0, z0]);
  // uint8 outputs with zero point 0 clip at 0: QLinearConv followed by nothing is conv + ReLU.
  const r1q = qconv(xq, s0, z0, 'conv1.weight', W.conv1(3), [8, 3, 3, 3], s1, z1, { pads: [1, 1, 1, 1], kernel_shape: [3, 3] });
  const c2 = b.op('DequantizeLinear', [
    qconv(r1q, s1, z1, 'conv2.weight', W.conv2(), [16, 8, 3, 3], scalar('block2.scale', 1 / 16), b.initializer('block2.zp', DataType.UINT8, [], [128]), {
      pads: [1, 1, 1, 1],
      strides: [2, 2],
      kernel_shape: [3, 3],
    }),
    scalar('block2.dq_scale', 1 / 16),
    b.initializer('block2.dq_zp', DataType.UINT8, [], [128]),
  ]);
  b.op('Relu', [c2], {}, { outputs: [ZOO_LAYER] });
  // head: GAP → QuantizeLinear → QLinearMatMul (int8 per-column weights) → DequantizeLinear → + bias
  const flat = b.op('Flatten', [b.op('GlobalAveragePool', [ZOO_LAYER])], { axis: 1 });
  const [sf, zf] = [scalar('pooled.scale', 1 / 128), zp('pooled.zp')];
  const fc = W.fc();
  const wt = Float32Array.from({ length: 64 }, (_, i) => fc[(i % 4) * 16 + Math.floor(i / 4)]); // [16, 4]
  const scales = [0, 1, 2, 3].map((n) => Math.max(...Array.from({ length: 16 }, (_, k) => Math.abs(wt[k * 4 + n]))) / 127);
  const wq = b.initializer(
    'fc_q',
    DataType.INT8,
    [16, 4],
    Array.from(wt, (v, k) => Math.round(v / scales[k % 4])),
  );
  const [ys, yz] = [scalar('logits.scale', 1 / 64), b.initializer('logits.zp', DataType.UINT8, [], [128])];
  const mm = b.op('QLinearMatMul', [
    b.op('QuantizeLinear', [flat, sf, zf]),
    sf,
    zf,
    wq,
    b.floats('fc_scale', [4], scales),
    b.initializer('fc_zp', DataType.INT8, [4], [0, 0, 0, 0]),
    ys,
    yz,
  ]);
  b.op('Add', [b.op('DequantizeLinear', [mm, ys, yz]), b.floats('fc.bias', [4], W.fcBias())], {}, { outputs: ['logits'] });
  b.output('logits', DataType.FLOAT, [1, 4]);
  return b.build();
}

/** Grayscale weights of ITU-R BT.601 (what the 1-channel conversion uses). */
export const LUMA = [0.299, 0.587, 0.114];

/** A 3-channel first conv equivalent to the 1-channel one on the grayscale image (x = pixel/255). */
export function lumaConv1(): Float32Array {
  const gray = W.conv1(1);
  const out = new Float32Array(8 * 3 * 9);
  for (let o = 0; o < 8; o++) for (let c = 0; c < 3; c++) for (let k = 0; k < 9; k++) out[(o * 3 + c) * 9 + k] = gray[o * 9 + k] * LUMA[c];
  return out;
}

/** The float32 CNN (both blocks and the head) on `x`, built into `b`. */
function floatCnnFrom(b: ModelBuilder, x: string): ModelProto {
  const c1 = b.op('Conv', [x, b.floats('conv1.weight', [8, 3, 3, 3], W.conv1(3))], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] });
  const c2 = b.op('Conv', [b.op('Relu', [c1]), b.floats('conv2.weight', [16, 8, 3, 3], W.conv2())], {
    pads: [1, 1, 1, 1],
    strides: [2, 2],
    kernel_shape: [3, 3],
  });
  b.op('Relu', [c2], {}, { outputs: [ZOO_LAYER] });
  head(b, ZOO_LAYER, DataType.FLOAT);
  return b.build();
}

/**
 * Several inputs: a float `gain` (listed first), the image, an int64 `shift` and an optional
 * float `bias` whose default is an initializer. logits = CNN(image·gain + shift + bias).
 */
export function zooMultiInput(): ModelProto {
  const b = ModelBuilder.create(17);
  const gain = b.input('gain', DataType.FLOAT, [1]);
  const x = b.input('image', DataType.FLOAT, [1, 3, 32, 32]);
  const shift = b.input('shift', DataType.INT64, [1]);
  b.graph.input.push({ name: 'bias', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } } }, metadataProps: [] });
  b.floats('bias', [1], [0.25]);
  const scaled = b.op('Add', [b.op('Add', [b.op('Mul', [x, gain]), b.op('Cast', [shift], { to: DataType.FLOAT })]), 'bias']);
  return floatCnnFrom(b, scaled);
}

/** The multi-input model's float twin for gain 0.5, shift 1, bias 0.25: the input affine map in the graph. */
export function zooMultiInputReference(): ModelProto {
  const b = ModelBuilder.create(17);
  const x = b.input('input', DataType.FLOAT, [1, 3, 32, 32]);
  const scaled = b.op('Add', [b.op('Mul', [x, b.floats('gain', [1], [0.5])]), b.floats('offset', [1], [1.25])]);
  return floatCnnFrom(b, scaled);
}

export interface ZooEntry {
  name: string;
  category: 'dtype' | 'quantized' | 'input';
  model: () => ModelProto;
  /** Sidecar config (<model>.camlens.json). */
  config?: object;
  /** The float model this one was derived from, with its own config; absent when there is none. */
  reference?: { model: () => ModelProto; config?: object };
  /** Lowest Pearson correlation of the map with the reference's, and why it is below 0.999. */
  minPearson?: number;
  why?: string;
  /** An image with an alpha channel is needed. */
  alpha?: boolean;
}

const unit = (extra: Record<string, unknown> = {}) => ({ input: { ...UNIT_CONFIG.input, ...extra } });

/** A model derived from the float32 CNN, compared with it (Pearson ≥ `minPearson`, for the reason given). */
const derived = (name: string, category: ZooEntry['category'], model: () => ModelProto, minPearson?: number, why?: string): ZooEntry => ({
  name,
  category,
  model,
  config: unit(),
  reference: { model: () => zooCnn(), config: unit() },
  ...(minPearson ? { minPearson, why } : {}),
});

export const ZOO: readonly ZooEntry[] = [
  { name: 'float32', category: 'dtype', model: () => zooCnn(), config: unit() },
  derived('float16', 'dtype', () => zooCnn({ precision: 'float16' }), 0.99, 'fp16 arithmetic (eps 1e-3)'),
  derived('mixed fp16', 'dtype', () => zooCnn({ precision: 'mixed' }), 0.99, 'the second block in fp16'),
  derived('float64', 'dtype', () => zooCnn({ precision: 'float64' })),
  // the twin's weights are the int8/uint8 ones; the reference's are float
  derived('QDQ int8', 'quantized', zooQdq, 0.99, 'int8 weights'),
  derived('dynamic uint8', 'quantized', zooDynamic, 0.99, 'uint8 weights'),
  derived('QLinearConv', 'quantized', zooQLinear, 0.99, 'int8 weights'),
  {
    name: '1-channel',
    category: 'input',
    model: () => zooCnn({ channels: 1 }),
    config: unit(),
    reference: { model: () => zooCnn({ conv1: lumaConv1() }), config: unit() },
  },
  {
    name: 'NHWC RGBA',
    category: 'input',
    model: () => zooCnn({ channels: 4, layout: 'NHWC' }),
    config: unit({ alpha: 'keep', layout: 'NHWC' }),
    reference: { model: () => zooCnn({ channels: 4 }), config: unit({ alpha: 'keep' }) },
    alpha: true,
  },
  {
    name: 'multi-input',
    category: 'input',
    model: zooMultiInput,
    config: { ...unit(), inputs: { gain: { value: 0.5 }, shift: { value: 1 } } },
    reference: { model: zooMultiInputReference, config: unit() },
  },
  {
    name: 'dynamic H/W',
    category: 'input',
    model: () => zooCnn({ size: ['height', 'width'] }),
    config: unit(),
    reference: { model: () => zooCnn({ size: [64, 64] }), config: unit() },
  },
];

/** The zoo's test picture (demo star, 64×64) and, for alpha models, the same with a left-to-right alpha ramp. */
export async function zooImages(dir: string): Promise<{ rgb: string; rgba: string }> {
  mkdirSync(dir, { recursive: true });
  const rgb = 'demo/images/star_1.png';
  const { data, info } = await sharp(rgb).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const rgba = Buffer.alloc(info.width * info.height * 4);
  for (let i = 0; i < info.width * info.height; i++) {
    data.copy(rgba, i * 4, i * 3, i * 3 + 3);
    rgba[i * 4 + 3] = 64 + Math.round((191 * (i % info.width)) / (info.width - 1));
  }
  const file = join(dir, 'star_rgba.png');
  await sharp(rgba, { raw: { width: info.width, height: info.height, channels: 4 } })
    .png()
    .toFile(file);
  return { rgb, rgba: file };
}

export interface ZooResult {
  result: ExplainResult;
  ms: number;
  /** Pearson correlation of the map with the reference's (when the entry has one). */
  agreement?: number;
  /** The map is non-degenerate: finite, not constant. */
  informative: boolean;
}

async function explainModel(dir: string, name: string, model: ModelProto, config: object | undefined, image: string, sessions: SessionCache) {
  const file = join(dir, `${name.replace(/[^a-z0-9]+/gi, '_')}.onnx`);
  writeFileSync(file, serializeModel(model));
  if (config) writeFileSync(file.replace(/\.onnx$/, '.camlens.json'), JSON.stringify(config));
  const t0 = performance.now();
  const result = await explain({ modelPath: file, input: image, layers: [ZOO_LAYER], classIndex: 0, overlay: false }, { sessions });
  return { result, ms: performance.now() - t0 };
}

/** Explains one zoo entry (class 0, Grad-CAM on `features`) and its reference, in `dir`. */
export async function runZooEntry(entry: ZooEntry, dir: string, sessions: SessionCache): Promise<ZooResult> {
  const images = await zooImages(dir);
  const image = entry.alpha ? images.rgba : images.rgb;
  const { result, ms } = await explainModel(dir, entry.name, entry.model(), entry.config, image, sessions);
  const map = result.explanations[0].cam.data;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const informative = Number.isFinite(lo) && Number.isFinite(hi) && hi - lo > 1e-3;
  if (!entry.reference) return { result, ms, informative };
  const ref = await explainModel(dir, `${entry.name}.reference`, entry.reference.model(), entry.reference.config, image, sessions);
  return { result, ms, informative, agreement: pearson(map, ref.result.explanations[0].cam.data) };
}
