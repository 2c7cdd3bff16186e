// Per-rule unit tests for static shape inference, on tiny models made with the builder.
import { deepStrictEqual, equal, ok, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CamLensError } from '../../src/engine/errors';
import { attr, DataType, ModelBuilder, type AttrValue } from '../../src/engine/onnx/builder';
import { Graph } from '../../src/engine/onnx/graph';
import { parseModel, serializeModel } from '../../src/engine/onnx/io';
import { analyseShapes, evaluateDim, inferShapes, supportedOps } from '../../src/engine/onnx/shapes';
import { SymbolTable } from '../../src/engine/onnx/shapes/symbolic';
import type { ShapeDim, ValueType } from '../../src/engine/onnx/shapes/types';
import { makeTensor } from '../../src/engine/onnx/tensor';

type Dims = readonly ShapeDim[];
const F = DataType.FLOAT;
const I64 = DataType.INT64;

/** Builds a model with `build`, round-trips it through protobuf, and infers. */
function infer(build: (b: ModelBuilder) => void, opset = 17) {
  const b = ModelBuilder.create(opset);
  build(b);
  const model = parseModel(serializeModel(b.build()));
  return analyseShapes(Graph.fromModel(model));
}

/** One node on inputs of the given shapes; returns the type of each output. */
function op(
  opType: string,
  inputs: Array<Dims | { init: number[]; dims?: number[]; type?: DataType } | { dtype: DataType; shape?: Dims } | ''>,
  attrs: Record<string, AttrValue | undefined> = {},
  opts: { opset?: number; outputs?: number } = {},
): ValueType[] {
  const outNames = Array.from({ length: opts.outputs ?? 1 }, (_, i) => `y${i}`);
  const r = infer((b) => {
    const names = inputs.map((spec, i) => {
      if (spec === '') return '';
      if (Array.isArray(spec)) return b.input(`x${i}`, F, spec);
      if ('init' in spec) {
        const type = spec.type ?? I64;
        return b.initializer(`c${i}`, type, spec.dims ?? [spec.init.length], spec.init);
      }
      const s = spec as { dtype: DataType; shape?: Dims };
      return b.input(`x${i}`, s.dtype, s.shape);
    });
    b.node(opType, names, attrs, { outputs: outNames });
    for (const o of outNames) b.output(o);
  }, opts.opset);
  return outNames.map((o) => r.types.get(o)!);
}

const shapeOf = (...args: Parameters<typeof op>) => op(...args)[0].shape;

const contradiction = (fn: () => unknown, node?: RegExp) =>
  throws(fn, (e: unknown) => e instanceof CamLensError && e.code === 'SHAPE_INFERENCE' && (!node || node.test(e.message)));

describe('shape inference: symbolic dims', () => {
  it('multiplies, divides exactly and adds like terms', () => {
    const s = new SymbolTable();
    equal(s.mul('batch', 3), '3*batch');
    equal(s.mul(3, 'batch'), '3*batch');
    equal(s.divExact(s.mul('batch', 197), 197), 'batch');
    equal(s.divExact('batch', 2), null);
    equal(s.divExact(s.mul('batch', 64), s.mul(16, 'batch')), 4);
    equal(s.add('batch', 'batch'), '2*batch');
    equal(s.add('batch', 1), null);
    equal(s.add('batch', 0), 'batch');
    equal(s.sub('batch', 'batch'), 0);
    equal(s.mul('a', 'b'), s.mul('b', 'a'));
    equal(s.mul(null, 'batch'), null);
    // A declared name that looks like a product stays one symbol.
    equal(s.divExact('N*C', 'C'), null);
  });

  it('evaluates dims with bound symbols', () => {
    equal(evaluateDim('3*batch', { batch: 2 }), 6);
    equal(evaluateDim('batch', { batch: 2 }), 2);
    equal(evaluateDim('height', { batch: 2 }), undefined);
    equal(evaluateDim(null, {}), undefined);
    equal(evaluateDim(7, {}), 7);
  });
});

describe('shape inference: graph values', () => {
  it('types inputs from declarations and initializers from their dims', () => {
    const r = infer((b) => {
      b.input('x', F, ['batch', 3, null]);
      b.input('u', F);
      b.floats('w', [2, 3], [1, 2, 3, 4, 5, 6]);
      b.op('Relu', ['x'], {}, { outputs: ['y'] });
      b.output('y');
    });
    deepStrictEqual(r.types.get('x'), { dtype: F, shape: ['batch', 3, null] });
    deepStrictEqual(r.types.get('u'), { dtype: F });
    deepStrictEqual(r.types.get('w'), { dtype: F, shape: [2, 3] });
    deepStrictEqual(r.types.get('y'), { dtype: F, shape: ['batch', 3, null] });
  });

  it('fills what a rule cannot decide from value_info, never losing a declared number', () => {
    const r = infer((b) => {
      b.input('x', F, ['batch', 3, 8, 8]);
      b.input('shape', I64, [3]);
      b.op('Reshape', ['x', 'shape'], {}, { outputs: ['y'] });
      b.op('Relu', ['x'], {}, { outputs: ['z'] });
      b.graph.valueInfo.push(
        { name: 'y', type: { tensorType: { elemType: F, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 3 }, { dimValue: 64 }] } } }, metadataProps: [] },
        { name: 'z', type: { tensorType: { elemType: F, shape: { dim: [{ dimValue: 2 }, {}, { dimValue: 99 }, {}] } } }, metadataProps: [] },
      );
      b.output('y');
      b.output('z');
    });
    // The rule only knows the rank of y; the declaration gives the dims.
    deepStrictEqual(r.types.get('y')!.shape, ['batch', 3, 64]);
    // z: the rule's static dims win, a declared number beats the rule's symbol.
    deepStrictEqual(r.types.get('z')!.shape, [2, 3, 8, 8]);
  });

  it('gives unknown ops (any domain) unknown shapes and their declared type, without throwing', () => {
    const r = infer((b) => {
      b.useOpset('com.example', 1);
      b.input('x', F, ['batch', 3]);
      b.node('MyOp', ['x'], { anything: 'goes' }, { outputs: ['y', 'y2'], domain: 'com.example' });
      b.node('NotAnOnnxOp', ['y'], {}, { outputs: ['z'] });
      b.op('Relu', ['z'], {}, { outputs: ['w'] });
      b.output('y', DataType.FLOAT16);
      b.output('w');
    });
    deepStrictEqual(r.types.get('y'), { dtype: DataType.FLOAT16 });
    deepStrictEqual(r.types.get('y2'), { dtype: 0 });
    deepStrictEqual(r.types.get('z'), { dtype: 0 });
    deepStrictEqual(r.types.get('w'), { dtype: F });
  });
});

