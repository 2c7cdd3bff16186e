// Batch with detector and value targets (issue 16): --box all writes one row per detection (its
// place, class, score and box), one map and one set of files per detection (S, S.box1, ...); the
// journal, summary, resume and merge count those rows; --box N, --target and the CLI.
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { explainBatch } from '../../src/engine/batch/batchedExplain';
import { mergeBatches } from '../../src/engine/batch/merge';
import { compareRows } from '../../src/engine/batch/outputs';
import { runBatch } from '../../src/engine/batch/runner';
import { indexJournal, JOURNAL_NAME, readRowsAt, SummaryJournal } from '../../src/engine/batch/summaryJournal';
import type { BatchBackend, BatchJob, SummaryRow } from '../../src/engine/batch/types';
import { parseCsv } from '../../src/engine/csv';
import { explain } from '../../src/engine/explain';
import { decodeNpy, writeNpy } from '../../src/engine/npy';
import { serializeModel } from '../../src/engine/onnx/io';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { randomArray } from '../helpers/models';
import { YOLO_LIKE, yoloLike } from '../helpers/yolo';

const sessions = new SessionCache();
const local: BatchBackend = (p, signal) => explainBatch(p, { sessions, signal });
const tmp = fs.mkdtempSync(join(tmpdir(), 'camlens-batch-boxes-'));
const yolo = join(tmp, 'yolo.onnx');
const inputs = join(tmp, 'in');
const names = ['a.npy', 'b.npy', 'sub/c.npy'];
const detectorParams = { provider: { provider: 'cpu' as const }, layers: [YOLO_LIKE.neckP3], conf: 0.3 };

