// The panel's predicted regions (issue 16, item 7): the `setRegionClass` intent is checked like
// every other, and the `result` view of a segmentation model lists the classes predicted with
// their pixel share, the largest first, and says which one's region was explained.
import { deepEqual, equal, ok } from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { explain } from '../../src/engine/explain';
import { writeNpy } from '../../src/engine/npy';
import { serializeModel } from '../../src/engine/onnx/io';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { explainView } from '../../src/host/panel/explainView';
import { parseFromWebview } from '../../src/panel/protocol';
import { randomArray, tinyCnn } from '../helpers/models';
import { tinySegmenter } from '../helpers/nonClassifiers';

const sessions = new SessionCache();
const dir = mkdtempSync(join(tmpdir(), 'camlens-panel-regions-'));
after(async () => {
  await sessions.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('panel predicted regions', () => {
  it('setRegionClass: a class index, nothing else', () => {
    deepEqual(parseFromWebview({ type: 'setRegionClass', classIndex: 2 }), { type: 'setRegionClass', classIndex: 2 });
    for (const bad of [
      { type: 'setRegionClass' },
      { type: 'setRegionClass', classIndex: null },
      { type: 'setRegionClass', classIndex: -1 },
      { type: 'setRegionClass', classIndex: 1.5 },
      { type: 'setRegionClass', classIndex: '1' },
    ])
      equal(parseFromWebview(bad), undefined, JSON.stringify(bad));
  });

  const modelPath = join(dir, 'seg.onnx');
  writeFileSync(modelPath, serializeModel(tinySegmenter()));
  const input = join(dir, 'x.npy');
  writeNpy(input, randomArray(3 * 32 * 32, 41, 1), [1, 3, 32, 32]);
  // What the panel asks (explainController.params): predicted regions, ignored by other outputs.
  const params = { modelPath, input, region: 'predicted' as const, overlay: false as const, provider: { provider: 'cpu' as const } };

  it('lists the classes predicted with their pixel share, largest first; a picked class explains its region', async () => {
    const best = await explain(params, { sessions });
    const v = explainView(best, 1)!;
    const regions = v.regions!;
    ok(regions.length >= 2, `${regions.length} classes predicted`);
    deepEqual(
      regions.map((g) => [g.class, g.label, g.pixels, g.share]),
      best.regions!.map((g) => [g.class, g.label, g.pixels, g.share]),
    );
    const total = regions.reduce((a, g) => a + g.pixels, 0);
    equal(total, 32 * 32);
    regions.forEach((g, i) => {
      ok(Math.abs(g.share - g.pixels / total) < 1e-9);
      if (i) ok(g.pixels <= regions[i - 1].pixels, 'the largest region first');
    });
    equal(v.classIndex, regions[0].class, 'by default the largest region is explained');

    const other = regions[1];
    const picked = await explain({ ...params, classIndex: other.class }, { sessions });
    const pv = explainView(picked, 2)!;
    equal(pv.classIndex, other.class);
    const t = picked.explanations[0].target!;
    equal(t.reduce, 'region-sum');
    equal(t.pixels, other.pixels, 'the target sums the class over exactly its predicted pixels');
    deepEqual(pv.regions, v.regions, 'the list stays the same whichever class is explained');
  });

  it('a classifier asked for predicted regions (every panel request) has none and explains as before', async () => {
    const clsPath = join(dir, 'cnn.onnx');
    writeFileSync(clsPath, serializeModel(tinyCnn()));
    const x = join(dir, 'c.npy');
    writeNpy(x, randomArray(3 * 32 * 32, 5, 1), [1, 3, 32, 32]);
    const plain = await explain({ ...params, modelPath: clsPath, input: x, region: undefined }, { sessions });
    const asked = await explain({ ...params, modelPath: clsPath, input: x }, { sessions });
    equal(explainView(asked, 1)!.regions, undefined);
    equal(asked.explanations[0].classIndex, plain.explanations[0].classIndex);
    deepEqual(asked.explanations[0].cam.data, plain.explanations[0].cam.data);
  });
});
