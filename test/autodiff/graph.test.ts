// Graph-level behaviour of buildGradientGraph: path selection, summing, errors, no mutation.
import { deepStrictEqual, equal, ok, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { buildGradientGraph, GRADIENT_RULES } from '../../src/engine/autodiff';
import { CamLensError } from '../../src/engine/errors';
import { attr, DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { serializeModel } from '../../src/engine/onnx/io';
import { gradCheck, weight } from './check';

function smallCnn() {
  const b = ModelBuilder.create(17);
  b.input('x', DataType.FLOAT, ['N', 2, 6, 6]);
  const c1 = b.op('Conv', ['x', weight(b, DataType.FLOAT, 'w1', [3, 2, 3, 3], 1)], { pads: attr.ints([1, 1, 1, 1]) }, { name: 'conv1' });
  const r1 = b.op('Relu', [c1], {}, { name: 'relu1' });
  const c2 = b.op('Conv', [r1, weight(b, DataType.FLOAT, 'w2', [3, 3, 3, 3], 2)], { pads: attr.ints([1, 1, 1, 1]) }, { name: 'conv2' });
  const sum = b.op('Add', [c2, r1], {}, { name: 'residual' });
  const pooled = b.op('GlobalAveragePool', [sum]);
  const flat = b.op('Flatten', [pooled]);
  b.op('Gemm', [flat, weight(b, DataType.FLOAT, 'fc', [4, 3], 3)], { transB: 1 }, { outputs: ['logits'] });
  b.output('logits', DataType.FLOAT, ['N', 4]);
  return { model: b.build(), c1, r1, c2, sum };
}

describe('autodiff: graph construction', () => {
  it('never mutates the original model', () => {
    const { model, r1 } = smallCnn();
    const before = serializeModel(model);
    buildGradientGraph(model, { target: 'logits', wrt: [r1, 'x'] });
    deepStrictEqual(serializeModel(model), before);
  });

  it('adds a cotangent input shaped like the target (symbolic batch) and one output per wrt', () => {
    const { model, r1 } = smallCnn();
    const g = buildGradientGraph(model, { target: 'logits', wrt: [r1] });
    const cot = g.model.graph!.input.find((i) => i.name === g.cotangent)!;
    deepStrictEqual(
      cot.type!.tensorType!.shape!.dim.map((d) => d.dimParam ?? d.dimValue),
      ['N', 4],
    );
    ok(g.model.graph!.output.some((o) => o.name === g.gradients[r1]));
    // only nodes after the tap are differentiated: no ConvTranspose for conv1 (before the tap)
    const transposes = g.model.graph!.node.filter((n) => n.opType === 'ConvTranspose');
    equal(transposes.length, 1, 'one ConvTranspose (conv2), none for conv1');
    ok(
      g.model.graph!.node.every((n) => !n.domain),
      'standard ai.onnx ops only',
    );
  });

  it('sums gradients reaching a value from several consumers (residual) and handles several taps at once', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 2, 6, 6] }],
      declared: { x: ['N', 2, 6, 6] },
      wrtValues: ['relu1'],
      build: smallCnnOn,
    });
  });

  it('gives zeros for a wrt value that does not reach the target, and the cotangent for the target itself', async () => {
    const b = ModelBuilder.create(17);
    b.input('x', DataType.FLOAT, [2, 3]);
    b.input('z', DataType.FLOAT, [2, 3]);
    const y = b.op('Relu', ['x']);
    b.op('Neg', ['z'], {}, { outputs: ['side'] });
    b.output(y, DataType.FLOAT, [2, 3]);
    b.output('side', DataType.FLOAT, [2, 3]);
    const g = buildGradientGraph(b.build(), { target: y, wrt: ['z', y] });
    const s = await ort.InferenceSession.create(serializeModel(g.model));
    try {
      const v = Float32Array.from([1, 2, 3, 4, 5, 6]);
      const out = await s.run({
        x: new ort.Tensor('float32', new Float32Array(6), [2, 3]),
        z: new ort.Tensor('float32', new Float32Array(6).fill(1), [2, 3]),
        [g.cotangent]: new ort.Tensor('float32', v, [2, 3]),
      });
      deepStrictEqual(Array.from(out[g.gradients.z].data as Float32Array), [0, 0, 0, 0, 0, 0]);
      deepStrictEqual(Array.from(out[g.gradients[y]].data as Float32Array), Array.from(v));
    } finally {
      await s.release();
    }
  });

  it('raises UNSUPPORTED_OP naming the op and node for an op without a rule on the path', () => {
    const b = ModelBuilder.create(17);
    b.input('x', DataType.FLOAT, [2, 3]);
    const y = b.op('Selu', [b.op('Relu', ['x'])], {}, { name: 'my_selu' });
    b.output(y);
    throws(
      () => buildGradientGraph(b.build(), { target: y, wrt: ['x'] }),
      (e: unknown) =>
        e instanceof CamLensError && e.code === 'UNSUPPORTED_OP' && /"my_selu"/.test(e.message) && /Selu/.test(e.message) && /gradient-free/i.test(e.message),
    );
  });

  it('does not need rules for ops off the path (before the tap)', () => {
    const b = ModelBuilder.create(17);
    b.input('x', DataType.FLOAT, [2, 3]);
    const s = b.op('Selu', ['x']);
    const y = b.op('Relu', [s]);
    b.output(y);
    buildGradientGraph(b.build(), { target: y, wrt: [s] });
  });

  it('reports unknown value names with suggestions', () => {
    const { model } = smallCnn();
    throws(
      () => buildGradientGraph(model, { target: 'logits', wrt: ['relu'] }),
      (e: unknown) => e instanceof CamLensError && e.code === 'UNKNOWN_VALUE' && /relu1/.test(e.message),
    );
  });

  it('has one rule per op of the issue list', () => {
    const wanted = [
      'Conv',
      'ConvTranspose',
      'Relu',
      'LeakyRelu',
      'PRelu',
      'Clip',
      'Sigmoid',
      'Tanh',
      'HardSigmoid',
      'HardSwish',
      'Softplus',
      'Erf',
      'Gelu',
      'BatchNormalization',
      'InstanceNormalization',
      'LayerNormalization',
      'MaxPool',
      'AveragePool',
      'GlobalAveragePool',
      'GlobalMaxPool',
      'Gemm',
      'MatMul',
      'Add',
      'Sub',
      'Mul',
      'Div',
      'Pow',
      'Sqrt',
      'Exp',
      'Log',
      'Neg',
      'Reciprocal',
      'Abs',
      'Min',
      'Max',
      'Where',
      'Identity',
      'Dropout',
      'Cast',
      'Flatten',
      'Reshape',
      'Transpose',
      'Squeeze',
      'Unsqueeze',
      'Expand',
      'Concat',
      'Split',
      'Slice',
      'Gather',
      'Pad',
      'ReduceMean',
      'ReduceSum',
      'ReduceMax',
      'Softmax',
      'LogSoftmax',
      'Einsum',
      'Resize',
    ];
    const missing = wanted.filter((op) => !GRADIENT_RULES[op]);
    deepStrictEqual(missing, []);
  });
});