describe('shape inference: Conv and ConvTranspose', () => {
  const w = (dims: number[]) => ({ init: new Array(dims.reduce((a, b) => a * b, 1)).fill(0), dims, type: F });

  it('strides, pads, dilations keep the symbolic batch', () => {
    deepStrictEqual(shapeOf('Conv', [['batch', 3, 32, 32], w([16, 3, 3, 3])], { pads: [1, 1, 1, 1] }), ['batch', 16, 32, 32]);
    deepStrictEqual(shapeOf('Conv', [['batch', 3, 32, 32], w([16, 3, 3, 3])], { pads: [1, 1, 1, 1], strides: [2, 2] }), ['batch', 16, 16, 16]);
    deepStrictEqual(shapeOf('Conv', [['batch', 3, 32, 32], w([16, 3, 3, 3])], { dilations: [2, 2] }), ['batch', 16, 28, 28]);
    deepStrictEqual(shapeOf('Conv', [['batch', 3, 32, 30], w([8, 3, 3, 5])], { pads: [0, 2, 0, 2], strides: [1, 3] }), ['batch', 8, 30, 10]);
    deepStrictEqual(shapeOf('Conv', [['batch', 3, 17], w([4, 3, 3])], { kernel_shape: [3], strides: [2] }), ['batch', 4, 8]);
  });

  it('groups and depthwise convs; channel mismatches are contradictions naming the node', () => {
    deepStrictEqual(shapeOf('Conv', [[2, 32, 8, 8], w([32, 1, 3, 3])], { group: 32, pads: [1, 1, 1, 1] }), [2, 32, 8, 8]);
    deepStrictEqual(shapeOf('Conv', [[2, 32, 8, 8], w([64, 8, 1, 1])], { group: 4 }), [2, 64, 8, 8]);
    contradiction(() => op('Conv', [[2, 32, 8, 8], w([64, 16, 1, 1])], { group: 4 }), /node "Conv_0" \(Conv\).*32 channels/);
    contradiction(() => op('Conv', [[2, 3, 8, 8], w([16, 4, 3, 3])]));
  });

  it('auto_pad SAME_UPPER / SAME_LOWER / VALID', () => {
    for (const autoPad of ['SAME_UPPER', 'SAME_LOWER']) {
      deepStrictEqual(shapeOf('Conv', [['batch', 3, 33, 32], w([8, 3, 3, 3])], { auto_pad: autoPad, strides: [2, 2] }), ['batch', 8, 17, 16]);
    }
    deepStrictEqual(shapeOf('Conv', [['batch', 3, 33, 32], w([8, 3, 3, 3])], { auto_pad: 'VALID', strides: [2, 2] }), ['batch', 8, 16, 15]);
  });

  it('keeps symbolic spatial dims only when the window preserves them', () => {
    deepStrictEqual(shapeOf('Conv', [['batch', 3, 'h', 'w'], w([8, 3, 3, 3])], { pads: [1, 1, 1, 1] }), ['batch', 8, 'h', 'w']);
    deepStrictEqual(shapeOf('Conv', [['batch', 3, 'h', 'w'], w([8, 3, 3, 3])], { pads: [1, 1, 1, 1], strides: [2, 2] }), ['batch', 8, null, null]);
    deepStrictEqual(shapeOf('Conv', [['batch', 3, 'h', 'w'], w([8, 3, 3, 3])], { auto_pad: 'SAME_UPPER' }), ['batch', 8, 'h', 'w']);
  });

  it('reports malformed window attributes as contradictions, not TypeErrors', () => {
    contradiction(() => op('Conv', [[1, 3, 8, 8], w([8, 3, 3, 3])], { strides: [1, 1, 1] }), /strides/);
    contradiction(() => op('Conv', [[1, 3, 8, 8], w([8, 3, 3, 3])], { strides: attr.int(2) }), /strides/);
    contradiction(() => op('Conv', [[1, 3, 8, 8], w([8, 3, 3, 3])], { pads: [-1, 0, 0, 0] }), /pads/);
    contradiction(() => op('Conv', [[1, 3, 8, 8], w([8, 3, 3, 3])], { auto_pad: 'SOMETIMES' }), /auto_pad/);
    contradiction(() => op('Conv', [[1, 3, 2, 2], w([8, 3, 3, 3])]), /smaller than/);
  });

  it('ConvTranspose: strides, pads, output_padding, output_shape, auto_pad, groups', () => {
    deepStrictEqual(shapeOf('ConvTranspose', [['batch', 16, 7, 7], w([16, 8, 4, 4])], { strides: [2, 2], pads: [1, 1, 1, 1] }), ['batch', 8, 14, 14]);
    deepStrictEqual(shapeOf('ConvTranspose', [['batch', 16, 7, 7], w([16, 8, 3, 3])], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }), [
      'batch',
      8,
      14,
      14,
    ]);
    deepStrictEqual(shapeOf('ConvTranspose', [['batch', 16, 7, 7], w([16, 4, 3, 3])], { group: 2, strides: [2, 2] }), ['batch', 8, 15, 15]);
    deepStrictEqual(shapeOf('ConvTranspose', [['batch', 16, 7, 7], w([16, 8, 3, 3])], { strides: [2, 2], output_shape: [14, 15] }), ['batch', 8, 14, 15]);
    deepStrictEqual(shapeOf('ConvTranspose', [['batch', 16, 7, 7], w([16, 8, 3, 3])], { strides: [3, 3], auto_pad: 'SAME_UPPER' }), ['batch', 8, 21, 21]);
    deepStrictEqual(shapeOf('ConvTranspose', [['batch', 16, 'h', 7], w([16, 8, 2, 2])], { strides: [2, 2] }), ['batch', 8, '2*h', 14]);
    contradiction(() => op('ConvTranspose', [['batch', 15, 7, 7], w([16, 8, 3, 3])]));
  });
});

