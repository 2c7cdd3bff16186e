// Requests that would exhaust the machine are refused before they run (issue 18): a model input
// declared 8000x8000, a graph input of 2^53 elements, an Expand to 1e12 elements, a batch over
// the budget. The estimate (runtime/memoryBudget.ts) comes from the model's shapes.
import { equal, ok, rejects } from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { explainBatch } from '../../src/engine/batch/batchedExplain';
import { CamLensError } from '../../src/engine/errors';
import { explain } from '../../src/engine/explain';
import { DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { serializeModel } from '../../src/engine/onnx/io';
import { defaultMemoryBudgetBytes, estimateMemory } from '../../src/engine/runtime/memoryBudget';
import { loadModel } from '../../src/engine/model';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { randomArray } from '../helpers/models';

const REPO = resolve(__dirname, '../../..');
const IMAGE = join(REPO, 'demo/images/circle_1.png');
const dir = mkdtempSync(join(tmpdir(), 'camlens-budget-'));
const sessions = new SessionCache();
after(async () => {
  await sessions.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});

/** conv → relu → GAP → flatten → gemm, on an input of `shape`, with an optional extra op. */
function cnn(name: string, shape: Array<number | string>, extra?: (b: ModelBuilder, x: string) => string): string {
  const b = ModelBuilder.create(17);
  const x = b.input('input', DataType.FLOAT, shape);
  const c = b.op('Relu', [b.op('Conv', [x, b.floats('w', [4, 3, 3, 3], randomArray(108, 1))], { pads: [1, 1, 1, 1] })], {}, { outputs: ['features'] });
  const h = extra ? extra(b, c) : c;
  const g = b.op('Flatten', [b.op('GlobalAveragePool', [h])]);
  b.op('Gemm', [g, b.floats('fc', [2, 4], randomArray(8, 2))], { transB: 1 }, { outputs: ['logits'] });
  b.output('logits', DataType.FLOAT);
  const file = join(dir, `${name}.onnx`);
  writeFileSync(file, serializeModel(b.build()));
  return file;
}

const overBudget = (e: unknown) => e instanceof CamLensError && /would need about .* more than the budget/.test(e.message);

describe('hostile: memory budget', () => {
  it('a model input declared 8000x8000 is refused before the image is resized to it', async () => {
    const model = cnn('huge-input', [1, 3, 8000, 8000]);
    const t0 = Date.now();
    await rejects(explain({ modelPath: model, input: IMAGE, provider: { provider: 'cpu', memoryBudgetMB: 2048 } }, { sessions }), overBudget);
    ok(Date.now() - t0 < 2000, 'refused at once');
  });

  it('a graph input of 2^53 elements and an Expand to 1e12 elements are refused with the value named', async () => {
    const wide = cnn('wide', [1, 3, 2 ** 26, 2 ** 26]);
    await rejects(explain({ modelPath: wide, input: IMAGE, provider: { provider: 'cpu' } }, { sessions }), overBudget);
    const expand = cnn('expand', [1, 3, 32, 32], (b, x) =>
      b.op('Expand', [b.op('GlobalAveragePool', [x]), b.int64s('to', [1, 4, 1_000_000, 250_000])], {}, { outputs: ['huge'] }),
    );
    await rejects(
      explain({ modelPath: expand, input: IMAGE, layers: ['features'], provider: { provider: 'cpu' } }, { sessions }),
      (e: unknown) => overBudget(e) && /"huge" \[1, 4, 1000000, 250000\]/.test((e as Error).message),
    );
  });

  it('a batch over the budget fails its rows with the reason; 0 means no limit', async () => {
    const model = cnn('small', ['batch', 3, 64, 64]);
    const r = await explainBatch(
      { modelPath: model, inputs: [IMAGE, IMAGE, IMAGE, IMAGE], methods: ['gradcam'], batchSize: 4, provider: { provider: 'cpu', memoryBudgetMB: 0.05 } },
      { sessions },
    );
    ok(
      r.items.every((i) => !i.ok && /A batch of 4 images would need about/.test(i.error.message)),
      JSON.stringify(r.items.map((i) => (i.ok ? 'ok' : i.error.message))),
    );
    const free = await explain({ modelPath: model, input: IMAGE, provider: { provider: 'cpu', memoryBudgetMB: 0 } }, { sessions });
    ok(free.explanations.length === 1);
    const fits = await explain({ modelPath: model, input: IMAGE, provider: { provider: 'cpu' } }, { sessions });
    ok(fits.explanations.length === 1, 'the default budget lets a small model through');
  });

  it('estimates once per model, size and rows, and reads the available memory at most once a second', () => {
    const model = loadModel(cnn('estimates', [1, 3, 'h', 'w']));
    const a = estimateMemory(model, [1, 3, 64, 64], 2, true);
    equal(estimateMemory(model, [1, 3, 64, 64], 2, true), a, 'the same estimate, not a second walk');
    const b = estimateMemory(model, [1, 3, 128, 128], 2, true);
    ok(b.perRowBytes > a.perRowBytes * 3.5, `4x the pixels: ${a.perRowBytes} -> ${b.perRowBytes}`);
    equal(estimateMemory(model, [1, 3, 64, 64], 4, true).totalBytes - model.fileBytes, 2 * (a.totalBytes - model.fileBytes), 'rows scale it');
    const t = performance.now();
    const budget = defaultMemoryBudgetBytes(t);
    ok(budget > 0);
    equal(defaultMemoryBudgetBytes(t + 500), budget);
  });
});
