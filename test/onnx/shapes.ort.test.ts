// Attribute variants of the shape rules checked against onnxruntime: each case is a tiny model;
// every node output is exposed, the model runs (batch = 2), and every inferred dim must equal
// the run-time one. Cases marked `full` must also be inferred without unknown dims.
import { deepStrictEqual, ok } from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { Graph } from '../../src/engine/onnx/graph';
import { parseModel, serializeModel } from '../../src/engine/onnx/io';
import { analyseShapes, evaluateDim } from '../../src/engine/onnx/shapes';
import { isKnownShape } from '../../src/engine/onnx/shapes/dims';
import { dataTypeName } from '../../src/engine/onnx/tensor';

const F = DataType.FLOAT;
const BINDINGS = { batch: 2 };

interface Case {
  name: string;
  opset?: number;
  build: (b: ModelBuilder, x: string) => void;
  input?: Array<number | string>;
}

const zeros = (n: number) => new Array(n).fill(0.01);
const w = (b: ModelBuilder, name: string, dims: number[]) => b.floats(name, dims, zeros(dims.reduce((a, c) => a * c, 1)));
const i64 = (b: ModelBuilder, name: string, v: Array<number | bigint>, dims?: number[]) => b.int64s(name, v, dims);
const MAX = 9223372036854775807n;
const MIN = -9223372036854775808n;

