// The batch summaries are streamed (issue 7: memory must not grow with the image count): rows go
// to summary.jsonl as they finish and summary.csv / summary.json / report.html are written from
// it a row at a time; `camlens merge` reads the shards' journals a row at a time. These tests pin the
// bytes to those of the one-string renderers, so streaming changed nothing a user can see.
import { deepEqual, equal, match, ok, rejects } from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { after, describe, it } from 'node:test';
import { explainBatch } from '../../src/engine/batch/batchedExplain';
import { compareRows, summaryCsv } from '../../src/engine/batch/outputs';
import { renderReport } from '../../src/engine/batch/report';
import { mergeBatches } from '../../src/engine/batch/merge';
import { runBatch } from '../../src/engine/batch/runner';
import { readSummaryFigures, summaryMeta, withRowsFromSummary, writeSummaries } from '../../src/engine/batch/summaryFiles';
import { indexJournal, JOURNAL_NAME, readRowsAt, SummaryJournal } from '../../src/engine/batch/summaryJournal';
import type { BatchOutcome, SummaryRow } from '../../src/engine/batch/types';
import { CamLensError } from '../../src/engine/errors';
import { SessionCache } from '../../src/engine/runtime/sessions';

const root = resolve(__dirname, '../../..');
const model = join(root, 'demo/model.onnx');
const demo = fs.readdirSync(join(root, 'demo/images')).filter((f) => f.endsWith('.png') && !f.includes('.mask.'));
const tmp = fs.mkdtempSync(join(tmpdir(), 'camlens-summary-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const row = (path: string, method: 'gradcam' | 'layercam', extra: Partial<SummaryRow> = {}): SummaryRow => ({
  path,
  method,
  status: 'ok',
  predicted_class: 1,
  predicted_label: 'square',
  predicted_prob: 0.875,
  target_class: 1,
  target_label: 'square',
  ground_truth: null,
  layer: 'conv2',
  ep: 'cpu',
  preprocess_ms: 1.25,
  run_ms: 3.5,
  cam_ms: 0.1234567,
  overlay_ms: 2,
  write_ms: 0.5,
  output: `${method}/${path.replace(/\.\w+$/, '')}`,
  error: null,
  ...extra,
});

/** Rows that exercise every escaping path: CSV quoting, "</script>", unicode, nested metrics. */
const awkwardRows = (): SummaryRow[] => [
  row('a/one.png', 'gradcam', { metrics: { iou: 0.5, pointing_game: 1 } }),
  row('a/one.png', 'layercam', { metrics: { iou: 0.25, deletion_auc: 0.125 } }),
  row('b/"quoted", name.png', 'gradcam', { predicted_label: 'Grüße 😀', target_label: 'x,y' }),
  row('c/broken.png', 'gradcam', {
    status: 'error',
    predicted_class: null,
    predicted_label: null,
    predicted_prob: null,
    output: null,
    error: 'could not be decoded: </script><b>"bad"</b>,\nsecond line',
  }),
  row('d/resumed.png', 'gradcam', { status: 'resumed', overlay_ms: null, write_ms: null }),
];

async function* slowly<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const x of items) yield await Promise.resolve(x);
}

function fakeOutcome(outDir: string, rows: number): BatchOutcome {
  return withRowsFromSummary({
    outDir,
    total: 7,
    done: 5,
    failed: 1,
    resumed: 1,
    cancelled: false,
    elapsedMs: 1234.5,
    imagesPerSecond: 4.25,
    batchSize: 4,
    batched: true,
    rowCount: rows,
    files: { summaryCsv: join(outDir, 'summary.csv'), summaryJson: join(outDir, 'summary.json') },
  });
}

