// Shape inference into If branches and Loop bodies: both branches joined (rank when they agree,
// each dim where they agree), a statically decided branch taken with its known contents, Loop
// carried values keeping their rank, scan outputs gaining a leading axis, and outer-scope names
// read inside subgraphs.
import { deepStrictEqual, equal } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attr, DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { Graph } from '../../src/engine/onnx/graph';
import { subgraph } from '../helpers/models';
import { parseModel, serializeModel } from '../../src/engine/onnx/io';
import { analyseShapes } from '../../src/engine/onnx/shapes';

const F = DataType.FLOAT;
const I64 = DataType.INT64;
const BOOL = DataType.BOOL;

function analyse(build: (b: ModelBuilder) => void) {
  const b = ModelBuilder.create(17);
  build(b);
  return analyseShapes(Graph.fromModel(parseModel(serializeModel(b.build()))));
}

describe('shape inference: If', () => {
  it('joins both branches: the rank where they agree, each dim where they agree, outer values visible', () => {
    const r = analyse((b) => {
      b.input('x', F, [2, 3]);
      b.input('c', BOOL, []);
      b.input('boxes', F, [1, 'A', 4]);
      b.input('scores', F, [1, 1, 'A']);
      const thenBranch = subgraph((t) => {
        t.op('Relu', ['x'], {}, { outputs: ['t_y'] });
        t.initializer('t_keep', I64, [0], []);
        t.op('Identity', ['x'], {}, { outputs: ['t_z'] });
        t.output('t_y', F);
        t.output('t_keep', I64);
        t.output('t_z', F);
      });
      const elseBranch = subgraph((e) => {
        e.op('Neg', ['x'], {}, { outputs: ['e_y'] });
        // torchvision's batched NMS: keep = NMS(...)[:, 2]
        const sel = e.op('NonMaxSuppression', ['boxes', 'scores']);
        e.op(
          'Squeeze',
          [e.op('Gather', [sel, e.initializer('e_col', I64, [1], [2])], { axis: 1 }), e.initializer('e_ax', I64, [1], [1])],
          {},
          { outputs: ['e_keep'] },
        );
        e.op('Reshape', ['x', e.initializer('e_flat', I64, [1], [-1])], {}, { outputs: ['e_z'] });
        e.output('e_y', F);
        e.output('e_keep', I64);
        e.output('e_z', F);
      });
      b.node('If', ['c'], { then_branch: attr.graph(thenBranch), else_branch: attr.graph(elseBranch) }, { outputs: ['y', 'keep', 'z'] });
      b.op('Gather', [b.op('Reshape', ['scores', b.initializer('flat', I64, [1], [-1])]), 'keep'], {}, { outputs: ['kept'] });
      b.output('kept');
    });
    deepStrictEqual(r.typeOf('y'), { dtype: F, shape: [2, 3] });
    deepStrictEqual(r.typeOf('keep'), { dtype: I64, shape: [null] }, 'a 0-element constant and a run-time count agree on the rank only');
    deepStrictEqual(r.typeOf('z'), { dtype: F }, 'ranks 2 and 1: even the rank is unknown');
    deepStrictEqual(r.shape('kept'), [null], 'the Gather after the If gets a rank');
    equal(r.ruleErrors.length, 0);
  });

  it('a condition folded to a constant selects its branch, known contents included', () => {
    const r = analyse((b) => {
      b.input('x', F, ['N', 3, 4]);
      const cond = b.op('Equal', [b.op('Shape', ['x'], { start: 1, end: 2 }), b.initializer('three', I64, [1], [3])]);
      const c = b.op('Squeeze', [cond, b.initializer('ax0', I64, [1], [0])]);
      const thenBranch = subgraph((t) => {
        t.initializer('t_shape', I64, [2], [-1, 12]);
        t.output('t_shape', I64);
      });
      const elseBranch = subgraph((e) => {
        e.initializer('e_shape', I64, [3], [-1, 2, 6]);
        e.output('e_shape', I64);
      });
      const shape = b.node('If', [c], { then_branch: attr.graph(thenBranch), else_branch: attr.graph(elseBranch) }, { outputs: ['shape'] })[0];
      b.op('Reshape', ['x', shape], {}, { outputs: ['y'] });
      b.output('y');
    });
    deepStrictEqual(r.numbers('shape'), [-1, 12]);
    deepStrictEqual(r.shape('y'), ['N', 12]);
  });
});

describe('shape inference: Loop', () => {
  it('carried values keep their rank (dims that change become unknown); scan outputs gain a leading axis', () => {
    const r = analyse((b) => {
      b.input('x', F, [1, 4]);
      b.input('w', F, [3]);
      b.input('m', I64, []);
      const loopBody = subgraph((l) => {
        l.input('i', I64, []);
        l.input('cond_in', BOOL, []);
        l.input('acc', F, [null, 4]);
        l.op('Identity', ['cond_in'], {}, { outputs: ['cond_out'] });
        l.op('Concat', ['acc', 'x'], { axis: 0 }, { outputs: ['acc_out'] });
        l.op('Relu', ['w'], {}, { outputs: ['scan'] });
        l.output('cond_out', BOOL);
        l.output('acc_out', F);
        l.output('scan', F);
      });
      b.node('Loop', ['m', '', 'x'], { body: attr.graph(loopBody) }, { outputs: ['acc', 'scans'] });
      b.node('Loop', [b.initializer('five', I64, [], [5]), '', 'x'], { body: attr.graph(loopBody) }, { outputs: ['acc5', 'scans5'] });
      b.output('scans5');
    });
    deepStrictEqual(r.typeOf('acc'), { dtype: F, shape: [null, 4] });
    deepStrictEqual(r.typeOf('scans'), { dtype: F, shape: [null, 3] });
    deepStrictEqual(r.shape('scans5'), [5, 3], 'a known trip count with no condition is the scan length');
  });
});