const CASES: Case[] = [
  {
    name: 'Conv: strides, asymmetric pads, dilations, groups',
    input: ['batch', 4, 13, 11],
    build: (b, x) => {
      b.op('Conv', [x, w(b, 'w1', [6, 4, 3, 3])], { strides: [2, 3], pads: [0, 1, 2, 0] });
      b.op('Conv', [x, w(b, 'w2', [6, 4, 3, 2])], { dilations: [2, 3], pads: [1, 1, 1, 1] });
      b.op('Conv', [x, w(b, 'w3', [8, 2, 3, 3])], { group: 2, strides: [2, 2] });
      b.op('Conv', [x, w(b, 'w4', [4, 1, 5, 5])], { group: 4, pads: [2, 2, 2, 2] });
    },
  },
  {
    name: 'Conv: auto_pad SAME_UPPER / SAME_LOWER / VALID',
    input: ['batch', 4, 13, 10],
    build: (b, x) => {
      for (const autoPad of ['SAME_UPPER', 'SAME_LOWER', 'VALID']) {
        b.op('Conv', [x, w(b, `w${autoPad}`, [3, 4, 3, 4])], { auto_pad: autoPad, strides: [2, 3] });
      }
    },
  },
  {
    name: 'ConvTranspose: strides, pads, output_padding, dilations, groups, output_shape, auto_pad',
    input: ['batch', 4, 5, 6],
    build: (b, x) => {
      b.op('ConvTranspose', [x, w(b, 'w1', [4, 3, 3, 3])], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 0] });
      b.op('ConvTranspose', [x, w(b, 'w2', [4, 2, 3, 2])], { group: 2, dilations: [2, 1], strides: [3, 1] });
      b.op('ConvTranspose', [x, w(b, 'w3', [4, 3, 3, 3])], { strides: [2, 2], output_shape: [10, 12] });
      b.op('ConvTranspose', [x, w(b, 'w4', [4, 3, 3, 3])], { strides: [2, 2], auto_pad: 'SAME_UPPER' });
      b.op('ConvTranspose', [x, w(b, 'w5', [4, 3, 4, 4])], { strides: [2, 2], auto_pad: 'SAME_LOWER' });
    },
  },
  {
    name: 'MaxPool/AveragePool: ceil_mode, pads, dilations, auto_pad',
    input: ['batch', 3, 7, 9],
    build: (b, x) => {
      b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 });
      b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 });
      b.op('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 0, 1, 0], ceil_mode: 1 });
      b.op('MaxPool', [x], { kernel_shape: [2, 3], strides: [1, 2], dilations: [2, 2] });
      b.op('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_LOWER' });
      b.node('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'VALID' }, { outputCount: 2 });
      b.op('AveragePool', [x], { kernel_shape: [3, 3], strides: [3, 3], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 });
      b.op('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'SAME_UPPER' });
      b.op('LpPool', [x], { kernel_shape: [3, 3], strides: [2, 2], p: 2 });
      b.op('GlobalMaxPool', [x]);
    },
  },
  {
    name: 'Resize: scales (rounding down), sizes, axes, aspect-ratio policies',
    opset: 18,
    input: ['batch', 3, 7, 9],
    build: (b, x) => {
      b.op('Resize', [x, '', b.floats('s1', [4], [1, 1, 1.5, 0.5])], { mode: 'nearest' });
      b.op('Resize', [x, '', b.floats('s2', [4], [1, 1, 2.3, 1.7])], { mode: 'linear' });
      b.op('Resize', [x, '', '', i64(b, 'z1', [2, 3, 20, 30])], { mode: 'linear' });
      b.op('Resize', [x, '', '', i64(b, 'z2', [20, 30])], { axes: [2, 3] });
      b.op('Resize', [x, '', '', i64(b, 'z3', [20, 20])], { axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' });
      b.op('Resize', [x, '', '', i64(b, 'z4', [20, 20])], { axes: [2, 3], keep_aspect_ratio_policy: 'not_smaller' });
    },
  },
  {
    name: 'Slice: sentinels, negative starts/steps, axes, clamping',
    input: ['batch', 10, 12],
    build: (b, x) => {
      b.op('Slice', [x, i64(b, 'a1', [1]), i64(b, 'b1', [MAX]), i64(b, 'c1', [1])]);
      b.op('Slice', [x, i64(b, 'a2', [-1]), i64(b, 'b2', [MIN]), i64(b, 'c2', [2]), i64(b, 'd2', [-1])]);
      b.op('Slice', [x, i64(b, 'a3', [8, -3]), i64(b, 'b3', [1, 100]), i64(b, 'c3', [1, -1]), i64(b, 'd3', [-3, 1])]);
      b.op('Slice', [x, i64(b, 'a4', [0]), i64(b, 'b4', [MAX]), i64(b, 'c4', [0])]);
      b.op('Slice', [x, i64(b, 'a5', [5]), i64(b, 'b5', [2]), i64(b, 'c5', [2])]);
    },
  },
  {
    name: 'Split (uneven, opset 18), Concat, Pad with axes and negative pads',
    opset: 18,
    input: ['batch', 10, 12],
    build: (b, x) => {
      b.node('Split', [x], { axis: 1, num_outputs: 3 }, { outputCount: 3 });
      b.node('Split', [x, i64(b, 's', [5, 7])], { axis: -1 }, { outputCount: 2 });
      b.op('Concat', [x, x], { axis: 0 });
      b.op('Pad', [x, i64(b, 'p1', [1, -2, 3, 4]), '', i64(b, 'ax', [1, -1])], { mode: 'constant' });
      b.op('Pad', [x, i64(b, 'p2', [0, 2, 1, 0, 2, 1])], { mode: 'reflect' });
    },
  },
  {
    name: 'Reductions, ArgMax, TopK, Softmax, LayerNormalization statistics',
    opset: 18,
    input: ['batch', 5, 6],
    build: (b, x) => {
      b.op('ReduceMean', [x, i64(b, 'r1', [-1])], { keepdims: 0 });
      b.op('ReduceMax', [x, i64(b, 'r2', [], [0])], { noop_with_empty_axes: 1 });
      b.op('ReduceSum', [x], { keepdims: 1 });
      b.op('ArgMax', [x], { axis: 1, keepdims: 0 });
      b.node('TopK', [x, i64(b, 'k', [3])], { axis: -1 }, { outputCount: 2 });
      b.op('LogSoftmax', [x], { axis: 1 });
      b.node('LayerNormalization', [x, w(b, 'g', [5, 6]), w(b, 'bb', [5, 6])], { axis: 1 }, { outputCount: 3 });
    },
  },
  {
    name: 'MatMul 1-D and broadcast, Gemm transposes, Einsum',
    input: ['batch', 3, 4],
    build: (b, x) => {
      b.op('MatMul', [x, w(b, 'v', [4])]);
      b.op('MatMul', [w(b, 'u', [3]), x]);
      b.op('MatMul', [x, w(b, 'm', [1, 4, 2])]);
      b.op('MatMul', [w(b, 'm2', [5, 1, 2, 3]), x]);
      b.op('Gemm', [w(b, 'a', [4, 3]), w(b, 'bm', [5, 4])], { transA: 1, transB: 1 });
      b.op('Einsum', [x, w(b, 'e', [4, 5])], { equation: 'bij,jk->bki' });
      b.op('Einsum', [x], { equation: '...ij->...ji' });
    },
  },
  {
    name: 'Reshape, Flatten, DepthToSpace, SpaceToDepth, Expand, Tile, GatherND, Transpose',
    input: ['batch', 8, 4, 6],
    build: (b, x) => {
      b.op('Reshape', [x, i64(b, 's1', [0, -1, 3])]);
      b.op('Flatten', [x], { axis: 0 });
      b.op('Flatten', [x], { axis: 3 });
      b.op('DepthToSpace', [x], { blocksize: 2, mode: 'CRD' });
      b.op('SpaceToDepth', [x], { blocksize: 2 });
      b.op('Expand', [w(b, 'ex', [1, 4, 1]), i64(b, 'es', [3, 1, 5])]);
      b.op('Tile', [x, i64(b, 'rep', [1, 2, 1, 3])]);
      b.op('GatherND', [x, i64(b, 'gi', [0, 1, 1, 2], [2, 2])], { batch_dims: 0 });
      b.op('Transpose', [x]);
    },
  },
];

describe('shape rules agree with onnxruntime', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const b = ModelBuilder.create(c.opset ?? 17);
      const x = b.input('x', F, c.input ?? ['batch', 3, 8, 8]);
      c.build(b, x);
      const model = parseModel(serializeModel(b.build()));
      const graph = Graph.fromModel(model);
      const { types, ruleErrors } = analyseShapes(graph);
      deepStrictEqual(ruleErrors, []);
      const ext = ModelBuilder.extend(model);
      for (const v of graph.activations()) {
        ok(isKnownShape(types.get(v)!.shape), `${v}: inferred [${types.get(v)!.shape}]`);
        ext.output(v, types.get(v)!.dtype);
      }
      // logSeverityLevel 3: ORT warns where its own (ONNX) shape inference disagrees with its
      // kernels, e.g. MaxPool ceil_mode with pads (ONNX says 5, the kernel makes 4; so do we).
      const session = await ort.InferenceSession.create(serializeModel(ext.build()), { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
      try {
        const dims = types.get('x')!.shape!.map((d) => evaluateDim(d, BINDINGS)!);
        const n = dims.reduce((a, d) => a * d, 1);
        const results = await session.run({
          x: new ort.Tensor(
            'float32',
            Float32Array.from({ length: n }, (_, i) => Math.sin(i)),
            dims,
          ),
        });
        for (const [name, tensor] of Object.entries(results)) {
          const inferred = types.get(name)!;
          const shape = inferred.shape!.map((d) => evaluateDim(d, BINDINGS));
          deepStrictEqual({ name, dtype: dataTypeName(inferred.dtype), shape }, { name, dtype: tensor.type, shape: tensor.dims.map(Number) });
        }
      } finally {
        await session.release();
      }
    });
  }
});
