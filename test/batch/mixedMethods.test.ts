// Batch with every method: the stackable ones keep their stacked run when others (channel runs,
// attention) go image by image, and a method failing on an image is that method's error row.
// Before: one non-stackable method sent every method down the per-image road, and one failing
// method (attention-rollout on a CNN) turned every method's row of the image into an error.
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { explainBatch } from '../../src/engine/batch/batchedExplain';
import { withData } from '../../src/engine/batch/types';
import { runBatch } from '../../src/engine/batch/runner';
import { SessionCache } from '../../src/engine/runtime/sessions';

const sessions = new SessionCache();
after(() => sessions.releaseAll());
const MODEL = 'demo/model.onnx';
const INPUTS = ['demo/images/star_1.png', 'demo/images/circle_1.png'];

describe('batch with every method', () => {
  it('keeps the stacked run for the stackable methods and explains the others per image', async () => {
    const mixed = await explainBatch({ modelPath: MODEL, inputs: INPUTS, methods: ['gradcam', 'eigencam', 'scorecam'] }, { sessions });
    const stackedOnly = await explainBatch({ modelPath: MODEL, inputs: INPUTS, methods: ['gradcam', 'eigencam'] }, { sessions });
    equal(mixed.batched, true);
    equal(mixed.runSizes[0], 2, 'gradcam and eigencam shared one run of both images');
    for (const [i, item] of mixed.items.entries()) {
      ok(item.ok);
      deepEqual(item.maps.map((m) => m.method).sort(), ['eigencam', 'gradcam', 'scorecam']);
      const alone = stackedOnly.items[i];
      ok(alone.ok);
      deepEqual(withData(item.maps.find((m) => m.method === 'gradcam')!).cam.data, withData(alone.maps.find((m) => m.method === 'gradcam')!).cam.data);
    }
  });

  it('writes a failing method as its own error rows and the other methods as usual', async () => {
    const out = fs.mkdtempSync(join(tmpdir(), 'camlens-mixed-'));
    const o = await runBatch(
      { modelPath: MODEL, inputs: INPUTS, outDir: out, methods: ['gradcam', 'attention-rollout', 'scorecam'], report: false },
      (p, signal) => explainBatch(p, { sessions, signal }),
    );
    const rows = o.rows;
    equal(rows.length, 6);
    for (const r of rows) {
      if (r.method === 'attention-rollout') {
        equal(r.status, 'error');
        match(r.error ?? '', /No attention probabilities/);
      } else equal(r.status, 'ok', `${r.path} ${r.method}: ${r.error}`);
    }
    ok(fs.existsSync(join(out, 'scorecam', 'star_1.cam.npy')) || fs.readdirSync(join(out, 'scorecam')).some((f) => f.endsWith('.cam.npy')));
  });
});
