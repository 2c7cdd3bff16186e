// Small non-classifier models built with the DSL (issue 15): a segmenter with a side output, a
// two-scale detector, a text recogniser whose tokens are a 1×40 strip, and classifiers whose
// target is cut off from a layer or whose output already is a probability.
import { attr, DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import type { ModelProto } from '../../src/engine/onnx/types';
import { randomArray } from './models';

let seed = 100;
const conv = (
  b: ModelBuilder,
  x: string,
  cin: number,
  cout: number,
  name: string,
  options: { k?: [number, number]; s?: [number, number]; relu?: boolean } = {},
) => {
  const [kh, kw] = options.k ?? [3, 3];
  const [sh, sw] = options.s ?? [1, 1];
  const w = b.floats(`${name}.weight`, [cout, cin, kh, kw], randomArray(cout * cin * kh * kw, seed++));
  const pads = [Math.floor((kh - 1) / 2), Math.floor((kw - 1) / 2), Math.floor((kh - 1) / 2), Math.floor((kw - 1) / 2)];
  const y = b.op('Conv', [x, w], { kernel_shape: [kh, kw], strides: [sh, sw], pads: sh === kh && sw === kw ? [0, 0, 0, 0] : pads }, { name: `/${name}/Conv` });
  return options.relu === false ? y : b.op('Relu', [y], {}, { name: `/${name}/Relu` });
};

/** [1,3,32,32] → backbone (stride 2) → head conv (3 classes) → Resize ×2 = "seg" [1,3,32,32]; "aux" [1,3,16,16] from an early layer. */
export function tinySegmenter(): ModelProto {
  const b = ModelBuilder.create(17);
  const x = b.input('input', DataType.FLOAT, [1, 3, 32, 32]);
  const c1 = conv(b, x, 3, 8, 'backbone.0', { s: [2, 2] });
  const c2 = conv(b, c1, 8, 16, 'backbone.1');
  const logits = conv(b, c2, 16, 3, 'head.classifier', { k: [1, 1], relu: false });
  b.op('Resize', [logits, '', b.floats('scales', [4], [1, 1, 2, 2])], { mode: 'linear' }, { name: '/head/Resize', outputs: ['seg'] });
  conv(b, c1, 8, 3, 'aux.classifier', { k: [1, 1], relu: false });
  b.op('Identity', ['/aux.classifier/Conv_output_0'], {}, { name: '/aux/Identity', outputs: ['aux'] });
  b.output('seg', DataType.FLOAT, [1, 3, 32, 32]);
  b.output('aux', DataType.FLOAT, [1, 3, 16, 16]);
  return b.build();
}

/** [1,3,32,32] → P3 [1,8,16,16] → P4 [1,16,8,8]; a YOLO-like head per scale (box + class convs) → "detections" [1, 9, 320]. */
export function tinyDetector(): ModelProto {
  const b = ModelBuilder.create(17);
  const x = b.input('images', DataType.FLOAT, [1, 3, 32, 32]);
  const p3 = conv(b, x, 3, 8, 'backbone.p3', { s: [2, 2] });
  const p4 = conv(b, p3, 8, 16, 'neck.p4', { s: [2, 2] });
  const flat = (v: string, hw: number, name: string) => b.op('Reshape', [v, b.int64s(`${name}.shape`, [1, 9, hw])], {}, { name: `/${name}/Reshape` });
  const head = (p: string, cin: number, hw: number, name: string) => {
    const box = conv(b, conv(b, p, cin, 8, `${name}.box.0`), 8, 4, `${name}.box.1`, { k: [1, 1], relu: false });
    const cls = conv(b, conv(b, p, cin, 8, `${name}.cls.0`), 8, 5, `${name}.cls.1`, { k: [1, 1], relu: false });
    return flat(b.op('Concat', [box, cls], { axis: 1 }, { name: `/${name}/Concat` }), hw, name);
  };
  const out = b.op('Concat', [head(p3, 8, 256, 'head.p3'), head(p4, 16, 64, 'head.p4')], { axis: 2 }, { name: '/Concat', outputs: ['concat'] });
  b.op('Sigmoid', [out], {}, { name: '/Sigmoid', outputs: ['detections'] });
  b.output('detections', DataType.FLOAT, [1, 9, 320]);
  return b.build();
}

/**
 * A text recogniser: [1,3,32,160] → conv with stride (32, 4) → [1,8,1,40] → tokens [1,40,8] →
 * per-token logits → mean over the strip → "logits" [1,5]. 40 tokens: 4 + 6×6 to a
 * square-count guess, a 1×40 strip in truth.
 */
export function tinyStripRecogniser(): ModelProto {
  const b = ModelBuilder.create(17);
  const x = b.input('input', DataType.FLOAT, [1, 3, 32, 160]);
  const c = conv(b, x, 3, 8, 'cnn', { k: [32, 4], s: [32, 4] });
  const seq = b.op('Reshape', [c, b.int64s('seq.shape', [1, 8, 40])], {}, { name: '/Reshape' });
  const tokens = b.op('Transpose', [seq], { perm: [0, 2, 1] }, { name: '/Transpose' });
  const perToken = b.op('MatMul', [tokens, b.floats('fc.w', [8, 5], randomArray(40, seed++))], {}, { name: '/fc/MatMul' });
  b.op('ReduceMean', [perToken], { axes: [1], keepdims: 0 }, { name: '/ReduceMean', outputs: ['logits'] });
  b.output('logits', DataType.FLOAT, [1, 5]);
  return b.build();
}

/**
 * A classifier ending in Softmax ("probs"), with a side branch: "side" [1,2] from the first conv,
 * which does not feed "probs". `cut`: the second conv's output reaches the head multiplied by 0
 * (its gradient is zero everywhere).
 */
export function tinyProbabilityClassifier(cut = false): ModelProto {
  const b = ModelBuilder.create(17);
  const x = b.input('input', DataType.FLOAT, [1, 3, 32, 32]);
  const c1 = conv(b, x, 3, 8, 'block1', { s: [2, 2] });
  let c2 = conv(b, c1, 8, 16, 'block2');
  if (cut) c2 = b.op('Mul', [c2, b.floats('zero', [1], [0])], {}, { name: '/cut/Mul' });
  const gap = b.op('GlobalAveragePool', [c2], {}, { name: '/pool/GlobalAveragePool' });
  const flat = b.op('Flatten', [gap], { axis: 1 }, { name: '/Flatten' });
  const fc = b.op(
    'Gemm',
    [flat, b.floats('fc.weight', [4, 16], randomArray(64, seed++, 2)), b.floats('fc.bias', [4], randomArray(4, seed++))],
    { transB: 1, alpha: attr.float(1) },
    { name: '/fc/Gemm' },
  );
  b.op('Softmax', [fc], { axis: 1 }, { name: '/Softmax', outputs: ['probs'] });
  const sideConv = conv(b, c1, 8, 2, 'side', { k: [1, 1] });
  const sideGap = b.op('GlobalAveragePool', [sideConv], {}, { name: '/side/GlobalAveragePool' });
  b.op('Flatten', [sideGap], { axis: 1 }, { name: '/side/Flatten', outputs: ['side'] });
  b.output('probs', DataType.FLOAT, [1, 4]);
  b.output('side', DataType.FLOAT, [1, 2]);
  return b.build();
}
