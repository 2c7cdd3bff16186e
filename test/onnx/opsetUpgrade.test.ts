// The opset upgrader against onnxruntime: each case is a small model at an old opset using an
// operator whose definition changed; onnxruntime runs it as it is and after the upgrade to 13
// (and 18), and the outputs must agree (max |a − b| ≤ 1e-6 · max(1, |a|)).
import { deepStrictEqual, ok, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { CamLensError } from '../../src/engine/errors';
import { attr, DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { serializeModel } from '../../src/engine/onnx/io';
import { upgradeOpset } from '../../src/engine/onnx/opsetUpgrade';
import { floatToHalf, halfToFloat } from '../../src/engine/onnx/float16';
import { makeTensor, tensorToArray } from '../../src/engine/onnx/tensor';
import type { ModelProto } from '../../src/engine/onnx/types';
import { randomArray } from '../helpers/models';

const F = DataType.FLOAT;

interface Case {
  name: string;
  opset: number;
  input: number[];
  /** Ops expected among the changes. */
  changed: string[];
  build: (b: ModelBuilder, x: string) => string;
}

const CASES: Case[] = [
  {
    name: 'Upsample-7 nearest (scales attribute) → Resize',
    opset: 7,
    input: [1, 2, 3, 4],
    changed: ['Upsample'],
    build: (b, x) => b.op('Upsample', [x], { mode: 'nearest', scales: attr.floats([1, 1, 2, 3]) }),
  },
  {
    name: 'Upsample-9 linear (scales input) → Resize',
    opset: 9,
    input: [1, 2, 3, 4],
    changed: ['Upsample'],
    build: (b, x) => b.op('Upsample', [x, b.floats('scales', [4], [1, 1, 2, 2])], { mode: 'linear' }),
  },
  {
    name: 'Resize-10 nearest and linear',
    opset: 10,
    input: [1, 2, 5, 4],
    changed: ['Resize'],
    build: (b, x) => {
      const a = b.op('Resize', [x, b.floats('s1', [4], [1, 1, 1.5, 2])], { mode: 'nearest' });
      return b.op('Resize', [a, b.floats('s2', [4], [1, 1, 0.5, 1.25])], { mode: 'linear' });
    },
  },
  {
    name: 'Slice-9 (starts/ends/axes attributes)',
    opset: 9,
    input: [2, 3, 6, 5],
    changed: ['Slice'],
    build: (b, x) => {
      const a = b.op('Slice', [x], { starts: [1, -4], ends: [1000, -1], axes: [2, 3] });
      return b.op('Slice', [a], { starts: [0, 1], ends: [1, 3] });
    },
  },
  {
    name: 'TopK-9 (k attribute)',
    opset: 9,
    input: [2, 7],
    changed: ['TopK'],
    build: (b, x) => b.node('TopK', [x], { k: 3, axis: 1 }, { outputCount: 2 })[0],
  },
  {
    name: 'Pad-10 (pads and value attributes), constant and reflect',
    opset: 10,
    input: [1, 2, 4, 4],
    changed: ['Pad'],
    build: (b, x) => {
      const a = b.op('Pad', [x], { pads: [0, 0, 1, 2, 0, 0, 2, 1], value: attr.float(0.75) });
      return b.op('Pad', [a], { pads: [0, 0, 1, 1, 0, 0, 1, 1], mode: 'reflect' });
    },
  },
  {
    name: 'Clip-6 (min/max attributes), and one with max only',
    opset: 9,
    input: [2, 8],
    changed: ['Clip'],
    build: (b, x) => {
      const a = b.op('Clip', [x], { min: attr.float(-0.2), max: attr.float(0.3) });
      const c = b.op('Clip', [x], { max: attr.float(0.1) });
      return b.op('Add', [a, c]);
    },
  },
  {
    name: 'Dropout-10 (ratio attribute) is identity in inference',
    opset: 10,
    input: [2, 5],
    changed: ['Dropout'],
    build: (b, x) => b.op('Dropout', [x], { ratio: attr.float(0.3) }),
  },
  {
    name: 'BatchNormalization-7 (spatial=1)',
    opset: 7,
    input: [2, 3, 4, 4],
    changed: ['BatchNormalization'],
    build: (b, x) =>
      b.op(
        'BatchNormalization',
        [x, b.floats('g', [3], [1, 2, 0.5]), b.floats('be', [3], [0.1, -0.2, 0.3]), b.floats('m', [3], [0, 0.1, -0.1]), b.floats('v', [3], [1, 0.5, 2])],
        { spatial: 1, epsilon: attr.float(1e-5) },
      ),
  },
  {
    name: 'Squeeze/Unsqueeze-11 (axes attributes)',
    opset: 11,
    input: [2, 1, 5],
    changed: ['Squeeze', 'Unsqueeze'],
    build: (b, x) => {
      const a = b.op('Squeeze', [x], { axes: [1] });
      return b.op('Unsqueeze', [a], { axes: [0, 3] });
    },
  },
  {
    name: 'Split-11 (split attribute) and an even split',
    opset: 11,
    input: [2, 6],
    changed: ['Split'],
    build: (b, x) => {
      const [p, q] = b.node('Split', [x], { axis: 1, split: [2, 4] }, { outputCount: 2 });
      const [r, s] = b.node('Split', [q], { axis: 1 }, { outputCount: 2 });
      return b.op('Concat', [r, p, s], { axis: 1 });
    },
  },
  {
    name: 'ReduceSum-11 (axes attribute) and ReduceMean (changes at 18)',
    opset: 11,
    input: [2, 3, 4],
    changed: ['ReduceSum'],
    build: (b, x) => {
      const a = b.op('ReduceSum', [x], { axes: [2], keepdims: 1 });
      return b.op('ReduceMean', [a], { axes: [1], keepdims: 0 });
    },
  },
  {
    name: 'Softmax-11 over axis 1 of a rank-4 tensor (coerced to 2-D)',
    opset: 11,
    input: [2, 3, 2, 2],
    changed: ['Softmax'],
    build: (b, x) => b.op('Softmax', [x], { axis: 1 }),
  },
  {
    name: 'LogSoftmax-11 default axis on [N, C] (last axis) and Hardmax',
    opset: 11,
    input: [3, 5],
    changed: ['LogSoftmax', 'Hardmax'],
    build: (b, x) => b.op('Add', [b.op('LogSoftmax', [x]), b.op('Hardmax', [x], { axis: 0 })]),
  },
];

async function run(model: ModelProto, input: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(serializeModel(model));
  try {
    const out = await session.run({ x: new ort.Tensor('float32', input, dims) });
    return out[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

function worst(a: Float32Array, b: Float32Array): number {
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(a[i])));
  return w;
}

describe('opset upgrade: outputs equal the original model in onnxruntime', () => {
  for (const c of CASES) {
    it(c.name, async (t) => {
      const b = ModelBuilder.create(c.opset);
      const x = b.input('x', F, c.input);
      const y = c.build(b, x);
      b.op('Identity', [y], {}, { outputs: ['y'] });
      b.output('y', F);
      const original = b.build();
      const n = c.input.reduce((p, q) => p * q, 1);
      const input = randomArray(n, 7, 1);
      const expected = await run(original, input, c.input);
      for (const to of [13, 18]) {
        const up = upgradeOpset(original, to);
        deepStrictEqual([up.from, up.to], [c.opset, to]);
        const ops = new Set(up.changes.map((ch) => ch.op));
        for (const op of c.changed) ok(ops.has(op), `${op} adapted (changes: ${up.changes.map((ch) => `${ch.op}@${ch.version}`).join(', ')})`);
        const got = await run(up.model, input, c.input);
        deepStrictEqual(got.length, expected.length);
        const diff = worst(expected, got);
        t.diagnostic(`→ ${to}: ${up.changes.length} node(s) rewritten, max relative diff ${diff.toExponential(1)}`);
        ok(diff <= 1e-6, `outputs agree after the upgrade to ${to} (${diff})`);
      }
      // the original is untouched
      deepStrictEqual(original.opsetImport.find((o) => !o.domain)?.version, c.opset);
    });
  }

  it('a model at or above the target is returned unchanged', () => {
    const b = ModelBuilder.create(17);
    b.op('Relu', [b.input('x', F, [1])], {}, { outputs: ['y'] });
    b.output('y', F);
    const m = b.build();
    const up = upgradeOpset(m, 13);
    ok(up.model === m && up.changes.length === 0);
  });

  it('refuses what has no equivalent, naming the node, op and versions', () => {
    const b = ModelBuilder.create(7);
    const x = b.input('x', F, [2, 3, 4]);
    b.op(
      'BatchNormalization',
      [
        x,
        b.floats('g', [3, 4], new Array(12).fill(1)),
        b.floats('be', [3, 4], new Array(12).fill(0)),
        b.floats('m', [3, 4], new Array(12).fill(0)),
        b.floats('v', [3, 4], new Array(12).fill(1)),
      ],
      { spatial: 0 },
      { name: 'bn0', outputs: ['y'] },
    );
    b.output('y', F);
    throws(
      () => upgradeOpset(b.build(), 13),
      (e: unknown) => e instanceof CamLensError && e.code === 'UNSUPPORTED_OP' && /opset 7 to 13: node "bn0" \(BatchNormalization\): spatial=0/.test(e.message),
    );
    const old = ModelBuilder.create(6);
    old.op('Relu', [old.input('x', F, [1])], {}, { outputs: ['y'] });
    old.output('y', F);
    throws(() => upgradeOpset(old.build(), 13), /opset 6; CamLens reads opset 7 and newer/);
  });

  it('Clip constants take the dtype of the clipped value (float16)', async () => {
    const b = ModelBuilder.create(9);
    const x = b.input('x', DataType.FLOAT16, [4]);
    b.op('Clip', [x], { min: attr.float(-0.5), max: attr.float(0.25) }, { outputs: ['y'] });
    b.output('y', DataType.FLOAT16, [4]);
    const up = upgradeOpset(b.build(), 13);
    const halves = Uint16Array.from([-1, -0.25, 0.125, 2].map(floatToHalf));
    const session = await ort.InferenceSession.create(serializeModel(up.model));
    const out = await session.run({ x: new ort.Tensor('float16', halves, [4]) });
    await session.release();
    const raw = out.y.data as unknown as ArrayLike<number>;
    const values = Array.from(raw, (v) => (typeof v === 'number' && Number.isInteger(v) && v > 1 ? halfToFloat(v) : Number(v)));
    deepStrictEqual(values, [-0.5, -0.25, 0.125, 0.25]);
  });

  it('float16 and bfloat16 tensors round-trip through makeTensor', () => {
    const values = [0, 1, -2.5, 65504, 1e-7, 0.1];
    const half = tensorToArray(makeTensor('h', DataType.FLOAT16, [6], values));
    deepStrictEqual(
      Array.from(half as Float32Array).map((v) => Number(v.toPrecision(3))),
      [0, 1, -2.5, 65500, 1.19e-7, 0.1],
    );
    const bf = tensorToArray(makeTensor('b', DataType.BFLOAT16, [6], values));
    deepStrictEqual(Array.from(bf as Float32Array).slice(0, 3), [0, 1, -2.5]);
  });
});