describe('shape inference: pools', () => {
  it('MaxPool/AveragePool with strides, pads, dilations, ceil_mode', () => {
    deepStrictEqual(shapeOf('MaxPool', [['batch', 64, 112, 112]], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), ['batch', 64, 56, 56]);
    deepStrictEqual(shapeOf('AveragePool', [['batch', 8, 7, 7]], { kernel_shape: [2, 2], strides: [2, 2] }), ['batch', 8, 3, 3]);
    deepStrictEqual(shapeOf('AveragePool', [['batch', 8, 7, 7]], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }), ['batch', 8, 4, 4]);
    // ceil_mode never starts a window in the right padding: 5 + pads 1/1, k 2, s 2 → 3, not 4.
    deepStrictEqual(shapeOf('MaxPool', [[1, 1, 5, 5]], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }), [1, 1, 3, 3]);
    deepStrictEqual(shapeOf('MaxPool', [[1, 1, 10, 10]], { kernel_shape: [3, 3], dilations: [2, 2] }), [1, 1, 6, 6]);
    deepStrictEqual(shapeOf('LpPool', [[1, 2, 9]], { kernel_shape: [3], strides: [3], p: 2 }), [1, 2, 3]);
  });

  it('auto_pad for pools', () => {
    deepStrictEqual(shapeOf('MaxPool', [['batch', 4, 11, 11]], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }), ['batch', 4, 6, 6]);
    deepStrictEqual(shapeOf('AveragePool', [['batch', 4, 11, 11]], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_LOWER' }), ['batch', 4, 6, 6]);
    deepStrictEqual(shapeOf('MaxPool', [['batch', 4, 11, 11]], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'VALID' }), ['batch', 4, 5, 5]);
  });

  it('MaxPool indices, global pools, missing kernel_shape', () => {
    const [y, idx] = op('MaxPool', [['batch', 4, 8, 8]], { kernel_shape: [2, 2], strides: [2, 2] }, { outputs: 2 });
    deepStrictEqual(y, { dtype: F, shape: ['batch', 4, 4, 4] });
    deepStrictEqual(idx, { dtype: I64, shape: ['batch', 4, 4, 4] });
    deepStrictEqual(shapeOf('GlobalAveragePool', [['batch', 512, 7, 7]]), ['batch', 512, 1, 1]);
    deepStrictEqual(shapeOf('GlobalMaxPool', [['batch', 512, 'h', 'w', 3]]), ['batch', 512, 1, 1, 1]);
    contradiction(() => op('MaxPool', [['batch', 4, 8, 8]]), /kernel_shape/);
  });
});

describe('shape inference: normalisation', () => {
  it('BatchNormalization, InstanceNormalization, LayerNormalization with statistics outputs', () => {
    const c = { init: [1, 1, 1], dims: [3], type: F };
    deepStrictEqual(shapeOf('BatchNormalization', [['batch', 3, 8, 8], c, c, c, c]), ['batch', 3, 8, 8]);
    contradiction(() => op('BatchNormalization', [['batch', 4, 8, 8], c, c, c, c]));
    const train = op('BatchNormalization', [['batch', 3, 8, 8], c, c, c, c], { training_mode: 1 }, { outputs: 3 });
    deepStrictEqual(
      train.map((t) => t.shape),
      [['batch', 3, 8, 8], [3], [3]],
    );
    deepStrictEqual(shapeOf('InstanceNormalization', [['batch', 3, 8, 8], c, c]), ['batch', 3, 8, 8]);
    const ln = op('LayerNormalization', [['batch', 197, 192], { init: [0], dims: [1], type: F }], { axis: 1 }, { outputs: 3 });
    deepStrictEqual(ln, [
      { dtype: F, shape: ['batch', 197, 192] },
      { dtype: F, shape: ['batch', 1, 1] },
      { dtype: F, shape: ['batch', 1, 1] },
    ]);
    deepStrictEqual(op('LayerNormalization', [['batch', 197, 192], { init: [0], dims: [1], type: F }], {}, { outputs: 2 })[1].shape, ['batch', 197, 1]);
  });
});

describe('shape inference: elementwise', () => {
  it('unary ops keep shape and type; Cast/CastLike/Dropout/Not set theirs', () => {
    for (const o of [
      'Relu',
      'Sigmoid',
      'Tanh',
      'LeakyRelu',
      'HardSigmoid',
      'HardSwish',
      'Softplus',
      'Erf',
      'Gelu',
      'Sqrt',
      'Exp',
      'Log',
      'Neg',
      'Abs',
      'Reciprocal',
      'Identity',
      'Floor',
      'Ceil',
      'Round',
      'Sign',
    ]) {
      deepStrictEqual(op(o, [['batch', 3, 'h']])[0], { dtype: F, shape: ['batch', 3, 'h'] }, o);
    }
    deepStrictEqual(op('Clip', [['batch', 3], { init: [0], dims: [], type: F }, { init: [6], dims: [], type: F }])[0].shape, ['batch', 3]);
    deepStrictEqual(op('Cast', [['batch', 3]], { to: I64 })[0], { dtype: I64, shape: ['batch', 3] });
    deepStrictEqual(op('CastLike', [['batch', 3], { dtype: DataType.FLOAT16, shape: [1] }])[0], { dtype: DataType.FLOAT16, shape: ['batch', 3] });
    deepStrictEqual(op('Dropout', [['batch', 3]], {}, { outputs: 2 }), [
      { dtype: F, shape: ['batch', 3] },
      { dtype: DataType.BOOL, shape: ['batch', 3] },
    ]);
    deepStrictEqual(op('Not', [{ dtype: DataType.BOOL, shape: [4] }])[0], { dtype: DataType.BOOL, shape: [4] });
    deepStrictEqual(op('PRelu', [['batch', 8, 4, 4], { init: new Array(8).fill(0.1), dims: [8, 1, 1], type: F }])[0].shape, ['batch', 8, 4, 4]);
    contradiction(() => op('Cast', [['batch', 3]]), /"to"/);
  });

  it('numpy broadcasting with symbolic and unknown dims', () => {
    deepStrictEqual(
      shapeOf('Add', [
        ['batch', 1, 5],
        [3, 1],
      ]),
      ['batch', 3, 5],
    );
    deepStrictEqual(
      shapeOf('Mul', [
        ['batch', 4],
        [1, 4],
      ]),
      ['batch', 4],
    );
    deepStrictEqual(
      shapeOf('Sub', [
        ['batch', 4],
        [6, 4],
      ]),
      [6, 4],
    );
    deepStrictEqual(
      shapeOf('Div', [
        ['a', 4],
        ['b', 4],
      ]),
      [null, 4],
    );
    deepStrictEqual(shapeOf('Pow', [[null, 4], [1]]), [null, 4]);
    deepStrictEqual(shapeOf('Add', [[], [2, 3]]), [2, 3]);
    contradiction(() => op('Add', [[2, 3], [4]]), /broadcast/);
  });

  it('comparison and logic give bool; Where and variadic ops broadcast all inputs', () => {
    deepStrictEqual(
      op('Equal', [
        ['batch', 1],
        [1, 5],
      ])[0],
      { dtype: DataType.BOOL, shape: ['batch', 5] },
    );
    deepStrictEqual(op('Less', [[3], [3]])[0].dtype, DataType.BOOL);
    deepStrictEqual(
      op('And', [
        { dtype: DataType.BOOL, shape: [2, 1] },
        { dtype: DataType.BOOL, shape: [3] },
      ])[0],
      { dtype: DataType.BOOL, shape: [2, 3] },
    );
    deepStrictEqual(op('Where', [{ dtype: DataType.BOOL, shape: [1, 5] }, ['batch', 1], [1]])[0], { dtype: F, shape: ['batch', 5] });
    deepStrictEqual(
      shapeOf('Sum', [
        [3, 1],
        [1, 4],
        [2, 1, 1],
      ]),
      [2, 3, 4],
    );
    deepStrictEqual(shapeOf('Max', [['batch', 3], [3]]), ['batch', 3]);
    deepStrictEqual(shapeOf('Mod', [[4, 4], [4]], { fmod: 1 }), [4, 4]);
  });
});

