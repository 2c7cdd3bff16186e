// What consumers of shape inference (the layer listing, the autodiff's gradient rules) ask of its
// result: lookups by value name, known contents of small tensors, the caller's known types, and
// contradictions recorded instead of thrown.
import { deepStrictEqual, equal, ok, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CamLensError } from '../../src/engine/errors';
import { DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { Graph } from '../../src/engine/onnx/graph';
import { parseModel, serializeModel } from '../../src/engine/onnx/io';
import { analyseShapes, type AnalyseOptions } from '../../src/engine/onnx/shapes';
import { MAX_FOLD_FLOAT_INITIALIZER } from '../../src/engine/onnx/shapes/values';

const F = DataType.FLOAT;
const I64 = DataType.INT64;

function graphOf(build: (b: ModelBuilder) => void): Graph {
  const b = ModelBuilder.create(17);
  build(b);
  return Graph.fromModel(parseModel(serializeModel(b.build())));
}

const analyse = (build: (b: ModelBuilder) => void, options?: AnalyseOptions) => analyseShapes(graphOf(build), options);

describe('shape inference: lookups', () => {
  it('answers element type, shape, rank and static shape by name, and unknown for names it has not seen', () => {
    const r = analyse((b) => {
      b.input('x', F, ['batch', 3, 4]);
      b.floats('w', [4, 5], new Array(20).fill(1));
      b.op('MatMul', ['x', 'w'], {}, { outputs: ['y'] });
      b.op('Cast', ['y'], { to: DataType.DOUBLE }, { outputs: ['z'] });
      b.output('z');
    });
    equal(r.dtype('y'), F);
    equal(r.dtype('z'), DataType.DOUBLE);
    deepStrictEqual(r.shape('z'), ['batch', 3, 5]);
    equal(r.rank('z'), 3);
    equal(r.staticShape('z'), undefined, 'a symbolic dim is not static');
    deepStrictEqual(r.staticShape('w'), [4, 5]);
    // e.g. a value the autodiff emitted after the analysis
    equal(r.dtype('nowhere'), 0);
    equal(r.shape('nowhere'), undefined);
    equal(r.rank('nowhere'), undefined);
    equal(r.numbers('nowhere'), undefined);
  });

  it('reads small initializers on demand, folded shape arithmetic and Constant nodes; never weights or symbols', () => {
    const r = analyse((b) => {
      b.input('x', F, ['batch', 3, 8, 8]);
      b.int64s('axes', [2, 3]);
      b.floats('scales', [4], [1, 1, 2, 2]);
      b.floats('bias', [MAX_FOLD_FLOAT_INITIALIZER + 1], new Array(MAX_FOLD_FLOAT_INITIALIZER + 1).fill(0.5));
      b.op('Shape', ['x'], {}, { outputs: ['shape'] });
      b.op('Gather', ['shape', b.int64s('last', [3], [])], { axis: 0 }, { outputs: ['width'] });
      b.op('Slice', ['shape', b.int64s('from', [0]), b.int64s('to', [2])], {}, { outputs: ['nc'] });
      b.node('Constant', [], { value_ints: [7, -1] }, { outputs: ['k'] });
      b.output('width', I64);
    });
    ok(!r.values.has('axes'), 'initializers are not decoded until asked for');
    deepStrictEqual(r.numbers('axes'), [2, 3]);
    ok(r.values.has('axes'), 'and are kept once decoded');
    deepStrictEqual(r.numbers('scales'), [1, 1, 2, 2]);
    equal(r.numbers('bias'), undefined, 'float tensors over MAX_FOLD_FLOAT_INITIALIZER are weights, not shape data');
    deepStrictEqual(r.numbers('width'), [8]);
    deepStrictEqual(r.numbers('k'), [7, -1]);
    equal(r.numbers('nc'), undefined, '["batch", 3] has a symbol in it');
    deepStrictEqual(r.values.get('nc')?.data, ['batch', 3]);
  });
});

describe('shape inference: what the caller already knows', () => {
  it("fills what the rules leave unknown from `known`, and keeps a rule's numbers over it", () => {
    const build = (b: ModelBuilder) => {
      b.input('x', F, ['batch', 3, 8, 8]);
      b.input('target', I64, [null]);
      b.op('Reshape', ['x', 'target'], {}, { outputs: ['y'] });
      b.op('Relu', ['x'], {}, { outputs: ['z'] });
      b.output('y');
      b.output('z');
    };
    equal(analyse(build).rank('y'), undefined, 'a runtime Reshape target of unknown length leaves even the rank unknown');
    const r = analyse(build, {
      known: new Map([
        ['y', { dtype: F, shape: ['batch', 3, 64] }],
        ['z', { dtype: F, shape: [1, 'c', 8, null] }],
      ]),
    });
    deepStrictEqual(r.shape('y'), ['batch', 3, 64]);
    // z: the rule's 3 beats the caller's symbol, the caller's 1 beats the rule's symbol
    deepStrictEqual(r.shape('z'), [1, 3, 8, 8]);
  });

  it("lets the model's own declarations win over `known`", () => {
    const r = analyse(
      (b) => {
        b.input('x', F, ['batch', 3]);
        b.input('target', I64, [2]);
        b.op('Reshape', ['x', 'target'], {}, { outputs: ['y'] });
        b.output('y', F, [null, 3]);
      },
      { known: new Map([['y', { dtype: F, shape: [2, 9] }]]) },
    );
    deepStrictEqual(r.shape('y'), [2, 3]);
  });
});

describe('shape inference: contradictions', () => {
  const build = (b: ModelBuilder) => {
    b.input('x', F, [2, 3]);
    b.input('u', F, [4, 3]);
    b.op('Add', ['x', 'u'], {}, { outputs: ['bad'] });
    b.op('Relu', ['bad'], {}, { outputs: ['after'] });
    b.op('Sigmoid', ['x'], {}, { outputs: ['fine'] });
    b.output('after');
    b.output('fine', F, [2, 3]);
  };

  it('throws SHAPE_INFERENCE naming the node by default', () => {
    throws(
      () => analyse(build),
      (e: unknown) => e instanceof CamLensError && e.code === 'SHAPE_INFERENCE' && /\(Add\)/.test(e.message),
    );
  });

  it('with contradictions: "record", keeps it in ruleErrors, leaves that node\'s outputs unknown and goes on', () => {
    const r = analyse(build, { contradictions: 'record' });
    equal(r.ruleErrors.length, 1);
    equal(r.ruleErrors[0].opType, 'Add');
    ok(/do not broadcast/.test(r.ruleErrors[0].message), r.ruleErrors[0].message);
    equal(r.shape('bad'), undefined);
    equal(r.shape('after'), undefined);
    deepStrictEqual(r.shape('fine'), [2, 3]);
    equal(r.dtype('fine'), F);
  });
});
