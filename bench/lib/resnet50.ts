// A ResNet-50 made with the builder DSL, shaped like `torch.onnx.export` of torchvision's
// resnet50 with constant folding: BatchNorm folded into each Conv (so every Conv has a bias),
// node names from module paths (`/layer1/layer1.0/conv1/Conv`), outputs `<node>_output_0`,
// folded weights named `onnx::Conv_<n>`, the classifier `fc.weight` / `fc.bias`.
// Benchmarks use it where a real ~100 MB model is needed and the fixtures do not have one.
//
// Weights are random but seeded, scaled so that a forward pass stays numerically tame: He
// initialisation for every conv, and the last conv of each residual branch scaled down (as
// zero-init-residual training recipes do) so that 16 residual additions do not blow up the
// activations. Logits come out with a standard deviation of order 1.
import { attr, DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { emptyTensor } from '../../src/engine/onnx/tensor';
import type { ModelProto } from '../../src/engine/onnx/types';

export interface ResNet50Options {
  /** Input height (default 224). */
  height?: number;
  /** Input width (default 224). */
  width?: number;
  /** Seed of the weight generator (default 1); the same seed gives the same bytes. */
  seed?: number;
}

/** Stages of torchvision's resnet50: [blocks, bottleneck width]; outputs are 4x the width. */
export const RESNET50_STAGES: ReadonlyArray<readonly [number, number]> = [
  [3, 64],
  [4, 128],
  [6, 256],
  [3, 512],
];

/** Scale of the last conv of each residual branch, relative to He initialisation. */
const RESIDUAL_SCALE = 0.2;

/** mulberry32: fast, seedable, good enough for weights. */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function buildResNet50(options: ResNet50Options = {}): ModelProto {
  const height = options.height ?? 224;
  const width = options.width ?? 224;
  if (!(Number.isInteger(height) && height >= 32 && Number.isInteger(width) && width >= 32)) {
    throw new RangeError(`buildResNet50: input size ${height}x${width} must be whole numbers of at least 32 pixels.`);
  }
  const random = generator(options.seed ?? 1);
  const b = ModelBuilder.create(17, 'main_graph');

  // Uniform in [-a, a] has variance a²/3: a = scale * sqrt(3 * variance).
  const uniform = (count: number, bound: number): Float32Array => {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = (random() * 2 - 1) * bound;
    return out;
  };
  const addFloats = (name: string, dims: number[], values: Float32Array): string =>
    b.addInitializer(emptyTensor({ name, dataType: DataType.FLOAT, dims, rawData: new Uint8Array(values.buffer) }));

  // PyTorch numbers folded constants in the order it meets them; any increasing series reads the same.
  let constant = 321;
  const conv = (scope: string, x: string, cin: number, cout: number, kernel: number, stride: number, scale = 1): string => {
    const fanIn = cin * kernel * kernel;
    const w = addFloats(`onnx::Conv_${constant++}`, [cout, cin, kernel, kernel], uniform(cout * fanIn, scale * Math.sqrt(6 / fanIn)));
    const bias = addFloats(`onnx::Conv_${constant++}`, [cout], uniform(cout, 0.01));
    constant++; // the exporter skips the number of the folded BatchNorm's running variance
    const pad = (kernel - 1) >> 1;
    return b.op(
      'Conv',
      [x, w, bias],
      {
        dilations: attr.ints([1, 1]),
        group: attr.int(1),
        kernel_shape: attr.ints([kernel, kernel]),
        pads: attr.ints([pad, pad, pad, pad]),
        strides: attr.ints([stride, stride]),
      },
      { name: `${scope}/Conv` },
    );
  };
  const relu = (scope: string, x: string) => b.op('Relu', [x], {}, { name: `${scope}/Relu` });

  const input = b.input('input', DataType.FLOAT, ['batch', 3, height, width]);
  let x = relu('/relu', conv('/conv1', input, 3, 64, 7, 2));
  x = b.op(
    'MaxPool',
    [x],
    {
      ceil_mode: attr.int(0),
      kernel_shape: attr.ints([3, 3]),
      pads: attr.ints([1, 1, 1, 1]),
      strides: attr.ints([2, 2]),
    },
    { name: '/maxpool/MaxPool' },
  );

  let cin = 64;
  RESNET50_STAGES.forEach(([blocks, mid], stage) => {
    const layer = `layer${stage + 1}`;
    for (let i = 0; i < blocks; i++) {
      const scope = `/${layer}/${layer}.${i}`;
      const stride = i === 0 && stage > 0 ? 2 : 1; // torchvision (v1.5) strides in the 3x3 conv
      const cout = mid * 4;
      let y = relu(`${scope}/relu`, conv(`${scope}/conv1`, x, cin, mid, 1, 1));
      y = relu(`${scope}/relu_1`, conv(`${scope}/conv2`, y, mid, mid, 3, stride));
      y = conv(`${scope}/conv3`, y, mid, cout, 1, 1, RESIDUAL_SCALE);
      const shortcut = i === 0 ? conv(`${scope}/downsample/downsample.0`, x, cin, cout, 1, stride) : x;
      x = relu(`${scope}/relu_2`, b.op('Add', [y, shortcut], {}, { name: `${scope}/Add` }));
      cin = cout;
    }
  });

  const pooled = b.op('GlobalAveragePool', [x], {}, { name: '/avgpool/GlobalAveragePool' });
  const flat = b.op('Flatten', [pooled], { axis: attr.int(1) }, { name: '/Flatten' });
  const fcWeight = addFloats('fc.weight', [1000, cin], uniform(1000 * cin, Math.sqrt(3 / cin)));
  const fcBias = addFloats('fc.bias', [1000], uniform(1000, 0.01));
  b.op('Gemm', [flat, fcWeight, fcBias], { alpha: attr.float(1), beta: attr.float(1), transB: attr.int(1) }, { name: '/fc/Gemm', outputs: ['logits'] });
  b.output('logits', DataType.FLOAT, ['batch', 1000]);

  const model = b.build();
  model.producerName = 'camlens bench (torchvision resnet50 topology)';
  return model;
}

/** Number of weights and biases in the model's initializers. */
export function parameterCount(model: ModelProto): number {
  let n = 0;
  for (const t of model.graph?.initializer ?? []) n += t.dims.reduce<number>((a, d) => a * Number(d), 1);
  return n;
}
