import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listLayers, suggestCamLayer } from '../../src/engine/layers';
import { analyseModel, loadModel } from '../../src/engine/model';
import { fixtureModels, fixtures } from '../helpers/fixtures';
import { tinyCnn, tinyTokenModel } from '../helpers/models';

describe('layer listing and CAM layer suggestion', () => {
  it('lists inputs and node outputs with op, dtype, shape and scope', () => {
    const rows = listLayers(analyseModel(tinyCnn(), 'tiny'));
    deepStrictEqual(rows[0], { name: 'input', node: '', op: 'Input', dtype: 'float32', shape: ['batch', 3, 32, 32], scope: '', suggested: false });
    const relu2 = rows.find((r) => r.node === '/block2/relu/Relu')!;
    deepStrictEqual(
      { ...relu2, name: '' },
      { name: '', node: '/block2/relu/Relu', op: 'Relu', dtype: 'float32', shape: ['batch', 16, 16, 16], scope: 'block2/relu', suggested: true },
    );
    equal(rows.filter((r) => r.suggested).length, 1);
  });

  it('suggests the last spatial map for CNNs and the last token sequence for transformers', () => {
    const cnn = analyseModel(tinyCnn(), 'tiny');
    equal(cnn.graph.producerOf(suggestCamLayer(cnn)!.value)!.name, '/block2/relu/Relu');
    const vit = analyseModel(tinyTokenModel(), 'vit');
    const s = suggestCamLayer(vit)!;
    equal(s.kind, 'tokens');
    equal(vit.graph.producerOf(s.value)!.name, '/ln/LayerNormalization');
  });

  it('suggests the reference layers on the fixture models', (t) => {
    if (!fixtures(t)) return;
    const expected: Record<string, string> = {
      resnet18: '/layer4/layer4.1/relu_1/Relu_output_0',
      convnext_mini: '/features/features.7/features.7.0/Add_output_0',
      shapes_cnn: '/block4/block4.1/block4.1.2/Relu_output_0',
    };
    for (const m of fixtureModels()) {
      const s = suggestCamLayer(loadModel(m.path));
      ok(s, `${m.name}: a suggestion`);
      t.diagnostic(`${m.name}: ${s!.value} (${s!.kind})`);
      if (expected[m.name]) equal(s!.value, expected[m.name], m.name);
      if (m.name === 'vit_tiny') equal(s!.kind, 'tokens');
      if (m.name === 'swin_mini') equal(s!.kind, 'spatial');
    }
  });
});
