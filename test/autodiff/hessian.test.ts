// Second order: Hessian-vector products (reverse over reverse) against finite differences of
// gradients, one small model per op whose backward graph the second pass must differentiate.
import { describe, it } from 'node:test';
import { attr, type ModelBuilder } from '../../src/engine/onnx/builder';
import { weight } from './check';
import { hvpCheck } from './hessianCheck';

const square = (b: ModelBuilder, y: string) => b.op('Mul', [y, y]);

describe('autodiff: Hessian-vector products (reverse over reverse) match finite differences of gradients', () => {
  it('Mul and Add: x + x·x·w', async (t) => {
    await hvpCheck(t, { shape: [2, 5], build: (b, dt) => b.op('Add', ['x', b.op('Mul', [square(b, 'x'), weight(b, dt, 'w', [5], 1)])]) });
  });
  it('Sigmoid', async (t) => {
    await hvpCheck(t, { shape: [2, 6], range: [-3, 3], build: (b) => b.op('Sigmoid', ['x']) });
  });
  it('Softmax (axis -1)', async (t) => {
    await hvpCheck(t, { shape: [2, 7], range: [-2, 2], build: (b) => b.op('Softmax', ['x'], { axis: -1 }) });
  });
  it('LogSoftmax (axis -1)', async (t) => {
    await hvpCheck(t, { shape: [3, 5], range: [-2, 2], build: (b) => b.op('LogSoftmax', ['x'], { axis: -1 }) });
  });
  it('Gemm (transB) then Sigmoid', async (t) => {
    await hvpCheck(t, {
      shape: [2, 6],
      build: (b, dt) => b.op('Sigmoid', [b.op('Gemm', ['x', weight(b, dt, 'w', [4, 6], 2), weight(b, dt, 'c', [4], 3)], { transB: 1 })]),
    });
  });
  it('Gemm (transA) squared', async (t) => {
    await hvpCheck(t, {
      shape: [6, 2],
      build: (b, dt) => square(b, b.op('Gemm', ['x', weight(b, dt, 'w', [6, 3], 4)], { transA: 1, alpha: attr.float(0.5) })),
    });
  });
  it('Conv (stride 2, pads) squared: the second pass differentiates ConvTranspose', async (t) => {
    await hvpCheck(t, {
      shape: [1, 2, 7, 7],
      build: (b, dt) => square(b, b.op('Conv', ['x', weight(b, dt, 'w', [3, 2, 3, 3], 5)], { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) })),
    });
  });
  it('GlobalAveragePool squared: Expand in the backward graph', async (t) => {
    await hvpCheck(t, { shape: [2, 3, 4, 4], build: (b) => square(b, b.op('GlobalAveragePool', ['x'])) });
  });
  it('Relu alone: zero second derivative almost everywhere (H·u = 0, as finite differences say)', async (t) => {
    await hvpCheck(t, { shape: [2, 8], zero: true, build: (b) => b.op('Relu', ['x']) });
  });
  it('Relu squared: H = 2·[x > 0]', async (t) => {
    await hvpCheck(t, { shape: [2, 8], build: (b) => square(b, b.op('Relu', ['x'])) });
  });
  it('MaxPool squared: ScatterElements (reduction add) in the backward graph', async (t) => {
    await hvpCheck(t, {
      shape: [1, 2, 6, 6],
      build: (b) => square(b, b.op('MaxPool', ['x'], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]) })),
    });
  });
  it('Slice squared: ScatterElements (no reduction) in the backward graph', async (t) => {
    await hvpCheck(t, { shape: [2, 6], build: (b) => square(b, b.op('Slice', ['x', b.int64s('s', [1]), b.int64s('e', [5]), b.int64s('a', [1])])) });
  });
  it('Gather squared: ScatterND in the backward graph', async (t) => {
    await hvpCheck(t, { shape: [5, 3], build: (b) => square(b, b.op('Gather', ['x', b.int64s('i', [4, 0, 4], [3])], { axis: 0 })) });
  });
  it('a small CNN head: Conv → Relu → GlobalAveragePool → Flatten → Gemm → LogSoftmax', async (t) => {
    await hvpCheck(t, {
      shape: [1, 3, 6, 6],
      build: (b, dt) => {
        const c = b.op('Conv', ['x', weight(b, dt, 'w1', [4, 3, 3, 3], 6)], { pads: attr.ints([1, 1, 1, 1]) });
        const pooled = b.op('Flatten', [b.op('GlobalAveragePool', [b.op('Relu', [c])])]);
        return b.op('LogSoftmax', [b.op('Gemm', [pooled, weight(b, dt, 'fc', [5, 4], 7, -3, 3)], { transB: 1 })], { axis: -1 });
      },
    });
  });
});
