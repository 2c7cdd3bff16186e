// A torchvision detector with its post-processing in the graph (SSD with a tiny backbone,
// test/fixtures/tvdetect, exported by scripts/refs/export_torchvision_detector.py): batched NMS
// sits in an If, scores pass through a score threshold and TopK. Explaining the score of kept
// detection 0 gives a real map on a backbone layer (the gradient crosses the post-processing).
import { equal, ok } from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { explain } from '../../src/engine/explain';
import { SessionCache } from '../../src/engine/runtime/sessions';

const sessions = new SessionCache();
after(() => sessions.releaseAll());

const MODEL = 'test/fixtures/tvdetect/tiny_ssd.onnx';

describe('torchvision detector (NMS inside the graph)', () => {
  it('explains scores@0 on the backbone: a non-empty map, no zero-gradient warning', async () => {
    const r = await explain(
      {
        modelPath: MODEL,
        input: 'demo/images/star_1.png',
        target: { value: 'scores', select: { kind: 'index', index: [0] } },
        layers: ['/backbone/stem/stem.5/Relu_output_0'],
      },
      { sessions },
    );
    const e = r.explanations[0];
    equal(e.target?.value, 'scores');
    ok(e.target!.score > 0 && e.target!.score <= 1, `score ${e.target!.score}`);
    ok(Math.max(...e.cam.data) > 0.5, 'the map is not empty');
    ok(!r.warnings.some((w) => w.code === 'zero-gradient'), JSON.stringify(r.warnings));
  });
});