describe('shape inference: Gemm, MatMul, Einsum', () => {
  it('Gemm with transA/transB', () => {
    deepStrictEqual(
      shapeOf('Gemm', [
        ['batch', 512],
        [512, 1000],
      ]),
      ['batch', 1000],
    );
    deepStrictEqual(
      shapeOf(
        'Gemm',
        [
          ['batch', 512],
          [1000, 512],
        ],
        { transB: 1 },
      ),
      ['batch', 1000],
    );
    deepStrictEqual(
      shapeOf(
        'Gemm',
        [
          [512, 'batch'],
          [512, 10],
        ],
        { transA: 1 },
      ),
      ['batch', 10],
    );
    deepStrictEqual(
      shapeOf(
        'Gemm',
        [
          [512, 'batch'],
          [10, 512],
        ],
        { transA: 1, transB: 1 },
      ),
      ['batch', 10],
    );
    contradiction(
      () =>
        op(
          'Gemm',
          [
            ['batch', 512],
            [1000, 511],
          ],
          { transB: 1 },
        ),
      /inner/,
    );
  });

  it('MatMul: batched, broadcast, 1-D operands', () => {
    deepStrictEqual(
      shapeOf('MatMul', [
        ['batch', 2, 3, 4],
        [4, 5],
      ]),
      ['batch', 2, 3, 5],
    );
    deepStrictEqual(
      shapeOf('MatMul', [
        ['batch', 1, 3, 4],
        [6, 4, 5],
      ]),
      ['batch', 6, 3, 5],
    );
    deepStrictEqual(shapeOf('MatMul', [[4], [4, 5]]), [5]);
    deepStrictEqual(shapeOf('MatMul', [[2, 3, 4], [4]]), [2, 3]);
    deepStrictEqual(shapeOf('MatMul', [[4], [4]]), []);
    contradiction(
      () =>
        op('MatMul', [
          [2, 3],
          [4, 5],
        ]),
      /inner/,
    );
  });

  it('Einsum with explicit and implicit outputs and ellipses', () => {
    deepStrictEqual(
      shapeOf(
        'Einsum',
        [
          ['batch', 3, 4],
          ['batch', 4, 5],
        ],
        { equation: 'bij,bjk->bik' },
      ),
      ['batch', 3, 5],
    );
    deepStrictEqual(
      shapeOf(
        'Einsum',
        [
          [3, 4],
          [4, 5],
        ],
        { equation: 'ij,jk' },
      ),
      [3, 5],
    );
    deepStrictEqual(shapeOf('Einsum', [['batch', 7, 3, 4]], { equation: '...ij->...ji' }), ['batch', 7, 4, 3]);
    deepStrictEqual(shapeOf('Einsum', [[3, 3]], { equation: 'ii->i' }), [3]);
    contradiction(() =>
      op(
        'Einsum',
        [
          [3, 4],
          [5, 6],
        ],
        { equation: 'ij,jk->ik' },
      ),
    );
  });
});

describe('shape inference: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Expand, Tile', () => {
  const i64 = (v: number[] | bigint[]) => ({ init: v as number[] });

  it('Reshape with 0, -1, allowzero; symbolic dims copied or derived', () => {
    deepStrictEqual(shapeOf('Reshape', [['batch', 3, 4], i64([0, -1])]), ['batch', 12]);
    deepStrictEqual(shapeOf('Reshape', [['batch', 3, 4], i64([0, 0, 2, 2])]), ['batch', 3, 2, 2]);
    deepStrictEqual(shapeOf('Reshape', [['batch', 3, 4], i64([-1, 4])]), ['3*batch', 4]);
    deepStrictEqual(shapeOf('Reshape', [['batch', 'n'], i64([-1, 4])]), [null, 4]);
    deepStrictEqual(shapeOf('Reshape', [[2, 3, 4], i64([4, -1])]), [4, 6]);
    deepStrictEqual(shapeOf('Reshape', [[0, 3], i64([0, 3])], { allowzero: 1 }), [0, 3]);
    deepStrictEqual(shapeOf('Reshape', [['batch', 3, 4], { dtype: I64, shape: [3] }]), [null, null, null]);
    deepStrictEqual(shapeOf('Reshape', [['batch', 3, 4], { dtype: I64, shape: [null] }]), undefined);
    contradiction(() => op('Reshape', [[2, 3, 4], i64([5, -1])]), /reshape/);
    contradiction(() => op('Reshape', [[2, 3, 4], i64([-1, -1])]), /more than one -1/);
    contradiction(() => op('Reshape', [[2, 3, 4], i64([2, 3, 5])]));
  });

  it('Flatten at any axis', () => {
    deepStrictEqual(shapeOf('Flatten', [['batch', 512, 1, 1]]), ['batch', 512]);
    deepStrictEqual(shapeOf('Flatten', [['batch', 3, 4, 5]], { axis: 0 }), [1, '60*batch']);
    deepStrictEqual(shapeOf('Flatten', [['batch', 3, 4, 5]], { axis: -1 }), ['12*batch', 5]);
    deepStrictEqual(shapeOf('Flatten', [['batch', 3, 4, 5]], { axis: 4 }), ['60*batch', 1]);
  });

  it('Squeeze/Unsqueeze: axes attribute before opset 13, input from 13', () => {
    deepStrictEqual(shapeOf('Squeeze', [['batch', 1, 5, 1]], { axes: [1, -1] }, { opset: 11 }), ['batch', 5]);
    deepStrictEqual(shapeOf('Squeeze', [['batch', 1, 5, 1], i64([1, -1])]), ['batch', 5]);
    deepStrictEqual(shapeOf('Squeeze', [[1, 5, 1]]), [5]);
    // Without axes, a symbolic dim might be 1: the rank is unknown.
    deepStrictEqual(shapeOf('Squeeze', [['batch', 1, 5]]), undefined);
    contradiction(() => op('Squeeze', [['batch', 2, 5], i64([1])]), /size 2/);
    deepStrictEqual(shapeOf('Unsqueeze', [['batch', 5]], { axes: [0, 3] }, { opset: 11 }), [1, 'batch', 5, 1]);
    deepStrictEqual(shapeOf('Unsqueeze', [['batch', 5], i64([-1, 1])]), ['batch', 1, 5, 1]);
    contradiction(() => op('Unsqueeze', [['batch', 5], i64([1, 1])]), /repeat/);
  });

  it('Transpose with and without perm', () => {
    deepStrictEqual(shapeOf('Transpose', [['batch', 3, 4]], { perm: [0, 2, 1] }), ['batch', 4, 3]);
    deepStrictEqual(shapeOf('Transpose', [['batch', 3, 4]]), [4, 3, 'batch']);
    contradiction(() => op('Transpose', [['batch', 3, 4]], { perm: [0, 0, 1] }), /permutation/);
  });

  it('Expand and Tile', () => {
    deepStrictEqual(shapeOf('Expand', [[1, 1, 192], i64([2, 1, 1])]), [2, 1, 192]);
    deepStrictEqual(shapeOf('Expand', [[3, 1], i64([2, 1, 6])]), [2, 3, 6]);
    deepStrictEqual(shapeOf('Expand', [[3, 1], { dtype: I64, shape: [3] }]), [null, 3, null]);
    contradiction(() => op('Expand', [[3, 2], i64([4, 4])]));
    deepStrictEqual(shapeOf('Tile', [['batch', 3], i64([2, 2])]), ['2*batch', 6]);
    deepStrictEqual(shapeOf('Tile', [['batch', 3], { dtype: I64, shape: [2] }]), [null, null]);
  });

  it('DepthToSpace / SpaceToDepth', () => {
    deepStrictEqual(shapeOf('DepthToSpace', [['batch', 16, 4, 5]], { blocksize: 2 }), ['batch', 4, 8, 10]);
    deepStrictEqual(shapeOf('SpaceToDepth', [['batch', 4, 8, 10]], { blocksize: 2 }), ['batch', 16, 4, 5]);
    contradiction(() => op('DepthToSpace', [['batch', 6, 4, 5]], { blocksize: 2 }));
  });
});

