// Small models built with the DSL, shared by tests.
import { attr, DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import type { GraphProto, ModelProto } from '../../src/engine/onnx/types';

import { rng } from '../../src/engine/metrics/stats';

/** Deterministic pseudo-random numbers (mulberry32), shared with the metrics. */
export { rng };

export function randomArray(n: number, seed = 1, scale = 0.5): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

/** input [batch,3,32,32] → conv-relu → conv(stride 2)-relu → GAP → flatten → gemm(4 classes). */
/** `head`: the Gemm's layout, PyTorch's Linear (weight [4, 16], transB 1, alpha 1) unless given. */
export function tinyCnn(head: { transB?: 0 | 1; alpha?: number } = {}): ModelProto {
  const b = ModelBuilder.create(17);
  const x = b.input('input', DataType.FLOAT, ['batch', 3, 32, 32]);
  const w1 = b.floats('conv1.weight', [8, 3, 3, 3], randomArray(8 * 27, 1));
  const c1 = b.op('Conv', [x, w1], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }, { name: '/block1/conv/Conv' });
  const r1 = b.op('Relu', [c1], {}, { name: '/block1/relu/Relu' });
  const w2 = b.floats('conv2.weight', [16, 8, 3, 3], randomArray(16 * 72, 2));
  const c2 = b.op('Conv', [r1, w2], { pads: [1, 1, 1, 1], strides: [2, 2], kernel_shape: [3, 3] }, { name: '/block2/conv/Conv' });
  const r2 = b.op('Relu', [c2], {}, { name: '/block2/relu/Relu' });
  const gap = b.op('GlobalAveragePool', [r2], {}, { name: '/pool/GlobalAveragePool' });
  const flat = b.op('Flatten', [gap], { axis: 1 }, { name: '/Flatten' });
  const transB = head.transB ?? 1;
  const wf = b.floats('fc.weight', transB ? [4, 16] : [16, 4], randomArray(64, 3));
  const bf = b.floats('fc.bias', [4], randomArray(4, 4));
  b.op('Gemm', [flat, wf, bf], { transB, alpha: attr.float(head.alpha ?? 1), beta: attr.float(1) }, { name: '/fc/Gemm', outputs: ['logits'] });
  b.output('logits', DataType.FLOAT, ['batch', 4]);
  return b.build();
}

/** A ViT-like toy: patch conv → tokens [N,16,8] → LayerNorm → mean over tokens → gemm. */
export function tinyTokenModel(): ModelProto {
  const b = ModelBuilder.create(17);
  const x = b.input('input', DataType.FLOAT, [1, 3, 16, 16]);
  const w = b.floats('patch.weight', [8, 3, 4, 4], randomArray(8 * 48, 5));
  const patches = b.op('Conv', [x, w], { kernel_shape: [4, 4], strides: [4, 4] }, { name: '/patch/Conv' });
  const flat = b.op('Reshape', [patches, b.int64s('shape', [1, 8, 16])], {}, { name: '/Reshape' });
  const tokens = b.op('Transpose', [flat], { perm: [0, 2, 1] }, { name: '/Transpose' });
  const norm = b.op(
    'LayerNormalization',
    [tokens, b.floats('ln.w', [8], new Float32Array(8).fill(1)), b.floats('ln.b', [8], new Float32Array(8))],
    { axis: -1 },
    { name: '/ln/LayerNormalization' },
  );
  const pooled = b.op('ReduceMean', [norm], { axes: [1], keepdims: 0 }, { name: '/ReduceMean' }); // opset 17: axes is an attribute
  b.op('Gemm', [pooled, b.floats('head.w', [3, 8], randomArray(24, 6))], { transB: 1 }, { name: '/head/Gemm', outputs: ['logits'] });
  b.output('logits', DataType.FLOAT, [1, 3]);
  return b.build();
}

/** A subgraph (If branch, Loop body) built with the DSL; its nodes may read names of the enclosing graph. */
export function subgraph(build: (b: ModelBuilder) => void): GraphProto {
  const b = ModelBuilder.create(17, 'body');
  build(b);
  return b.graph;
}
