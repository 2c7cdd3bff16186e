// End-to-end: evaluateExplanation on the demo model (always present) and on the fixtures'
// trained shapes_cnn with the shapes_dev masks (skipped visibly without fixtures), plus the CLI.
import { deepEqual, equal, ok } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { evaluateExplanation, type EvaluateResult } from '../../src/engine/metrics/evaluate';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { fixtures } from '../helpers/fixtures';

const sessions = new SessionCache();
after(() => sessions.releaseAll());
const dir = mkdtempSync(join(tmpdir(), 'camlens-eval-test-'));
const SHAPES_CONFIG = join(dir, 'shapes.camlens.json');
writeFileSync(
  SHAPES_CONFIG,
  JSON.stringify({
    input: { size: [96, 96], resize: 'stretch', scale: 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], channels: 'RGB', layout: 'NCHW' },
    labels: ['circle', 'square', 'triangle', 'cross'],
  }),
);
const mean = (rs: EvaluateResult[], k: string) => rs.reduce((s, r) => s + r.metrics[k], 0) / rs.length;

describe('evaluate end to end', () => {
  it('demo model: finds the mask beside the image, computes every default family, batches the perturbations', async () => {
    const r = await evaluateExplanation({ modelPath: 'demo/model.onnx', input: 'demo/images/circle_1.png', steps: 10, stabilityDraws: 2 }, { sessions });
    equal(r.groundTruth?.kind, 'mask');
    for (const k of [
      'iou',
      'pointing_game',
      'energy_in_mask',
      'topk_intersection',
      'deletion_auc',
      'insertion_auc',
      'confidence_drop',
      'region_confidence',
      'stability',
      'max_sensitivity',
    ]) {
      ok(Number.isFinite(r.metrics[k]), k);
      if (k !== 'stability' && k !== 'max_sensitivity') ok(Number.isFinite(r.metrics[`random_${k}`]), `random_${k}`);
    }
    equal(r.curves.deletion!.length, 11);
    equal(r.details.threshold, 'fixed:0.5');
    deepEqual(r.details.stability_seeds, [0, 1]);
    // 2 × (1 + 2·11 + 2) = 50 inputs at 32 a run: 2 runs.
    deepEqual(r.modelRuns, { perturbation: 2, explanations: 3, imagesScored: 50 });
    ok(r.metrics.stability > 0.5 && r.metrics.stability <= 1);
  });

  it('demo model: the sanity check changes the map when the layers after the CAM layer are re-drawn', async () => {
    const r = await evaluateExplanation(
      { modelPath: 'demo/model.onnx', input: 'demo/images/square_1.png', metrics: ['sanity'], sanityCascade: true },
      { sessions },
    );
    const cascade = r.details.sanity_cascade as Array<{ layer: string; spearman: number }>;
    ok(cascade.length >= 1);
    ok(r.metrics.sanity_spearman < 0.9, `spearman ${r.metrics.sanity_spearman}`);
  });

  it('shapes_cnn on shapes_dev: Grad-CAM beats the random map on pointing game, IoU and deletion/insertion AUC', async (t) => {
    const root = fixtures(t);
    if (!root) return;
    const results: EvaluateResult[] = [];
    for (const name of ['00000', '00001', '00002', '00003']) {
      results.push(
        await evaluateExplanation(
          {
            modelPath: join(root, 'models/shapes_cnn.onnx'),
            input: join(root, `images/shapes_dev/${name}.png`),
            configPath: SHAPES_CONFIG,
            metrics: ['localisation', 'deletion', 'random'],
            steps: 10,
          },
          { sessions },
        ),
      );
    }
    ok(results.every((r) => r.groundTruth?.kind === 'mask'));
    const m = (k: string) => mean(results, k);
    t.diagnostic(
      `pointing ${m('pointing_game')} vs ${m('random_pointing_game')}; iou ${m('iou').toFixed(3)} vs ${m('random_iou').toFixed(3)}; deletion ${m('deletion_auc').toFixed(3)} vs ${m('random_deletion_auc').toFixed(3)}; insertion ${m('insertion_auc').toFixed(3)} vs ${m('random_insertion_auc').toFixed(3)}`,
    );
    ok(m('pointing_game') > m('random_pointing_game'));
    ok(m('iou') > m('random_iou'));
    ok(m('energy_in_mask') > m('random_energy_in_mask'));
    ok(m('deletion_auc') < m('random_deletion_auc'));
    ok(m('insertion_auc') > m('random_insertion_auc'));
  });

  it('camlens evaluate writes summary.csv and summary.json and prints JSON', () => {
    const cli = resolve(__dirname, '../../../bin/camlens.js');
    if (!existsSync(resolve(__dirname, '../../cli.js'))) throw new Error('dist/cli.js missing: build first');
    const out = join(dir, 'out');
    const r = spawnSync(
      process.execPath,
      [
        cli,
        'evaluate',
        'demo/model.onnx',
        'demo/images/star_1.png',
        '--metrics',
        'localisation,deletion',
        '--steps',
        '4',
        '--threshold',
        'otsu',
        '--out',
        out,
        '--json',
      ],
      { encoding: 'utf8' },
    );
    equal(r.status, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    equal(json.images.length, 1);
    ok('iou' in json.images[0] && 'deletion_auc' in json.mean && !('random_iou' in json.mean));
    equal(json.images[0].details.threshold, 'otsu');
    const csv = readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\n');
    equal(csv.length, 2);
    ok(csv[0].startsWith('image,method,class,label,iou,pointing_game'));
    const bad = spawnSync(process.execPath, [cli, 'evaluate', 'demo/model.onnx', 'demo/images/star_1.png', '--json', '--metrics', 'vibes'], {
      encoding: 'utf8',
    });
    equal(bad.status, 2);
    ok(/--metrics: "vibes"/.test(bad.stderr));
  });
});