describe('shape inference: Concat, Split, Slice, Gather, Pad', () => {
  const i64 = (v: Array<number | bigint>) => ({ init: v as number[] });
  const MAX = 9223372036854775807n;
  const MIN = -9223372036854775808n;

  it('Concat adds the axis (symbolically too) and checks the rest', () => {
    deepStrictEqual(
      shapeOf(
        'Concat',
        [
          ['batch', 1, 192],
          ['batch', 196, 192],
        ],
        { axis: 1 },
      ),
      ['batch', 197, 192],
    );
    deepStrictEqual(
      shapeOf(
        'Concat',
        [
          ['batch', 3],
          ['batch', 3],
        ],
        { axis: 0 },
      ),
      ['2*batch', 3],
    );
    deepStrictEqual(
      shapeOf(
        'Concat',
        [
          [null, 3],
          [2, 3],
        ],
        { axis: -1 },
      ),
      [2, 6],
    );
    contradiction(() =>
      op(
        'Concat',
        [
          [2, 3],
          [3, 3],
        ],
        { axis: 1 },
      ),
    );
    contradiction(
      () =>
        op('Concat', [
          [2, 3],
          [2, 3],
        ]),
      /axis/,
    );
  });

  it('Split by attribute (opset < 13), input (13+), num_outputs (18)', () => {
    deepStrictEqual(
      op('Split', [['batch', 10]], { axis: 1, split: [3, 7] }, { opset: 11, outputs: 2 }).map((t) => t.shape),
      [
        ['batch', 3],
        ['batch', 7],
      ],
    );
    deepStrictEqual(
      op('Split', [['batch', 10], i64([4, 6])], { axis: -1 }, { outputs: 2 }).map((t) => t.shape),
      [
        ['batch', 4],
        ['batch', 6],
      ],
    );
    deepStrictEqual(
      op('Split', [['batch', 9]], { axis: 1 }, { outputs: 3 }).map((t) => t.shape),
      [
        ['batch', 3],
        ['batch', 3],
        ['batch', 3],
      ],
    );
    deepStrictEqual(
      op('Split', [['batch', 10]], { axis: 1, num_outputs: 3 }, { opset: 18, outputs: 3 }).map((t) => t.shape),
      [
        ['batch', 4],
        ['batch', 4],
        ['batch', 2],
      ],
    );
    deepStrictEqual(
      op('Split', [['2*batch', 4]], {}, { outputs: 2 }).map((t) => t.shape),
      [
        [null, 4],
        [null, 4],
      ],
    );
    contradiction(() => op('Split', [['batch', 10], i64([4, 5])], { axis: 1 }, { outputs: 2 }), /add up/);
  });

  it('Slice with INT64 sentinels, negative indices and steps, axes', () => {
    deepStrictEqual(shapeOf('Slice', [['batch', 197, 192], i64([0]), i64([1]), i64([1])]), ['batch', 1, 192]);
    deepStrictEqual(shapeOf('Slice', [['batch', 197, 192], i64([1]), i64([MAX]), i64([1])]), ['batch', 196, 192]);
    deepStrictEqual(shapeOf('Slice', [['batch', 197, 192], i64([0, -10]), i64([MAX, MAX]), i64([0, -2])]), ['batch', 10, 192]);
    deepStrictEqual(shapeOf('Slice', [[10], i64([-1]), i64([MIN]), i64([0]), i64([-1])]), [10]);
    deepStrictEqual(shapeOf('Slice', [[10], i64([8]), i64([1]), i64([0]), i64([-3])]), [3]);
    deepStrictEqual(shapeOf('Slice', [[10, 8], i64([1, 0]), i64([9, 8]), i64([0, 1]), i64([2, 3])]), [4, 3]);
    deepStrictEqual(shapeOf('Slice', [[10], i64([20]), i64([30])]), [0]);
    deepStrictEqual(shapeOf('Slice', [['batch', 5], i64([0]), i64([MAX]), i64([0])]), ['batch', 5]);
    deepStrictEqual(shapeOf('Slice', [['batch', 5], i64([1]), i64([MAX]), i64([0])]), [null, 5]);
    deepStrictEqual(shapeOf('Slice', [['batch', 5], { dtype: I64, shape: [1] }, i64([3]), i64([1])]), ['batch', null]);
    deepStrictEqual(shapeOf('Slice', [[20, 10]], { starts: [2], ends: [-2], axes: [1] }, { opset: 9 }), [20, 6]);
    contradiction(() => op('Slice', [[10], i64([0]), i64([5]), i64([0]), i64([0])]), /steps/);
  });

  it('Gather, GatherElements, GatherND, ScatterND', () => {
    deepStrictEqual(shapeOf('Gather', [['batch', 197, 192], { init: [0], dims: [] }], { axis: 1 }), ['batch', 192]);
    deepStrictEqual(shapeOf('Gather', [[100, 16], { dtype: I64, shape: ['batch', 7] }]), ['batch', 7, 16]);
    deepStrictEqual(shapeOf('Gather', [[2, 3, 4], { init: [0, 1], dims: [2] }], { axis: -1 }), [2, 3, 2]);
    deepStrictEqual(shapeOf('GatherElements', [[3, 4], { dtype: I64, shape: [3, 2] }], { axis: 1 }), [3, 2]);
    deepStrictEqual(shapeOf('GatherND', [[2, 3, 4], { dtype: I64, shape: [5, 2] }]), [5, 4]);
    deepStrictEqual(shapeOf('ScatterND', [['batch', 3, 4], { dtype: I64, shape: [2, 1] }, [2, 3, 4]]), ['batch', 3, 4]);
    contradiction(() => op('Gather', [{ init: [2, 3] }, { init: [5], dims: [] }]), /out of range/);
  });

  it('Pad: input pads (11+), attribute pads (< 11), axes (18), negative pads', () => {
    deepStrictEqual(shapeOf('Pad', [['batch', 3, 8, 8], i64([0, 0, 1, 2, 0, 0, 3, 4])]), ['batch', 3, 12, 14]);
    deepStrictEqual(shapeOf('Pad', [['batch', 3, 8, 8], i64([0, 0, -1, -1, 0, 0, -1, -1])], { mode: 'reflect' }), ['batch', 3, 6, 6]);
    deepStrictEqual(shapeOf('Pad', [['batch', 3, 8, 8]], { pads: [0, 0, 1, 1, 0, 0, 1, 1] }, { opset: 10 }), ['batch', 3, 10, 10]);
    deepStrictEqual(shapeOf('Pad', [['batch', 3, 8, 8], i64([1, 1, 2, 2]), '', i64([2, -1])], {}, { opset: 18 }), ['batch', 3, 11, 11]);
    deepStrictEqual(shapeOf('Pad', [['batch', 3, 8, 8], { dtype: I64, shape: [8] }]), [null, null, null, null]);
    deepStrictEqual(shapeOf('Pad', [['batch', 3, 8, 8], i64([1, 0, 0, 0, 0, 0, 0, 0])]), [null, 3, 8, 8]);
    contradiction(() => op('Pad', [[2, 3], i64([0, -3, 0, -1])]), /negative/);
    contradiction(() => op('Pad', [[2, 3], i64([0, 1])]), /pads has 2/);
  });
});

