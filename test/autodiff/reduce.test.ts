import { describe, it } from 'node:test';
import { attr } from '../../src/engine/onnx/builder';
import { gradCheck } from './check';

describe('autodiff: reductions', () => {
  const variants: Array<{ op: string; axes?: number[]; keepdims: number; opset?: number; note?: string }> = [
    { op: 'ReduceMean', axes: [-1], keepdims: 1 },
    { op: 'ReduceMean', axes: [1, 2], keepdims: 0 },
    { op: 'ReduceMean', keepdims: 0, note: 'all axes' },
    { op: 'ReduceMean', axes: [0, -1], keepdims: 0, opset: 18, note: 'axes input (opset 18)' },
    { op: 'ReduceSum', axes: [1], keepdims: 1 },
    { op: 'ReduceSum', axes: [0, 2], keepdims: 0 },
    { op: 'ReduceSum', keepdims: 1, note: 'all axes' },
    { op: 'ReduceMax', axes: [2], keepdims: 0 },
    { op: 'ReduceMax', axes: [1], keepdims: 1 },
  ];
  for (const v of variants) {
    it(`${v.op} axes [${v.axes ?? ''}] keepdims ${v.keepdims}${v.note ? ` (${v.note})` : ''}`, async (t) => {
      const axesAsInput = v.op === 'ReduceSum' || (v.opset ?? 17) >= 18;
      await gradCheck(t, {
        opset: v.opset,
        inputs: [{ name: 'x', shape: [2, 3, 4] }],
        build: (b) => {
          const inputs = ['x'];
          if (v.axes && axesAsInput) inputs.push(b.int64s('axes', v.axes));
          return b.op(v.op, inputs, { keepdims: v.keepdims, ...(v.axes && !axesAsInput ? { axes: attr.ints(v.axes) } : {}) });
        },
      });
    });
  }
  it('ReduceMean over symbolic dims (runtime count)', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 3, 4] }],
      declared: { x: ['N', 'T', 4] },
      build: (b) => b.op('ReduceMean', ['x'], { axes: attr.ints([1]), keepdims: 0 }),
    });
  });
  for (const axis of [-1, 1]) {
    it(`Softmax axis ${axis}`, async (t) => {
      await gradCheck(t, { inputs: [{ name: 'x', shape: [2, 3, 4] }], build: (b) => b.op('Softmax', ['x'], { axis }) });
    });
    it(`LogSoftmax axis ${axis}`, async (t) => {
      await gradCheck(t, { inputs: [{ name: 'x', shape: [2, 3, 4] }], build: (b) => b.op('LogSoftmax', ['x'], { axis }) });
    });
  }
});