describe('autodiff: static facts from the one shape inference', () => {
  /** y = Transpose(Reshape(x, target)) where the Reshape target is fed at run time. */
  function runtimeReshape() {
    const b = ModelBuilder.create(17);
    b.input('x', DataType.FLOAT, [2, 3, 4]);
    b.input('target', DataType.INT64, [null]);
    b.op('Reshape', ['x', 'target'], {}, { outputs: ['flat'] });
    b.op('Transpose', ['flat'], {}, { outputs: ['y'] });
    b.output('y');
    return b.build();
  }

  it("takes the caller's known types where the graph alone leaves a rank unknown", async () => {
    throws(
      () => buildGradientGraph(runtimeReshape(), { target: 'y', wrt: ['x'] }),
      (e: unknown) => e instanceof CamLensError && e.code === 'UNSUPPORTED_OP' && /rank of "flat"/.test(e.message),
    );
    const g = buildGradientGraph(runtimeReshape(), {
      target: 'y',
      wrt: ['x'],
      shapes: new Map([['flat', { dtype: DataType.FLOAT, shape: [2, 12] }]]),
    });
    const s = await ort.InferenceSession.create(serializeModel(g.model));
    try {
      const v = Float32Array.from({ length: 24 }, (_, i) => i);
      const out = await s.run({
        x: new ort.Tensor('float32', new Float32Array(24), [2, 3, 4]),
        target: new ort.Tensor('int64', BigInt64Array.from([2n, 12n]), [2]),
        [g.cotangent]: new ort.Tensor('float32', v, [12, 2]),
      });
      const grad = out[g.gradients.x];
      deepStrictEqual([...grad.dims], [2, 3, 4]);
      // d/dx sum(v · transpose(reshape(x))) = reshape(transpose(v)): element (i, j) of flat is v[j, i]
      deepStrictEqual(
        Array.from(grad.data as Float32Array),
        Array.from({ length: 24 }, (_, k) => v[(k % 12) * 2 + Math.floor(k / 12)]),
      );
    } finally {
      await s.release();
    }
  });

  it('is not stopped by a contradiction elsewhere in the model (shape inference records it)', () => {
    const b = ModelBuilder.create(17);
    b.input('x', DataType.FLOAT, ['N', 3]);
    b.input('u', DataType.FLOAT, [2, 3]);
    b.input('w', DataType.FLOAT, [4, 3]);
    b.op('Add', ['u', 'w'], {}, { outputs: ['broken'] });
    b.op('Transpose', [b.op('Relu', ['x'])], {}, { outputs: ['y'] });
    b.output('y');
    b.output('broken');
    const g = buildGradientGraph(b.build(), { target: 'y', wrt: ['x'] });
    ok(g.model.graph!.output.some((o) => o.name === g.gradients.x));
  });
});

function smallCnnOn(b: ModelBuilder, dt: DataType): string {
  const c1 = b.op('Conv', ['x', weight(b, dt, 'w1', [3, 2, 3, 3], 1)], { pads: attr.ints([1, 1, 1, 1]) });
  const r1 = b.op('Relu', [c1], {}, { outputs: ['relu1'] });
  const c2 = b.op('Conv', [r1, weight(b, dt, 'w2', [3, 3, 3, 3], 2)], { pads: attr.ints([1, 1, 1, 1]) });
  const sum = b.op('Add', [c2, r1]);
  const pooled = b.op('MaxPool', [sum], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) });
  const flat = b.op('Flatten', [pooled]);
  return b.op('Gemm', [flat, weight(b, dt, 'fc', [4, 27], 3)], { transB: 1 });
}