describe('shape inference: Resize, Upsample', () => {
  const f32 = (v: number[]) => ({ init: v, type: F });
  it('scales or sizes, by opset', () => {
    deepStrictEqual(shapeOf('Resize', [['batch', 3, 7, 7], '', f32([1, 1, 2, 2])], { mode: 'nearest' }), ['batch', 3, 14, 14]);
    deepStrictEqual(shapeOf('Resize', [['batch', 3, 7, 7], '', f32([1, 1, 1.5, 0.5])]), ['batch', 3, 10, 3]);
    deepStrictEqual(shapeOf('Resize', [['batch', 3, 7, 7], '', '', { init: [2, 3, 224, 224] }]), [2, 3, 224, 224]);
    deepStrictEqual(shapeOf('Resize', [['batch', 3, 7, 7], f32([]), f32([]), { init: [2, 3, 20, 30] }]), [2, 3, 20, 30]);
    deepStrictEqual(shapeOf('Resize', [['batch', 3, 7, 7], f32([1, 1, 3, 3])], {}, { opset: 10 }), ['batch', 3, 21, 21]);
    deepStrictEqual(shapeOf('Resize', [['batch', 3, 7, 7], '', '', { init: [14, 21] }], { axes: [2, 3] }, { opset: 18 }), ['batch', 3, 14, 21]);
    deepStrictEqual(
      shapeOf('Resize', [['batch', 3, 10, 20], '', '', { init: [30, 30] }], { axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' }, { opset: 18 }),
      ['batch', 3, 15, 30],
    );
    deepStrictEqual(shapeOf('Resize', [['batch', 3, 7, 7], '', { dtype: F, shape: [4] }]), [null, null, null, null]);
    deepStrictEqual(shapeOf('Upsample', [['batch', 3, 7, 7], f32([1, 1, 2, 2])], {}, { opset: 9 }), ['batch', 3, 14, 14]);
    deepStrictEqual(shapeOf('Upsample', [['batch', 3, 7, 7]], { scales: attr.floats([1, 1, 2, 3]) }, { opset: 7 }), ['batch', 3, 14, 21]);
  });
});

describe('shape inference: reductions, softmax, ArgMax, TopK', () => {
  const i64 = (v: number[]) => ({ init: v });
  it('keepdims, axes attribute or input by opset, noop_with_empty_axes, negative axes', () => {
    deepStrictEqual(shapeOf('ReduceMean', [['batch', 128, 12, 12]], { axes: [2, 3], keepdims: 0 }), ['batch', 128]);
    deepStrictEqual(shapeOf('ReduceMean', [['batch', 128, 12, 12]], { axes: [-1, -2] }), ['batch', 128, 1, 1]);
    deepStrictEqual(shapeOf('ReduceMean', [['batch', 128, 12, 12], i64([2, 3])], { keepdims: 0 }, { opset: 18 }), ['batch', 128]);
    deepStrictEqual(shapeOf('ReduceSum', [['batch', 128, 12, 12], i64([1])], {}), ['batch', 1, 12, 12]);
    deepStrictEqual(shapeOf('ReduceSum', [['batch', 4]], { axes: [1] }, { opset: 11 }), ['batch', 1]);
    deepStrictEqual(shapeOf('ReduceMax', [['batch', 4]], { keepdims: 0 }), []);
    deepStrictEqual(shapeOf('ReduceSum', [['batch', 4], i64([])], { noop_with_empty_axes: 1 }), ['batch', 4]);
    deepStrictEqual(shapeOf('ReduceL2', [['batch', 4, 5], { dtype: I64, shape: [1] }], {}, { opset: 18 }), [null, null, null]);
    for (const o of ['ReduceMin', 'ReduceProd', 'ReduceLogSumExp', 'ReduceL2']) {
      deepStrictEqual(shapeOf(o, [['batch', 4, 5]], { axes: [1] }), ['batch', 1, 5], o);
    }
    contradiction(() => op('ReduceMean', [['batch', 4]], { axes: [2] }), /out of range/);
  });

  it('Softmax, LogSoftmax, CumSum, Trilu keep the shape; ArgMax/TopK', () => {
    deepStrictEqual(shapeOf('Softmax', [['batch', 3, 49, 49]], { axis: -1 }), ['batch', 3, 49, 49]);
    deepStrictEqual(shapeOf('LogSoftmax', [['batch', 10]]), ['batch', 10]);
    deepStrictEqual(shapeOf('CumSum', [['batch', 10], { init: [1], dims: [] }]), ['batch', 10]);
    deepStrictEqual(shapeOf('Trilu', [['batch', 4, 4]]), ['batch', 4, 4]);
    deepStrictEqual(op('ArgMax', [['batch', 10]], { axis: 1, keepdims: 0 })[0], { dtype: I64, shape: ['batch'] });
    deepStrictEqual(op('ArgMin', [['batch', 10]], { axis: -1 })[0], { dtype: I64, shape: ['batch', 1] });
    deepStrictEqual(op('TopK', [['batch', 10], i64([3])], {}, { outputs: 2 }), [
      { dtype: F, shape: ['batch', 3] },
      { dtype: I64, shape: ['batch', 3] },
    ]);
    deepStrictEqual(op('TopK', [['batch', 10], { dtype: I64, shape: [1] }], { axis: 0 }, { outputs: 2 })[0].shape, [null, 10]);
    contradiction(() => op('TopK', [['batch', 10], i64([11])], {}, { outputs: 2 }), /exceeds/);
  });
});

describe('shape inference: generators', () => {
  it('Shape (start/end), Size, Constant, ConstantOfShape, Range, NonZero', () => {
    const r = infer((b) => {
      b.input('x', F, ['batch', 197, 192]);
      b.node('Shape', ['x'], {}, { outputs: ['s'] });
      b.node('Shape', ['x'], { start: 1 }, { outputs: ['s1'] });
      b.node('Shape', ['x'], { start: -2, end: -1 }, { outputs: ['s2'] });
      b.node('Size', ['x'], {}, { outputs: ['n'] });
      b.node('Constant', [], { value: makeTensor('v', I64, [2], [3, 4]) }, { outputs: ['c'] });
      b.node('Constant', [], { value_float: 0.5 }, { outputs: ['cf'] });
      b.node('Constant', [], { value_ints: [1, 2, 3] }, { outputs: ['ci'] });
      b.node('ConstantOfShape', ['c'], { value: makeTensor('one', I64, [1], [1]) }, { outputs: ['k'] });
      b.node('ConstantOfShape', ['s'], {}, { outputs: ['ks'] });
      b.int64s('start', [0], []);
      b.int64s('limit', [10], []);
      b.int64s('delta', [3], []);
      b.node('Range', ['start', 'limit', 'delta'], {}, { outputs: ['r'] });
      b.node('NonZero', ['x'], {}, { outputs: ['nz'] });
      for (const o of ['s', 's1', 's2', 'n', 'c', 'cf', 'ci', 'k', 'ks', 'r', 'nz']) b.output(o);
    });
    const t = (v: string) => r.types.get(v);
    deepStrictEqual(t('s'), { dtype: I64, shape: [3] });
    deepStrictEqual(r.values.get('s')!.data, ['batch', 197, 192]);
    deepStrictEqual(r.values.get('s1')!.data, [197, 192]);
    deepStrictEqual(r.values.get('s2')!.data, [197]);
    deepStrictEqual(t('n'), { dtype: I64, shape: [] });
    deepStrictEqual(r.values.get('n')!.data, ['37824*batch']);
    deepStrictEqual(t('c'), { dtype: I64, shape: [2] });
    deepStrictEqual(t('cf'), { dtype: F, shape: [] });
    deepStrictEqual(t('ci'), { dtype: I64, shape: [3] });
    deepStrictEqual(t('k'), { dtype: I64, shape: [3, 4] });
    deepStrictEqual(t('ks'), { dtype: F, shape: ['batch', 197, 192] });
    deepStrictEqual(t('r'), { dtype: I64, shape: [4] });
    deepStrictEqual(r.values.get('r')!.data, [0, 3, 6, 9]);
    deepStrictEqual(t('nz'), { dtype: I64, shape: [3, null] });
  });
});

describe('shape inference: folding the shape arithmetic PyTorch exports', () => {
  it('Shape → Gather → Unsqueeze → Concat → Reshape keeps batch symbolic', () => {
    const r = infer((b) => {
      b.input('x', F, ['batch', 197, 192]);
      const s = b.op('Shape', ['x']);
      const n = b.op('Gather', [s, b.int64s('zero', [0], [])], { axis: 0 });
      const n1 = b.op('Unsqueeze', [n, b.int64s('axes', [0])]);
      const target = b.op('Concat', [n1, b.int64s('rest', [197, 3, 64])], { axis: 0 });
      b.node('Reshape', ['x', target], {}, { outputs: ['y'] });
      // heads: batch * 3 (ViT's multi-head reshape), and back with -1
      const heads = b.op('Mul', [n, b.int64s('three', [3], [])]);
      const t2 = b.op('Concat', [b.op('Unsqueeze', [heads, 'axes']), b.int64s('rest2', [197, 64])], { axis: 0 });
      b.node('Reshape', ['y', t2], {}, { outputs: ['z'] });
      b.node('Reshape', ['z', b.int64s('back', [-1, 197, 192])], {}, { outputs: ['w'] });
      // Cast round trip and Div as the exporter writes them
      const half = b.op('Cast', [b.op('Div', [b.op('Gather', [s, b.int64s('two', [2], [])], { axis: 0 }), b.int64s('d', [2], [])])], { to: I64 });
      const t3 = b.op('Concat', [n1, b.int64s('m1', [-1]), b.op('Unsqueeze', [half, 'axes'])], { axis: 0 });
      b.node('Reshape', ['x', t3], {}, { outputs: ['v'] });
      for (const o of ['y', 'z', 'w', 'v']) b.output(o);
    });
    deepStrictEqual(r.types.get('y')!.shape, ['batch', 197, 3, 64]);
    deepStrictEqual(r.types.get('z')!.shape, ['3*batch', 197, 64]);
    deepStrictEqual(r.types.get('w')!.shape, ['batch', 197, 192]);
    deepStrictEqual(r.types.get('v')!.shape, ['batch', 394, 96]);
  });

  it('Expand target built with Equal/Where/ConstantOfShape (torch expand(n, -1, -1))', () => {
    const r = infer((b) => {
      b.input('x', F, ['batch', 196, 192]);
      b.floats('token', [1, 1, 192], new Array(192).fill(0));
      const n = b.op('Unsqueeze', [b.op('Gather', [b.op('Shape', ['x']), b.int64s('zero', [0], [])], { axis: 0 }), b.int64s('axes', [0])]);
      const shape = b.op('Concat', [n, b.int64s('m1', [-1, -1])], { axis: 0 });
      const ones = b.op('ConstantOfShape', [b.op('Shape', [shape])], { value: makeTensor('one', I64, [1], [1]) });
      const minus = b.op('Mul', [ones, b.int64s('neg', [-1], [])]);
      const target = b.op('Where', [b.op('Equal', [shape, minus]), ones, shape]);
      const tok = b.op('Expand', ['token', target]);
      b.node('Concat', [tok, 'x'], { axis: 1 }, { outputs: ['y'] });
      b.output('y');
    });
    deepStrictEqual(r.types.get('y')!.shape, ['batch', 197, 192]);
  });

  it('Slice, Transpose, Range, Mod on small int tensors (Swin-style pads)', () => {
    const r = infer((b) => {
      b.input('x', F, ['batch', 56, 56, 48]);
      const s = b.op('Shape', ['x']);
      const h = b.op('Gather', [s, b.int64s('one', [1], [])], { axis: 0 });
      const padH = b.op('Mod', [b.op('Sub', [b.int64s('seven', [7], []), b.op('Mod', [h, 'seven'])]), 'seven']);
      const pads = b.op('Concat', [b.int64s('z4', [0, 0, 0, 0, 0, 0]), b.op('Unsqueeze', [padH, b.int64s('axes', [0])]), b.int64s('z1', [0])], { axis: 0 });
      // reorder [b0, e0, b1, e1, ...] → [b..., e...] as the exporter does
      const flipped = b.op('Slice', [
        b.op('Reshape', [pads, b.int64s('s42', [-1, 2])]),
        b.int64s('st', [-1]),
        b.int64s('en', [-9223372036854775807n]),
        b.int64s('ax', [0]),
        b.int64s('stp', [-1]),
      ]);
      const order = b.op('Reshape', [b.op('Transpose', [flipped], { perm: [1, 0] }), b.int64s('flat', [-1])]);
      b.node('Pad', ['x', order], {}, { outputs: ['y'] });
      b.node('Range', [b.int64s('r0', [0], []), h, b.int64s('r1', [1], [])], {}, { outputs: ['r'] });
      b.output('y');
      b.output('r');
    });
    deepStrictEqual(r.types.get('y')!.shape, ['batch', 56, 56, 48]);
    deepStrictEqual(r.types.get('r')!.shape, [56]);
  });
});

describe('shape inference: robustness', () => {
  it('never throws anything but SHAPE_INFERENCE, whatever the attributes and inputs', () => {
    const weird: Array<Record<string, AttrValue>> = [
      {},
      { axis: 'x', axes: 'y', perm: 'z', kernel_shape: 'k', strides: 'no', pads: 'no', to: 'float', split: 'no', blocksize: 'b', equation: '' },
      { axis: 99, axes: [99], perm: [5, 5], kernel_shape: [0], strides: [0], pads: [1], to: 999, split: [-1], blocksize: 0, equation: 'ab,bc->zz', k: -1 },
      { axis: attr.float(1.5), axes: attr.floats([0.5]), kernel_shape: attr.ints([3, 3]), value: 3, mode: 'bogus', auto_pad: 'SAME_UPPER', group: 0 },
    ];
    const inputSets: Array<Array<Dims | { dtype: DataType; shape?: Dims }>> = [
      [],
      [['batch', 3, 8, 8]],
      [
        ['batch', 3, 8, 8],
        [4, 3, 3, 3],
      ],
      [[2], [2], [2], [2], [2]],
      [{ dtype: F }, { dtype: I64 }],
      [[], []],
      [[0, 0], [0]],
    ];
    let checked = 0;
    for (const opType of supportedOps()) {
      for (const attrs of weird) {
        for (const inputs of inputSets) {
          for (const opset of [7, 11, 13, 18]) {
            try {
              op(opType, inputs, attrs, { opset, outputs: 2 });
            } catch (e) {
              ok(
                e instanceof CamLensError && e.code === 'SHAPE_INFERENCE' && e.message.includes(`(${opType})`),
                `${opType} ${JSON.stringify(attrs)} threw ${e}`,
              );
            }
            checked++;
          }
        }
      }
    }
    ok(checked > 1000);
  });

  it('keeps rule surprises out of model loading: outputs unknown, error recorded', () => {
    const r = infer((b) => {
      b.input('x', F, [2, 3]);
      // A Constant whose tensor says it holds 6 values but carries none.
      const bad = makeTensor('v', I64, [2], [1, 2]);
      bad.dims = [2, 3];
      b.node('Constant', [], { value: bad }, { outputs: ['c'] });
      b.node('Reshape', ['x', 'c'], {}, { outputs: ['y'] });
      b.output('y');
    });
    deepStrictEqual(r.types.get('c'), { dtype: I64, shape: [2, 3] });
    equal(r.types.get('y')!.shape, undefined);
  });
});

describe('shape inference: speed', () => {
  it('infers a ResNet-50-sized graph (~100 MB of weights, ~175 nodes) in a few ms', (t) => {
    // torchvision ResNet-50 topology with unfolded BatchNorm; weights share one zero buffer
    // (their values cannot matter: inference must never read them).
    const zeros = new Uint8Array(2048 * 512 * 9 * 4);
    const b = ModelBuilder.create(17);
    let bytes = 0;
    const weight = (name: string, dims: number[]) => {
      const n = dims.reduce((a, c) => a * c, 1);
      bytes += n * 4;
      const tensor = makeTensor(name, F, [1], [0]);
      tensor.dims = dims;
      tensor.rawData = zeros.subarray(0, n * 4);
      return b.addInitializer(tensor);
    };
    let x = b.input('input', F, ['batch', 3, 224, 224]);
    let id = 0;
    const convBn = (input: string, cin: number, cout: number, k: number, stride: number, relu: boolean) => {
      const i = id++;
      let y = b.op('Conv', [input, weight(`w${i}`, [cout, cin, k, k])], {
        kernel_shape: [k, k],
        strides: [stride, stride],
        pads: new Array(4).fill((k - 1) >> 1),
      });
      y = b.op('BatchNormalization', [y, weight(`g${i}`, [cout]), weight(`b${i}`, [cout]), weight(`m${i}`, [cout]), weight(`v${i}`, [cout])]);
      return relu ? b.op('Relu', [y]) : y;
    };
    x = convBn(x, 3, 64, 7, 2, true);
    x = b.op('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
    let cin = 64;
    [
      [3, 64],
      [4, 128],
      [6, 256],
      [3, 512],
    ].forEach(([blocks, width], stage) => {
      for (let k = 0; k < blocks; k++) {
        const stride = k === 0 && stage > 0 ? 2 : 1;
        let y = convBn(x, cin, width, 1, 1, true);
        y = convBn(y, width, width, 3, stride, true);
        y = convBn(y, width, width * 4, 1, 1, false);
        const shortcut = k === 0 ? convBn(x, cin, width * 4, 1, stride, false) : x;
        x = b.op('Relu', [b.op('Add', [y, shortcut])]);
        cin = width * 4;
      }
    });
    x = b.op('Flatten', [b.op('GlobalAveragePool', [x])]);
    b.node('Gemm', [x, weight('fc_w', [1000, 2048]), weight('fc_b', [1000])], { transB: 1 }, { outputs: ['logits'] });
    b.output('logits');
    const model = parseModel(serializeModel(b.build()));
    const graph = Graph.fromModel(model);
    ok(bytes > 95e6 && graph.nodes.length > 170, `${bytes} bytes, ${graph.nodes.length} nodes`);

    inferShapes(graph); // warm-up
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      const types = inferShapes(graph);
      times.push(performance.now() - t0);
      deepStrictEqual(types.get('logits'), { dtype: F, shape: ['batch', 1000] });
    }
    times.sort((a, c) => a - c);
    const median = times[times.length >> 1];
    t.diagnostic(
      `ResNet-50 (${graph.nodes.length} nodes, ${(bytes / 1e6).toFixed(0)} MB weights): inferShapes median ${median.toFixed(2)} ms, min ${times[0].toFixed(2)} ms`,
    );
    // A guard against accidental quadratic work, not a benchmark (bench/parse.mjs has the figure).
    ok(median < 250, `inferShapes took ${median.toFixed(1)} ms (median)`);
  });
});