before(() => {
  fs.writeFileSync(yolo, serializeModel(yoloLike({ size: 64 })));
  fs.mkdirSync(join(inputs, 'sub'), { recursive: true });
  names.forEach((n, i) =>
    writeNpy(
      join(inputs, n),
      randomArray(3 * 64 * 64, 5 + i, 1).map((v) => v + 0.5),
      [1, 3, 64, 64],
    ),
  );
  // An image the model cannot read: its rows are errors, and it counts once as failed.
  fs.writeFileSync(join(inputs, 'broken.npy'), 'not an array');
});
after(async () => {
  await sessions.releaseAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const job = (out: string, extra: Partial<BatchJob> = {}): BatchJob => ({
  modelPath: yolo,
  inputs: [inputs],
  outDir: join(tmp, out),
  methods: ['gradcam'],
  params: { ...detectorParams, allBoxes: true },
  batchSize: 2,
  report: true,
  ...extra,
});

const journalLines = (dir: string) => fs.readFileSync(join(dir, JOURNAL_NAME), 'utf8').trim().split('\n');

describe('batch --box all', () => {
  let expected: Map<string, Awaited<ReturnType<typeof explain>>>;
  before(async () => {
    expected = new Map();
    for (const n of names)
      expected.set(n, await explain({ modelPath: yolo, input: join(inputs, n), ...detectorParams, allBoxes: true, overlay: false }, { sessions }));
  });
  const detectionCount = () => [...expected.values()].reduce((a, r) => a + r.detections!.length, 0);

  it('writes one row per detection, with its box, class and score, and one map per detection', async () => {
    ok(
      [...expected.values()].some((r) => r.detections!.length >= 2),
      'a test image has several detections',
    );
    const o = await runBatch(job('all'), local);
    equal(o.total, 4);
    equal(o.done, 4);
    equal(o.failed, 1);
    equal(o.rowCount, detectionCount() + 1);
    const rows = o.rows;
    equal(rows.length, o.rowCount);
    equal(journalLines(o.outDir).length, o.rowCount);
    for (const n of names) {
      const r = expected.get(n)!;
      const mine = rows.filter((x) => x.path === n);
      equal(mine.length, r.detections!.length, n);
      mine.forEach((row, i) => {
        const d = r.detections![i];
        equal(row.status, 'ok');
        equal(row.box, i);
        equal(row.target_class, d.class);
        equal(row.target_label, d.label);
        ok(Math.abs(row.box_score! - d.score) < 1e-6);
        deepEqual([row.box_x0, row.box_y0, row.box_x1, row.box_y1], d.box);
        const stem = n.replace(/\.npy$/, '');
        equal(row.output, i ? `${stem}.box${i}` : stem);
        // The map of detection i is explain's map of detection i.
        const cam = decodeNpy(fs.readFileSync(join(o.outDir, `${row.output}.cam.npy`)));
        deepEqual(cam.data, r.explanations[i].cam.data);
        ok(fs.existsSync(join(o.outDir, `${row.output}.overlay.png`)));
      });
      const json = JSON.parse(fs.readFileSync(join(o.outDir, `${n.replace(/\.npy$/, '')}.json`), 'utf8'));
      equal(json.detections.length, r.detections!.length);
      json.explanations.forEach((e: { box: number; target: { index: number[] } }, i: number) => {
        equal(e.box, i);
        deepEqual(e.target.index, r.detections![i].index);
      });
    }
    const broken = rows.filter((x) => x.path === 'broken.npy');
    equal(broken.length, 1);
    equal(broken[0].status, 'error');
    equal(broken[0].box, undefined);

    // summary.csv: the box columns after the target, one line per row.
    const [header, ...records] = parseCsv(fs.readFileSync(o.files.summaryCsv, 'utf8'), 'summary.csv').map((r) => r.cells);
    deepEqual(header.slice(7, 15), ['target_label', 'box', 'box_score', 'box_x0', 'box_y0', 'box_x1', 'box_y1', 'ground_truth']);
    equal(records.length, o.rowCount);
    // report.html: the rows with their boxes.
    const html = fs.readFileSync(o.files.report!, 'utf8');
    const reportRows = JSON.parse(/<script id="rows" type="application\/json">(.*?)<\/script>/s.exec(html)![1]) as SummaryRow[];
    deepEqual(
      reportRows.map((r) => [r.path, r.box]),
      rows.map((r) => [r.path, r.box]),
    );
  });

  it('--resume rebuilds the same rows from the files (one per detection)', async () => {
    const first = await runBatch(job('resume'), local);
    const again = await runBatch(job('resume', { resume: true }), local);
    equal(again.resumed, 3);
    equal(again.done, 1); // the broken image is tried again
    equal(again.rowCount, first.rowCount);
    equal(journalLines(again.outDir).length, again.rowCount);
    const key = (r: SummaryRow) => [r.path, r.box, r.target_class, r.box_score, r.box_x0, r.box_y1, r.output];
    deepEqual(again.rows.map(key), first.rows.map(key));
    ok(again.rows.filter((r) => r.path !== 'broken.npy').every((r) => r.status === 'resumed'));
  });

  it('merge of shards counts every detection row once', async () => {
    const a = await runBatch(job('shard1', { shard: { index: 1, count: 2 } }), local);
    const b = await runBatch(job('shard2', { shard: { index: 2, count: 2 } }), local);
    equal(a.total + b.total, 4);
    const m = await mergeBatches([a.outDir, b.outDir], join(tmp, 'merged'));
    equal(m.rowCount, detectionCount() + 1);
    equal(m.done, 4);
    equal(m.failed, 1);
    deepEqual(
      m.rows.map((r) => [r.path, r.box]),
      [...a.rows, ...b.rows].sort(compareRows).map((r) => [r.path, r.box]),
    );
    match(fs.readFileSync(m.files.summaryCsv, 'utf8').split('\n')[0], /target_label,box,box_score,box_x0/);
  });

  it('--box N: one row per image, the N-th detection; --target: one row per image, its target in S.json', async () => {
    const o = await runBatch(job('box1', { params: { ...detectorParams, box: 0 } }), local);
    equal(o.rowCount, 4);
    for (const n of names) {
      const row = o.rows.find((r) => r.path === n)!;
      equal(row.box, 0);
      equal(row.target_class, expected.get(n)!.detections![0].class);
    }
    const t = await runBatch(
      job('target', { params: { provider: { provider: 'cpu' }, layers: [YOLO_LIKE.neckP3], target: { value: YOLO_LIKE.output, select: { kind: 'max' } } } }),
      local,
    );
    equal(t.rowCount, 4);
    const row = t.rows.find((r) => r.path === 'a.npy')!;
    equal(row.box, undefined);
    const json = JSON.parse(fs.readFileSync(join(t.outDir, 'a.json'), 'utf8'));
    equal(json.explanations[0].target.value, YOLO_LIKE.output);
    equal(json.explanations[0].target.index.length, 3);
  });

  it('the CLI: --box all writes the box columns; --box on a classifier is a typed error', () => {
    const bin = resolve(__dirname, '../../../bin/camlens.js');
    const out = join(tmp, 'cli');
    const cli = spawnSync(
      process.execPath,
      [bin, 'batch', yolo, inputs, '--out', out, '--box', 'all', '--conf', '0.3', '--layer', YOLO_LIKE.neckP3, '--ep', 'cpu', '--quiet'],
      { encoding: 'utf8' },
    );
    equal(cli.status, 3, cli.stderr); // the broken image
    match(cli.stdout, new RegExp(`explained 4 of 4 images \\(1 failed, 0 resumed, ${detectionCount() + 1} rows\\)`));
    match(fs.readFileSync(join(out, 'summary.csv'), 'utf8').split('\n')[0], /,box,box_score,box_x0,box_y0,box_x1,box_y1,/);
    const demo = resolve(__dirname, '../../../demo/model.onnx');
    const refused = spawnSync(process.execPath, [bin, 'batch', demo, inputs, '--out', join(tmp, 'cli2'), '--box', 'all', '--ep', 'cpu', '--quiet'], {
      encoding: 'utf8',
    });
    ok(refused.status !== 0);
    match(refused.stderr, /--box needs a detector/);
  });
});

describe('summary journal: a slot of several rows', () => {
  const row = (path: string, box?: number, extra: Partial<SummaryRow> = {}): SummaryRow => ({
    path,
    method: 'gradcam',
    status: 'ok',
    predicted_class: 0,
    predicted_label: '0',
    predicted_prob: 0.5,
    target_class: 0,
    target_label: '0',
    ground_truth: null,
    layer: 'l',
    ep: 'cpu',
    preprocess_ms: 1,
    run_ms: 1,
    cam_ms: 1,
    overlay_ms: 1,
    write_ms: 1,
    output: path,
    ...(box !== undefined ? { box, box_score: 0.9, box_x0: 1, box_y0: 2, box_x1: 3, box_y1: 4 } : {}),
    error: null,
    ...extra,
  });

  it('counts rows, not slots; a slot written again keeps its last rows whole', () => {
    const file = join(tmp, 'slots.jsonl');
    const j = new SummaryJournal(file, 3);
    j.append(2, [row('c', 0), row('c', 1), row('c', 2)]);
    j.append(0, row('a'));
    equal(j.rowCount, 4);
    equal(j.boxes, true);
    j.append(2, [row('c', 0, { run_ms: 7 }), row('c', 1, { run_ms: 7 })]);
    equal(j.rowCount, 3);
    j.close();
    deepEqual(
      [...j.rowsInOrder()].map((r) => [r.path, r.box, r.run_ms]),
      [
        ['a', undefined, 1],
        ['c', 0, 7],
        ['c', 1, 7],
      ],
    );
  });

  it('indexJournal: the later write of a path and method replaces the earlier one whole', async () => {
    const file = join(tmp, 'index-boxes.jsonl');
    const lines = [row('c', 0), row('c', 1), row('c', 2), row('a'), row('c', 0, { run_ms: 7 }), row('c', 1, { run_ms: 7 })];
    fs.writeFileSync(file, lines.map((r) => JSON.stringify(r) + '\n').join(''));
    const entries = await indexJournal(file);
    deepEqual(
      [...readRowsAt(file, entries)].map((r) => [r.path, r.box, r.run_ms]),
      [
        ['a', undefined, 1],
        ['c', 0, 7],
        ['c', 1, 7],
      ],
    );
  });
});
