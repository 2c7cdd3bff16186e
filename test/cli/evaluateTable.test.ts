// `camlens evaluate --method a,b,c`: the comparison table (pure) and the command end to end.
import { equal, match, ok } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { metricColumns } from '../../src/cli/commands/evaluate';
import { comparisonTable } from '../../src/cli/commands/evaluateTable';
import type { EvaluateResult } from '../../src/engine/metrics/evaluate';
import type { CompareResult, MethodComparison } from '../../src/engine/pipeline/compare';

const evaluation = (method: string, metrics: Record<string, number>) => ({ method, metrics, curves: {} }) as unknown as EvaluateResult;
const cell = (method: string, ms: number, metrics?: Record<string, number>): MethodComparison =>
  ({
    method,
    ok: Boolean(metrics),
    explainMs: ms,
    metricsMs: 1,
    layers: [],
    warnings: [],
    ...(metrics ? { evaluation: evaluation(method, metrics) } : { error: { code: 'BAD_ARGUMENT', message: 'no attention here' } }),
  }) as MethodComparison;
const image = (input: string, methods: MethodComparison[]): CompareResult => ({
  model: 'm',
  input,
  classIndex: 1,
  label: 'x',
  predictions: [],
  ep: 'cpu',
  methods,
  timings_ms: { total: 1 },
});

describe('evaluate comparison table', () => {
  const table = comparisonTable(
    [
      image('a.png', [
        cell('gradcam', 10, { deletion_auc: 0.2, insertion_auc: 0.8, random_deletion_auc: 0.5, random_insertion_auc: 0.5 }),
        cell('layercam', 30, { deletion_auc: 0.4, insertion_auc: 0.9, random_deletion_auc: 0.5, random_insertion_auc: 0.5 }),
        cell('attention-rollout', 0),
      ]),
      image('b.png', [
        cell('gradcam', 20, { deletion_auc: 0.4, insertion_auc: 0.6, random_deletion_auc: 0.3, random_insertion_auc: 0.7 }),
        cell('layercam', 50, { deletion_auc: 0.2, insertion_auc: 0.5, random_deletion_auc: 0.3, random_insertion_auc: 0.7 }),
        cell('attention-rollout', 0),
      ]),
    ],
    metricColumns,
  ).split('\n');

  it('has a row per method with the means over the images, the best starred by its direction', () => {
    match(table[0], /^method\s+images\s+explain ms\s+deletion_auc \(low\)\s+insertion_auc$/);
    // gradcam: deletion (0.2+0.4)/2 = 0.3, insertion 0.7, 15 ms; layercam: 0.3, 0.7, 40 ms: a tie is starred twice
    match(table[1], /^gradcam\s+2\/2\s+15\s+0\.300\*\s+0\.700\*$/);
    match(table[2], /^layercam\s+2\/2\s+40\s+0\.300\*\s+0\.700\*$/);
    match(table[3], /^attention-rollout\s+0\/2\s+-\s+-\s+-$/);
    match(table[4], /^random map\s+0\.400\s+0\.600$/);
  });

  it('names each failed method and image', () => {
    const failed = table.slice(table.indexOf('failed:') + 1);
    equal(failed.length, 2);
    match(failed[0], /attention-rollout on a\.png: no attention here/);
  });

  it('stars the lower deletion AUC and the higher insertion AUC', () => {
    const t = comparisonTable(
      [image('a.png', [cell('gradcam', 1, { deletion_auc: 0.1, insertion_auc: 0.2 }), cell('layercam', 1, { deletion_auc: 0.3, insertion_auc: 0.4 })])],
      metricColumns,
    ).split('\n');
    match(t[1], /0\.100\*\s+0\.200 $|0\.100\*\s+0\.200$/);
    match(t[2], /0\.300 \s+0\.400\*$/);
  });

  it('camlens evaluate --method a,b prints the table, writes a row per image and method, and exits 3 when a method failed', () => {
    const cli = resolve(__dirname, '../../../bin/camlens.js');
    if (!existsSync(resolve(__dirname, '../../cli.js'))) throw new Error('dist/cli.js missing: build first');
    const out = join(mkdtempSync(join(tmpdir(), 'camlens-cmp-')), 'out');
    const args = [cli, 'evaluate', 'demo/model.onnx', 'demo/images/star_1.png', '--metrics', 'deletion', '--steps', '4', '--out', out];
    const r = spawnSync(process.execPath, [...args, '--method', 'gradcam,layercam'], { encoding: 'utf8' });
    equal(r.status, 0, r.stderr);
    match(r.stdout, /^gradcam\s+1\/1\s+\d+\s+\d\.\d{3}[* ]\s+\d\.\d{3}/m);
    match(r.stdout, /^layercam\s+1\/1/m);
    const csv = readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\n');
    equal(csv.length, 3);
    ok(csv[1].includes(',gradcam,') && csv[2].includes(',layercam,'));
    const json = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    ok('deletion_auc' in json.mean.gradcam && 'deletion_auc' in json.mean.layercam, 'means per method');
    const failing = spawnSync(process.execPath, [...args, '--method', 'gradcam,attention-rollout'], { encoding: 'utf8' });
    equal(failing.status, 3, failing.stderr);
    match(failing.stdout, /failed:\n\s+attention-rollout on demo\/images\/star_1\.png: No attention probabilities/);
    const unknown = spawnSync(process.execPath, [...args, '--method', 'gradcam,vibes'], { encoding: 'utf8' });
    equal(unknown.status, 2);
  });
});
