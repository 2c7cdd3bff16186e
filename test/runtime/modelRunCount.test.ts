// The model-run count every explanation reports (notes.modelRuns, notes.modelRunRows): each
// onnxruntime run of the engine counted once, with the rows it carried, per request.
import { equal } from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { explain } from '../../src/engine/explain';
import { countModelRuns, recordModelRun } from '../../src/engine/runtime/modelRunCount';
import { SessionCache } from '../../src/engine/runtime/sessions';

const sessions = new SessionCache();
after(() => sessions.releaseAll());
const base = { modelPath: 'demo/model.onnx', input: 'demo/images/star_2.png', classIndex: 1, overlay: false, provider: { provider: 'cpu' as const } };

describe('model-run count', () => {
  it('counts nothing outside a count, and each run with its leading dim inside one', async () => {
    recordModelRun([4, 3]);
    const { runs, rows } = await countModelRuns(async () => {
      recordModelRun([4, 3, 8, 8]);
      recordModelRun([]);
      recordModelRun(undefined);
    });
    equal(runs, 3);
    equal(rows, 6);
  });

  it('Grad-CAM: the one gradient run; Eigen-CAM: the one forward run with taps', async () => {
    for (const method of ['gradcam', 'eigencam', 'shapleycam'] as const) {
      const r = await explain({ ...base, method }, { sessions });
      equal(r.notes.modelRuns, 1, method);
      equal(r.notes.modelRunRows, 1, method);
    }
  });

  // The first run, the masked channels in runs of 4, and one zero-image run for every constant channel.
  const scoreCamRuns = (notes: Record<string, number | string>) =>
    1 + Math.ceil(Number(notes.channelsMasked) / 4) + (Number(notes.channelsSkipped) > 0 ? 1 : 0);

  it('Score-CAM: the first run and its channel runs, one row per masked channel', async () => {
    const r = await explain({ ...base, method: 'scorecam', batchSize: 4 }, { sessions });
    equal(r.notes.modelRuns, scoreCamRuns(r.notes));
    equal(r.notes.modelRuns, 1 + Number(r.notes.channelRuns));
    equal(r.notes.modelRunRows, 1 + Number(r.notes.channelsMasked) + (Number(r.notes.channelsSkipped) > 0 ? 1 : 0));
  });

  it('Integrated Gradients: the forward, the input and baseline scores, and the path in batches', async () => {
    const r = await explain({ ...base, method: 'integrated-gradients', igSteps: 5, batchSize: 2 }, { sessions });
    equal(r.notes.modelRuns, 1 + 1 + 3);
    equal(r.notes.modelRunRows, 1 + 2 + 5);
  });

  it('keeps concurrent requests apart', async () => {
    const [a, b] = await Promise.all([
      explain({ ...base, method: 'gradcam' }, { sessions }),
      explain({ ...base, method: 'scorecam', batchSize: 4 }, { sessions }),
    ]);
    equal(a.notes.modelRuns, 1);
    equal(b.notes.modelRuns, scoreCamRuns(b.notes));
  });
});
