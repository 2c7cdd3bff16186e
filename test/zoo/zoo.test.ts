// Issue 15's zoo: every entry explains (Grad-CAM on `features`, class 0), gives a non-degenerate
// map, and agrees with the float model it was derived from (Pearson ≥ 0.999 for exact twins;
// the entry's own floor, with its reason, where precision or quantization makes them differ).
import { equal, match, ok, throws } from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildGradientGraph } from '../../src/engine/autodiff';
import { parseModelConfig } from '../../src/engine/image/config';
import { DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { floatTwin } from '../../src/engine/surgery/floatTwin';
import { runZooEntry, ZOO, ZOO_LAYER, zooImages } from '../helpers/zoo';
import { explainBatch } from '../../src/engine/batch/batchedExplain';
import { withData } from '../../src/engine/batch/types';
import { serializeModel } from '../../src/engine/onnx/io';

const sessions = new SessionCache();
const dir = mkdtempSync(join(tmpdir(), 'camlens-zoo-'));
after(async () => {
  await sessions.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('model zoo (issue 15)', () => {
  for (const entry of ZOO) {
    it(`${entry.category}: ${entry.name} explains and agrees with its float reference`, async () => {
      const r = await runZooEntry(entry, dir, sessions);
      ok(r.informative, `${entry.name}: the map is constant or not finite`);
      if (r.agreement !== undefined) {
        const floor = entry.minPearson ?? 0.999;
        ok(r.agreement >= floor, `${entry.name}: Pearson ${r.agreement.toFixed(5)} < ${floor}${entry.why ? ` (${entry.why})` : ''}`);
      }
    });
  }
});

describe('multi-input models in batch and evaluate too', () => {
  it('binds the inputs other than the image from the config in explainBatch as in explain', async () => {
    const entry = ZOO.find((e) => e.name === 'multi-input')!;
    const file = join(dir, 'multi_batch.onnx');
    writeFileSync(file, serializeModel(entry.model()));
    writeFileSync(join(dir, 'multi_batch.camlens.json'), JSON.stringify(entry.config));
    const { rgb } = await zooImages(dir);
    const r = await explainBatch(
      { modelPath: file, inputs: [rgb, rgb], methods: ['gradcam'], layers: [ZOO_LAYER], provider: { provider: 'cpu' } },
      { sessions },
    );
    equal(r.items.length, 2);
    for (const item of r.items) {
      if (!item.ok) throw new Error(`${item.input}: ${item.error.message}`);
      equal(item.maps.length, 1, 'one map per input');
      ok(
        withData(item.maps[0]).cam.data.some((v) => v > 0),
        'the map is not all zero',
      );
    }
  });
});

describe('quantized models: float twin', () => {
  it('says in the notes that a quantized model is explained through its float twin', async () => {
    const entry = ZOO.find((e) => e.name === 'QDQ int8')!;
    const r = await runZooEntry(entry, dir, sessions);
    match(String(r.result.notes.quantized), /^float-twin/);
    match(String(r.result.notes.quantizedOps), /QuantizeLinear×\d+, DequantizeLinear×\d+/);
  });

  it('refuses (never a zero map) when a quantized value on the path passes an op the twin cannot follow', () => {
    const b = ModelBuilder.create(17);
    b.useOpset('custom.domain', 1);
    const x = b.input('input', DataType.FLOAT, [1, 4]);
    const s = b.floats('s', [], [0.1]);
    const zp = b.initializer('zp', DataType.UINT8, [], [0]);
    const q = b.op('QuantizeLinear', [b.op('Relu', [x], {}, { outputs: ['features'] }), s, zp]);
    const odd = b.node('OddQuantOp', [q], {}, { name: 'odd', domain: 'custom.domain' })[0];
    b.op('DequantizeLinear', [odd, s, zp], {}, { outputs: ['logits'] });
    b.output('logits', DataType.FLOAT, [1, 4]);
    throws(() => buildGradientGraph(b.build(), { target: 'logits', wrt: ['features'] }), /No gradient reaches "features".*odd \(custom\.domain::OddQuantOp\)/);
  });

  it('rebuilds nothing for a float model', () => {
    const model = ZOO[0].model();
    equal(floatTwin(model).model, model);
  });
});

describe('config keys for inputs from the wild', () => {
  it('reads input.alpha, alphaFill and inputs, and names what is wrong', () => {
    const c = parseModelConfig({ input: { alpha: 'fill', alphaFill: 128 }, inputs: { gain: { value: 0.5 } } }, 'c.json', dir);
    equal(c.input.alpha, 'fill');
    equal(c.input.alphaFill, 128);
    equal((c.inputs!.gain as { value: number }).value, 0.5);
    throws(() => parseModelConfig({ input: { alpha: 'drop' } }, 'c.json', dir), /"input.alpha" must be "keep" or "fill"/);
    throws(() => parseModelConfig({ inputs: { gain: { value: 'x' } } }, 'c.json', dir), /"inputs.gain" must be/);
    throws(() => parseModelConfig({ inputs: { gain: { npy: '../up.npy' } } }, 'c.json', dir), /points outside the config's folder/);
  });
});
