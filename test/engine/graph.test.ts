import { deepStrictEqual, equal, ok, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CamLensError } from '../../src/engine/errors';
import { attr, DataType, emptyGraph, ModelBuilder } from '../../src/engine/onnx/builder';
import { Graph } from '../../src/engine/onnx/graph';
import { readModelFile } from '../../src/engine/onnx/io';
import { buildScopeTree } from '../../src/engine/onnx/scopes';
import { fixtureModels, fixtures } from '../helpers/fixtures';
import { tinyCnn } from '../helpers/models';

const invalid = (code: string, pattern: RegExp) => (e: unknown) => e instanceof CamLensError && e.code === code && pattern.test(e.message);

describe('Graph', () => {
  it('indexes producers, consumers, initializers and inputs', () => {
    const g = Graph.fromModel(tinyCnn());
    deepStrictEqual(g.inputs, ['input']);
    deepStrictEqual(g.outputs, ['logits']);
    equal(g.producerOf('logits')!.opType, 'Gemm');
    deepStrictEqual(
      g.consumersOf('input').map((n) => n.name),
      ['/block1/conv/Conv'],
    );
    equal(g.kindOf('conv1.weight'), 'initializer');
    equal(g.kindOf('input'), 'input');
    equal(g.kindOf('logits'), 'activation');
    equal(g.kindOf('nope'), undefined);
    equal(g.opset(), 17);
  });

  it('orders nodes topologically even when the file is shuffled', () => {
    const model = tinyCnn();
    model.graph!.node.reverse();
    const g = Graph.fromModel(model);
    const seen = new Set(g.inputs.concat([...g.initializers.keys()]));
    for (const node of g.nodes) {
      for (const i of node.inputs) ok(seen.has(i), `${node.name} runs after ${i} is ready`);
      node.outputs.forEach((o) => seen.add(o));
    }
  });

  it('gives unnamed nodes stable names and keeps duplicate names apart', () => {
    const b = ModelBuilder.create();
    const x = b.input('x', DataType.FLOAT, [2]);
    b.op('Relu', [x], {}, { outputs: ['a'] });
    b.op('Relu', ['a'], {}, { outputs: ['b'] });
    b.output('b');
    const model = b.build();
    model.graph!.node[0].name = '';
    model.graph!.node[1].name = '';
    deepStrictEqual(
      Graph.fromModel(model).nodes.map((n) => n.name),
      ['Relu_0', 'Relu_1'],
    );
    model.graph!.node[0].name = 'same';
    model.graph!.node[1].name = 'same';
    deepStrictEqual(
      Graph.fromModel(model).nodes.map((n) => n.name),
      ['same', 'same#2'],
    );
  });

  it('rejects dangling inputs, cycles and duplicate producers with typed errors', () => {
    const dangling = tinyCnn();
    dangling.graph!.node[1].input[0] = 'ghost';
    throws(() => Graph.fromModel(dangling), invalid('MODEL_INVALID', /reads "ghost", which no node/));

    const b = ModelBuilder.create();
    b.input('x', DataType.FLOAT, [2]);
    b.op('Add', ['x', 'b'], {}, { outputs: ['a'], name: 'n1' });
    b.op('Relu', ['a'], {}, { outputs: ['b'], name: 'n2' });
    b.output('b');
    throws(() => Graph.fromModel(b.build()), invalid('MODEL_INVALID', /cycle/));

    const dup = tinyCnn();
    dup.graph!.node[1].output[0] = dup.graph!.node[0].output[0];
    throws(() => Graph.fromModel(dup), invalid('MODEL_INVALID', /produced twice/));
  });

  it('treats values read inside If/Loop bodies as implicit inputs, without flattening', () => {
    const body = emptyGraph('then');
    body.node.push({ input: ['outer'], output: ['inner'], opType: 'Relu', name: 'inner_relu', attribute: [], metadataProps: [], deviceConfigurations: [] });
    body.output.push({ name: 'inner', metadataProps: [] });
    const b = ModelBuilder.create();
    b.input('cond', DataType.BOOL, []);
    b.input('x', DataType.FLOAT, [2]);
    b.op('Neg', ['x'], {}, { outputs: ['outer'], name: 'neg' });
    b.node('If', ['cond'], { then_branch: attr.graph(body), else_branch: attr.graph(body) }, { outputs: ['y'], name: 'if' });
    b.output('y');
    const g = Graph.fromModel(b.build());
    deepStrictEqual(g.node('if')!.implicitInputs, ['outer']);
    deepStrictEqual(
      g.consumersOf('outer').map((n) => n.name),
      ['if'],
    );
    equal(g.nodes.length, 2, 'subgraph nodes are not flattened into the main graph');
    equal(g.node('if')!.subgraphs.length, 2);
  });

  it('builds the scope hierarchy from exporter node names', (t) => {
    const tree = buildScopeTree(Graph.fromModel(tinyCnn()));
    deepStrictEqual(
      tree.children.map((c) => c.name),
      ['block1', 'block2', 'pool', 'fc'],
    );
    deepStrictEqual(
      tree.children[0].children.map((c) => c.path),
      ['block1/conv', 'block1/relu'],
    );
    deepStrictEqual(
      tree.nodes.map((n) => n.name),
      ['/Flatten'],
    );
    if (!fixtures(t)) return;
    const resnet = buildScopeTree(Graph.fromModel(readModelFile(fixtureModels().find((m) => m.name === 'resnet18')!.path)));
    const layer4 = resnet.children.find((c) => c.name === 'layer4')!;
    deepStrictEqual(
      layer4.children.map((c) => c.name),
      ['layer4.0', 'layer4.1'],
    );
    ok(layer4.children[1].children.some((c) => c.name === 'conv2'));
  });
});