/** The three files, compared with what the one-string renderers make of the same rows. */
function assertSameAsInMemory(
  o: BatchOutcome,
  job: { modelPath: string; inputs: string[]; methods: Array<'gradcam' | 'layercam'> },
  rows: SummaryRow[],
  inputRoot: string,
) {
  const meta = summaryMeta(o, job);
  equal(fs.readFileSync(o.files.summaryCsv, 'utf8'), summaryCsv(rows));
  equal(fs.readFileSync(o.files.summaryJson, 'utf8'), JSON.stringify({ ...meta, rows }, null, 1) + '\n');
  const imagePath = (rel: string) => relative(o.outDir, join(inputRoot, rel)).split(sep).join('/');
  equal(fs.readFileSync(o.files.report!, 'utf8'), renderReport(rows, { title: `CamLens batch: ${job.modelPath.split('/').pop()}`, meta, imagePath }));
  ok(!fs.readdirSync(o.outDir).some((f) => f.includes('.tmp-')), 'no temp files left');
}

describe('streamed batch summaries', () => {
  it('writes the bytes of the in-memory renderers (CSV quoting, metric columns, </script> in strings, nesting), and with no rows', async () => {
    const rows = awkwardRows();
    const inputRoot = join(tmp, 'w1', 'inputs');
    const job = { modelPath: '/models/m.onnx', inputs: [inputRoot], methods: ['gradcam', 'layercam'] as Array<'gradcam' | 'layercam'> };
    const o = fakeOutcome(join(inputRoot, 'out'), rows.length);
    await writeSummaries(o, job, { rows: slowly(rows), metricNames: new Set(rows.flatMap((r) => Object.keys(r.metrics ?? {}))) });
    assertSameAsInMemory(o, job, rows, inputRoot);
    deepEqual(o.rows, rows);
    match(fs.readFileSync(o.files.summaryCsv, 'utf8').split('\n')[0], /,error,metric:deletion_auc,metric:iou,metric:pointing_game$/);

    const empty = fakeOutcome(join(inputRoot, 'out-empty'), 0);
    await writeSummaries(empty, job, { rows: [], metricNames: [] });
    assertSameAsInMemory(empty, job, [], inputRoot);
  });

  it('a real run: summaries equal the one-string renderers over its rows, in path order, and the journal holds the same rows', async () => {
    const images = join(tmp, 'real');
    fs.mkdirSync(join(images, 'nested'), { recursive: true });
    demo.forEach((f, i) => fs.copyFileSync(join(root, 'demo/images', f), join(images, i % 2 ? 'nested' : '', f)));
    fs.writeFileSync(join(images, 'broken.png'), 'not a picture');
    const sessions = new SessionCache();
    const job = {
      modelPath: model,
      inputs: [images],
      outDir: join(images, 'out'),
      methods: ['layercam', 'gradcam'] as Array<'gradcam' | 'layercam'>,
      batchSize: 3,
      params: { provider: { provider: 'cpu' as const } },
    };
    const o = await runBatch(job, (p, signal) => explainBatch(p, { sessions, signal }));
    const rows = o.rows;
    equal(rows.length, 2 * (demo.length + 1));
    equal(o.rowCount, rows.length);
    deepEqual(
      rows.map((r) => [r.path, r.method]),
      [...rows].sort(compareRows).map((r) => [r.path, r.method]),
    );
    assertSameAsInMemory(o, job, rows, images);
    const journal = fs
      .readFileSync(join(o.outDir, JOURNAL_NAME), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as SummaryRow);
    deepEqual([...journal].sort(compareRows), rows);
  });

  it('the journal writes whole lines in finishing order and reads them back in slot order', () => {
    const file = join(tmp, 'journal.jsonl');
    const j = new SummaryJournal(file, 6);
    const rows = awkwardRows();
    [4, 0, 2, 1].forEach((slot, i) => j.append(slot, rows[i]));
    equal(j.rowCount, 4);
    deepEqual([...j.metricNames].sort(), ['deletion_auc', 'iou', 'pointing_game']);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    equal(lines.pop(), '', 'ends with a newline');
    deepEqual(
      lines.map((l) => JSON.parse(l)),
      rows.slice(0, 4),
    );
    j.close();
    deepEqual([...j.rowsInOrder()], [rows[1], rows[3], rows[2], rows[0]]);
  });

  it('merge: journals in any order, the first successful row of a path wins; missing, unfinished or old folders are typed errors', async () => {
    const meta = (total: number) => ({
      model: '/m.onnx',
      inputs: ['/data'],
      methods: ['gradcam'],
      shard: null,
      total,
      done: total,
      failed: 0,
      resumed: 0,
      cancelled: false,
      batch_size: 4,
      batched: true,
      elapsed_ms: 1,
      images_per_s: 1,
    });
    /** A batch output folder as camlens batch leaves it: summary.json, and the journal in finishing order. */
    const shard = (name: string, total: number, rows: SummaryRow[], finishingOrder: number[]) => {
      const dir = join(tmp, name);
      fs.mkdirSync(dir);
      fs.writeFileSync(join(dir, 'summary.json'), JSON.stringify({ ...meta(total), rows }, null, 1) + '\n');
      fs.writeFileSync(join(dir, JOURNAL_NAME), finishingOrder.map((i) => JSON.stringify(rows[i]) + '\n').join(''));
      return dir;
    };
    const failedInA = row('x/2.png', 'gradcam', { status: 'error', output: null, error: 'worker crashed' });
    const a = shard('merge-a', 2, [row('x/1.png', 'gradcam', { output: 'x/1' }), failedInA], [1, 0]);
    const b = shard('merge-b', 2, [row('x/2.png', 'gradcam', { output: 'x/2', metrics: { iou: 0.5 } }), row('y.png', 'gradcam', { output: 'y' })], [1, 0]);
    const m = await mergeBatches([a, b], join(tmp, 'merged'));
    deepEqual(
      m.rows.map((r) => [r.path, r.status, r.output]),
      [
        ['x/1.png', 'ok', '../merge-a/x/1'],
        ['x/2.png', 'ok', '../merge-b/x/2'],
        ['y.png', 'ok', '../merge-b/y'],
      ],
    );
    equal(m.done, 3);
    equal(m.failed, 0);
    equal(m.total, 4);
    equal(m.rowCount, 3);
    match(fs.readFileSync(m.files.summaryCsv, 'utf8').split('\n')[0], /,metric:iou$/);
    ok(fs.existsSync(join(tmp, 'merged', 'report.html')));

    // The journal's order does not matter (the runner appends rows as they finish).
    const unsorted = shard('merge-unsorted', 2, [row('a.png', 'gradcam'), row('z.png', 'gradcam')], [1, 0]);
    deepEqual(
      (await mergeBatches([a, unsorted], join(tmp, 'merged2'))).rows.map((r) => r.path),
      ['a.png', 'x/1.png', 'x/2.png', 'z.png'],
    );
    await rejects(
      mergeBatches([a, join(tmp, 'nowhere')], join(tmp, 'merged3')),
      (e: unknown) => e instanceof CamLensError && /ENOENT; is .*nowhere a camlens batch output folder/.test(e.message),
    );
    // A folder of an older CamLens (or a merge's own output): no journal.
    const old = shard('merge-old', 1, [row('o.png', 'gradcam')], [0]);
    fs.rmSync(join(old, JOURNAL_NAME));
    await rejects(
      mergeBatches([a, old], join(tmp, 'merged4')),
      (e: unknown) => e instanceof CamLensError && /merge-old has no summary\.jsonl.*--resume/.test(e.message),
    );
    // A later run killed in that folder: its journal has fewer rows than the summary counts.
    const killed = shard('merge-killed', 2, [row('k1.png', 'gradcam'), row('k2.png', 'gradcam')], [0]);
    await rejects(
      mergeBatches([a, killed], join(tmp, 'merged5')),
      (e: unknown) => e instanceof CamLensError && /holds 1 rows where .*counts 2 inputs × 1 methods.*--resume/.test(e.message),
    );
  });

  it("reads summary.json's figures up to its rows, and refuses another layout", async () => {
    const meta = { model: 'm "rows": [ {', inputs: ['/a', '/b'], methods: ['gradcam'], total: 3, cancelled: false, nested: { rows: [1, 2] } };
    const rows = awkwardRows();
    for (const [name, text] of [
      ['full.json', JSON.stringify({ ...meta, rows }, null, 1) + '\n'],
      ['empty.json', JSON.stringify({ ...meta, rows: [] }, null, 1) + '\n'],
    ]) {
      fs.writeFileSync(join(tmp, name), text);
      deepEqual(await readSummaryFigures(join(tmp, name)), { ...meta, rows: [] }, name);
    }
    fs.writeFileSync(join(tmp, 'compact.json'), JSON.stringify({ ...meta, rows }));
    await rejects(
      readSummaryFigures(join(tmp, 'compact.json')),
      (e: unknown) => e instanceof CamLensError && /not a summary\.json as camlens batch writes it/.test(e.message),
    );
    await rejects(
      readSummaryFigures(join(tmp, 'absent.json')),
      (e: unknown) => e instanceof CamLensError && /Cannot read .*absent\.json: ENOENT/.test(e.message),
    );
  });

  it('indexes a journal in path order: finishing order, a slot written twice, a line cut short', async () => {
    const rows = awkwardRows();
    const file = join(tmp, 'index.jsonl');
    const retried = { ...rows[0], run_ms: 99 };
    const lines = [rows[4], rows[2], rows[0], rows[3], rows[1], retried].map((r) => JSON.stringify(r));
    fs.writeFileSync(file, lines.join('\n') + '\n' + JSON.stringify(rows[0]).slice(0, 30));
    const entries = await indexJournal(file);
    deepEqual(
      entries.map((e) => [e.path, e.method]),
      [...rows].sort(compareRows).map((r) => [r.path, r.method]),
    );
    deepEqual([...readRowsAt(file, entries)], [retried, rows[1], rows[2], rows[3], rows[4]]);
    fs.writeFileSync(file, `${lines[0]}\nnot json\n`);
    await rejects(indexJournal(file), (e: unknown) => e instanceof CamLensError && /index\.jsonl:2: not a JSON row/.test(e.message));
  });

  it('a killed run (SIGKILL) leaves whole journal lines, and --resume finishes it', async () => {
    const images = join(tmp, 'killed');
    fs.mkdirSync(images);
    for (let i = 0; i < 48; i++) fs.copyFileSync(join(root, 'demo/images', demo[i % demo.length]), join(images, `img${String(i).padStart(2, '0')}.png`));
    const out = join(tmp, 'killed-out');
    const args = [join(root, 'bin/camlens.js'), 'batch', model, images, '--out', out, '--ep', 'cpu', '--quiet', '--batch-size', '2'];
    // Its own process group, so that the kill takes the worker too.
    const child = spawn(process.execPath, args, { stdio: 'ignore', detached: true });
    const exited = new Promise<void>((res) => child.on('exit', () => res()));
    const journal = join(out, JOURNAL_NAME);
    const lines = () => (fs.existsSync(journal) ? fs.readFileSync(journal, 'utf8').split('\n').length - 1 : 0);
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    while (!gone && lines() < 4) await new Promise((r) => setTimeout(r, 10));
    if (!gone) process.kill(-child.pid!, 'SIGKILL');
    await exited;
    const text = fs.readFileSync(journal, 'utf8');
    const whole = text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter(Boolean);
    ok(whole.length >= 4);
    for (const l of whole) equal((JSON.parse(l) as SummaryRow).status, 'ok');
    const again = spawnSync(process.execPath, [...args, '--resume'], { encoding: 'utf8' });
    equal(again.status, 0, again.stderr);
    const summary = JSON.parse(fs.readFileSync(join(out, 'summary.json'), 'utf8'));
    equal(summary.rows.length, 48);
    ok(summary.resumed >= 1 && summary.resumed + summary.done === 48, `resumed ${summary.resumed}, done ${summary.done}`);
    equal(fs.readFileSync(journal, 'utf8').trim().split('\n').length, 48);
  });
});
