import { deepEqual, equal, match, ok, throws } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { explainBatch } from '../../src/engine/batch/batchedExplain';
import { globMatcher, listInputs, readGroundTruth, shardOf } from '../../src/engine/batch/inputs';
import { completeOutput } from '../../src/engine/batch/outputs';
import { mergeBatches } from '../../src/engine/batch/merge';
import { runBatch, steadyWindow } from '../../src/engine/batch/runner';
import { isWritten, withData, type BatchBackend, type BatchJob } from '../../src/engine/batch/types';
import { CamLensError } from '../../src/engine/errors';
import { explain } from '../../src/engine/explain';
import { decodeNpy } from '../../src/engine/npy';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { WorkerClient } from '../../src/worker/client';

const root = resolve(__dirname, '../../..');
const model = join(root, 'demo/model.onnx');
const sessions = new SessionCache();
const local: BatchBackend = (p, signal) => explainBatch(p, { sessions, signal });
const tmp = fs.mkdtempSync(join(tmpdir(), 'camlens-batch-'));
const images = join(tmp, 'images');
const demo = fs.readdirSync(join(root, 'demo/images')).filter((f) => f.endsWith('.png') && !f.includes('.mask.'));

before(async () => {
  fs.mkdirSync(join(images, 'nested/deeper'), { recursive: true });
  for (const f of demo.slice(0, 4)) fs.copyFileSync(join(root, 'demo/images', f), join(images, f));
  for (const f of demo.slice(4)) fs.copyFileSync(join(root, 'demo/images', f), join(images, 'nested', f));
  fs.copyFileSync(join(root, 'demo/images', demo[0]), join(images, 'nested/deeper', 'copy.png'));
  fs.copyFileSync(join(root, 'demo/images', demo[0].replace('.png', '.mask.png')), join(images, demo[0].replace('.png', '.mask.png')));
  fs.writeFileSync(join(images, 'nested/broken.png'), 'this is not a picture');
  // Another size: the pipeline resizes it to the model's 64x64.
  await sharp(join(root, 'demo/images', demo[1]))
    .resize(100, 80)
    .jpeg()
    .toFile(join(images, 'nested/deeper/other_size.jpg'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const job = (out: string, extra: Partial<BatchJob> = {}): BatchJob => ({
  modelPath: model,
  inputs: [images],
  outDir: join(tmp, out),
  methods: ['gradcam'],
  params: { provider: { provider: 'cpu' } },
  batchSize: 4,
  ...extra,
});
const imageCount = demo.length + 3; // + copy, broken, other size (the mask is skipped)

describe('steadyWindow (summary.json steady_images_per_s)', () => {
  it('counts between the completions that reach 10 % and 90 %, not from the first batch back', () => {
    // 100 images in batches of 10: four come back at once after a 10 s start-up (batches in
    // flight), then one a second, and the last one after a slow drain.
    const w = steadyWindow(100);
    const times = [10, 10.1, 10.2, 10.3, 11.3, 12.3, 13.3, 14.3, 15.3, 20];
    times.forEach((s, i) => w.completed((i + 1) * 10, s * 1000));
    // 10 → 90 images between 10.0 s and 15.3 s; from the first batch back it would be 90 / 10 s.
    ok(Math.abs(w.rate()! - 80 / 5.3) < 1e-9, String(w.rate()));
  });

  it('has no rate until a later completion closes the window', () => {
    const one = steadyWindow(16);
    one.completed(16, 1000);
    equal(one.rate(), undefined);
    const two = steadyWindow(32);
    two.completed(16, 1000);
    equal(two.rate(), undefined);
    two.completed(32, 3000);
    equal(two.rate(), 8);
  });
});

describe('batch inputs', () => {
  it('globs, shards and skips masks', () => {
    ok(globMatcher('**/*.png')('a/b/c.png'));
    ok(globMatcher('**/*.png')('c.png'));
    ok(!globMatcher('*.png')('a/c.png'));
    ok(globMatcher('*.{png,jpg}')('x.jpg'));
    const all = listInputs([images]);
    equal(all.length, imageCount);
    ok(all.every((x) => !x.rel.includes('.mask.')));
    ok(all.some((x) => x.rel === 'nested/deeper/copy.png'));
    equal(listInputs([join(images, '**/*.jpg')]).length, 1);
    equal(shardOf('a/b.png', 3), shardOf('a/b.png', 3));
  });

  it('globs read as paths: ?, classes, braces, dots, and parentheses, | and ! as plain characters', () => {
    const cases: Array<[glob: string, path: string, matches: boolean]> = [
      ['img?.png', 'img1.png', true],
      ['img?.png', 'img10.png', false],
      ['a?b.png', 'a/b.png', false],
      ['[ab]*.png', 'b1.png', true],
      ['[!ab]*.png', 'b1.png', false],
      ['[!ab]*.png', 'c1.png', true],
      ['img[0-9].png', 'img7.png', true],
      ['{cats,dogs}/**/*.jpg', 'dogs/x/y.jpg', true],
      ['{cats,dogs}/**/*.jpg', 'birds/y.jpg', false],
      ['data/**/*.jpg', 'data/y.jpg', true],
      ['*.png', '.hidden.png', true],
      ['**/*.mask.*', 'a/b/c.mask.png', true],
      ['**/*_mask.*', 'c_mask.png', true],
      ['photos (2019)/*.png', 'photos (2019)/a.png', true],
      ['photos (2019)/*.png', 'photos 2019/a.png', false],
      ['a|b.png', 'a|b.png', true],
      ['a|b.png', 'a.png', false],
      ['!x.png', '!x.png', true],
      ['!x.png', 'y.png', false],
      ['+(a).png', '+(a).png', true],
      ['+(a).png', 'aa.png', false],
      ['*.PNG', 'x.png', false],
    ];
    for (const [glob, path, matches] of cases) equal(globMatcher(glob)(path), matches, `${glob} on ${path}`);
    // Through listInputs: a glob with a parenthesised folder, an exclude, and a class.
    const odd = join(tmp, 'odd (1)');
    fs.mkdirSync(join(odd, 'sub'), { recursive: true });
    for (const f of ['a1.png', 'b2.png', 'c3.png', 'sub/d4.png']) fs.copyFileSync(join(root, 'demo/images', demo[0]), join(odd, f));
    deepEqual(
      listInputs([join(odd, '**/[!b]*.png')], { exclude: ['sub/*'] }).map((x) => x.rel),
      ['a1.png', 'c3.png'],
    );
    deepEqual(
      listInputs([join(odd, '*.png')], { exclude: ['a?.png'] }).map((x) => x.rel),
      ['b2.png', 'c3.png'],
    );
  });

  it('reads the ground-truth CSV: header, BOM, CRLF, quoted commas, quotes and newlines, class names', () => {
    const csv = join(tmp, 'labels.csv');
    fs.writeFileSync(csv, '\uFEFFfile,label\r\n"a, b.png",1\r\n\r\n"line\nbreak.png", 2 \r\nsub\\c.png,square\r\n"say ""hi"".png",0\r\nlast.png,3');
    deepEqual(
      [...readGroundTruth(csv, ['circle', 'square'])],
      [
        ['a, b.png', 1],
        ['line\nbreak.png', 2],
        ['sub/c.png', 1],
        ['say "hi".png', 0],
        ['last.png', 3],
      ],
    );
    fs.writeFileSync(csv, 'a.png,1\nb.png,dog\n');
    throws(
      () => readGroundTruth(csv, ['circle']),
      (e: unknown) => e instanceof CamLensError && /labels\.csv:2: "dog" is neither a class index/.test(e.message),
    );
    fs.writeFileSync(csv, 'a.png,1\n"b.png,2\n');
    throws(() => readGroundTruth(csv), /labels\.csv is not valid CSV/);
    throws(() => readGroundTruth(join(tmp, 'none.csv')), /Cannot read the ground-truth CSV .*none\.csv: ENOENT/);
  });
});

describe('explainBatch with outputPrefixes (the worker writes the map files)', () => {
  it('writes each map file where the prefix says and answers without the data', async () => {
    const out = join(tmp, 'prefixes');
    const inputs = demo.slice(0, 2).map((f) => join(root, 'demo/images', f));
    const prefixes = inputs.map((_, i) => [join(out, `in${i}`, 'gradcam'), join(out, `in${i}`, 'eigencam')]);
    const r = await explainBatch(
      { modelPath: model, inputs, methods: ['gradcam', 'eigencam'], provider: { provider: 'cpu' }, outputPrefixes: prefixes },
      { sessions },
    );
    const direct = await explainBatch({ modelPath: model, inputs, methods: ['gradcam', 'eigencam'], provider: { provider: 'cpu' } }, { sessions });
    for (const [i, item] of r.items.entries()) {
      ok(item.ok);
      equal(item.maps.length, 2);
      ok(item.maps.every(isWritten), 'no map data crosses IPC');
      ok(item.timings_ms.write! >= 0);
      const same = direct.items[i];
      ok(same.ok);
      for (const [mi, method] of (['gradcam', 'eigencam'] as const).entries()) {
        const cam = decodeNpy(fs.readFileSync(`${prefixes[i][mi]}.cam.npy`));
        deepEqual(cam.data, withData(same.maps.find((m) => m.method === method)!).cam.data, `${method}: the file holds the map`);
        ok(fs.readFileSync(`${prefixes[i][mi]}.overlay.png`).subarray(1, 4).toString() === 'PNG');
        ok(fs.existsSync(`${prefixes[i][mi]}.cam_raw.npy`) && fs.existsSync(`${prefixes[i][mi]}.cam_image.npy`));
        ok(!fs.existsSync(`${prefixes[i][mi]}.json`), "S.json stays the runner's");
      }
    }
  });

  it("makes a method whose files cannot be written that method's error, not the image's", async () => {
    const out = join(tmp, 'prefixes-fail');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(join(out, 'blocked'), 'a file where a folder should be');
    const input = join(root, 'demo/images', demo[0]);
    const r = await explainBatch(
      {
        modelPath: model,
        inputs: [input],
        methods: ['gradcam', 'eigencam'],
        provider: { provider: 'cpu' },
        outputPrefixes: [[join(out, 'blocked', 'gradcam'), join(out, 'fine', 'eigencam')]],
      },
      { sessions },
    );
    const item = r.items[0];
    ok(item.ok);
    deepEqual(
      item.maps.map((m) => m.method),
      ['eigencam'],
    );
    equal(item.methodErrors?.length, 1);
    equal(item.methodErrors![0].method, 'gradcam');
    match(item.methodErrors![0].message, /writing outputs failed/);
    ok(fs.existsSync(join(out, 'fine', 'eigencam.cam.npy')));
  });
});

describe('camlens batch', () => {
  it('writes per-image outputs mirroring the tree, an error row, summaries and a self-contained report', async () => {
    const o = await runBatch(job('run1'), local);
    equal(o.total, imageCount);
    equal(o.failed, 1);
    ok(o.batched);
    equal(o.rows.length, imageCount);
    const bad = o.rows.find((r) => r.path === 'nested/broken.png')!;
    equal(bad.status, 'error');
    match(bad.error!, /could not be decoded/);
    const okRows = o.rows.filter((r) => r.status === 'ok');
    equal(okRows.length, imageCount - 1);
    for (const r of okRows) {
      const prefix = join(o.outDir, r.output!);
      const cam = decodeNpy(fs.readFileSync(`${prefix}.cam.npy`));
      deepEqual(cam.shape, [64, 64]);
      ok(fs.readFileSync(`${prefix}.overlay.png`).subarray(1, 4).toString() === 'PNG');
      const json = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8'));
      for (const k of ['model', 'input', 'method', 'layers', 'class', 'predictions', 'ep', 'timings_ms']) ok(k in json, k);
      equal(json.class, r.target_class);
      equal(json.predictions[0].index, r.predicted_class);
      ok(r.predicted_prob! > 0 && r.predicted_prob! <= 1);
    }
    ok(fs.existsSync(join(o.outDir, 'nested/deeper/other_size.cam.npy')));
    // Batched maps equal single-image explain().
    for (const f of ['nested/deeper/copy.png', `nested/${demo[5]}`]) {
      const single = await explain({ modelPath: model, input: join(images, f), provider: { provider: 'cpu' } }, { sessions });
      const batched = decodeNpy(fs.readFileSync(join(o.outDir, f.replace(/\.png$/, '.cam.npy'))));
      let diff = 0;
      single.explanations[0].cam.data.forEach((v, i) => {
        diff = Math.max(diff, Math.abs(v - batched.data[i]));
      });
      ok(diff < 1e-5, `${f}: max diff ${diff}`);
    }
    const csv = fs.readFileSync(o.files.summaryCsv, 'utf8').trim().split('\n');
    equal(csv.length, imageCount + 1);
    match(csv[0], /^path,method,status,predicted_class,predicted_label,predicted_prob,target_class,target_label,ground_truth,layer,ep,preprocess_ms,run_ms/);
    const summary = JSON.parse(fs.readFileSync(o.files.summaryJson, 'utf8'));
    equal(summary.rows.length, imageCount);
    const html = fs.readFileSync(o.files.report!, 'utf8');
    ok(!/(src|href)=["']?https?:/i.test(html) && !/<link /.test(html) && !/<script src/.test(html), 'no network references');
    match(html, /nested\/broken\.png/);
  });

  it('resumes: complete outputs are skipped, truncated ones redone', async () => {
    const first = await runBatch(job('run2'), local);
    const [victim, shortNpy, npyHeaderOnly] = first.rows.filter((r) => r.status === 'ok');
    const png = join(first.outDir, `${victim.output}.overlay.png`);
    fs.writeFileSync(png, fs.readFileSync(png).subarray(0, 40)); // a killed writer without atomic rename
    equal(completeOutput(join(first.outDir, victim.output!), 'gradcam'), undefined);
    // A .npy one value short, and one cut inside its header (engine/npy.ts's header reader).
    const cam = join(first.outDir, `${shortNpy.output}.cam.npy`);
    fs.writeFileSync(cam, fs.readFileSync(cam).subarray(0, -4));
    const raw = join(first.outDir, `${npyHeaderOnly.output}.cam_raw.npy`);
    fs.writeFileSync(raw, fs.readFileSync(raw).subarray(0, 9));
    for (const r of [shortNpy, npyHeaderOnly]) equal(completeOutput(join(first.outDir, r.output!), 'gradcam'), undefined, r.path);
    const seen: string[][] = [];
    const again = await runBatch({ ...job('run2'), resume: true }, (p, s) => {
      seen.push(p.inputs);
      return local(p, s);
    });
    equal(again.resumed, imageCount - 4);
    deepEqual(
      seen
        .flat()
        .map((f) => f.slice(images.length + 1))
        .sort(),
      [victim.path, shortNpy.path, npyHeaderOnly.path, 'nested/broken.png'].sort(),
    );
    equal(again.rows.length, imageCount);
    deepEqual(
      again.rows.map((r) => [r.path, r.predicted_class]),
      first.rows.map((r) => [r.path, r.predicted_class]),
    );
  });

  it('shards 1/3 + 2/3 + 3/3 cover the run exactly once', async () => {
    const whole = await runBatch(job('run3'), local);
    const parts = [];
    for (let i = 1; i <= 3; i++) parts.push(await runBatch(job(`run3-shard${i}`, { shard: { index: i, count: 3 } }), local));
    const merged = parts.flatMap((p) => p.rows).sort((a, b) => (a.path < b.path ? -1 : 1));
    equal(
      parts.reduce((a, p) => a + p.total, 0),
      whole.total,
    );
    deepEqual(
      merged.map((r) => [r.path, r.status, r.predicted_class, r.target_class, r.output]),
      whole.rows.map((r) => [r.path, r.status, r.predicted_class, r.target_class, r.output]),
    );
    // camlens merge: one summary whose outputs point into the shard folders.
    const m = await mergeBatches(
      parts.map((p) => p.outDir),
      join(tmp, 'run3-merged'),
    );
    deepEqual(
      m.rows.map((r) => [r.path, r.status, r.predicted_class]),
      whole.rows.map((r) => [r.path, r.status, r.predicted_class]),
    );
    for (const r of m.rows.filter((x) => x.output)) ok(fs.existsSync(join(m.outDir, `${r.output}.overlay.png`)), r.output!);
    ok(fs.existsSync(join(m.outDir, 'report.html')));
    equal(fs.readFileSync(m.files.summaryCsv, 'utf8').trim().split('\n').length, imageCount + 1);
  });

  it('cancel stops between batches, leaves only complete outputs, and resume finishes the run', async () => {
    const controller = new AbortController();
    let calls = 0;
    const o = await runBatch(
      job('run4', { batchSize: 2, inflight: 1 }),
      async (p, s) => {
        const r = await local(p, s);
        if (++calls === 2) controller.abort();
        return r;
      },
      { signal: controller.signal },
    );
    ok(o.cancelled);
    ok(o.done < o.total && o.done >= 2, `done ${o.done}`);
    const json = JSON.parse(fs.readFileSync(o.files.summaryJson, 'utf8'));
    equal(json.cancelled, true);
    const written = fs
      .readdirSync(o.outDir, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.json') && !f.startsWith('summary'));
    ok(written.length >= 1);
    for (const f of written) ok(completeOutput(join(o.outDir, f.replace(/\.json$/, '')), 'gradcam'), f);
    ok(
      !fs
        .readdirSync(o.outDir, { recursive: true })
        .map(String)
        .some((f) => f.includes('.tmp-')),
    );
    const rest = await runBatch({ ...job('run4', { batchSize: 2 }), resume: true }, local);
    equal(rest.resumed, written.length);
    equal(rest.rows.filter((r) => r.status !== 'error').length, imageCount - 1);
  });

  it('targets: fixed class, ground truth from a CSV, several methods in one run', async () => {
    const csv = join(tmp, 'gt.csv');
    fs.writeFileSync(csv, ['file,label', ...demo.map((f) => `${f},${f.split('_')[0]}`), 'copy.png,2'].join('\n'));
    const o = await runBatch(
      job('run5', {
        target: { kind: 'ground-truth' },
        groundTruthCsv: csv,
        labels: ['circle', 'square', 'triangle', 'star'],
        methods: ['gradcam', 'layercam'],
      }),
      local,
    );
    const rows = o.rows.filter((r) => r.method === 'gradcam');
    equal(o.rows.length, 2 * imageCount);
    const star = rows.find((r) => r.path.endsWith('star_1.png'))!;
    equal(star.target_class, 3);
    equal(star.ground_truth, 3);
    equal(rows.find((r) => r.path === 'nested/deeper/copy.png')!.target_class, 2);
    match(rows.find((r) => r.path.endsWith('other_size.jpg'))!.error!, /no row in the ground-truth CSV/);
    ok(fs.existsSync(join(o.outDir, 'layercam', star.path.replace('.png', '.overlay.png'))));
    ok(fs.existsSync(join(o.outDir, 'gradcam', star.path.replace('.png', '.cam.npy'))));
    const fixed = await runBatch(job('run6', { target: { kind: 'class', index: 1 } }), local);
    ok(fixed.rows.filter((r) => r.status === 'ok').every((r) => r.target_class === 1 && r.target_label === 'square'));
  });

  it('continues after the worker is killed mid-run', async () => {
    const client = new WorkerClient({ workerPath: join(root, 'dist/worker.js'), defaultTimeoutMs: 60_000 });
    let calls = 0;
    try {
      const o = await runBatch(job('run7', { batchSize: 3, inflight: 1 }), (p, signal) => {
        const r = client.request('explainBatch', p, { signal });
        if (++calls === 2) setTimeout(() => client.pid && process.kill(client.pid, 'SIGKILL'), 5);
        return r;
      });
      ok(client.restarts >= 1);
      equal(o.rows.length, imageCount);
      equal(o.rows.filter((r) => r.status === 'ok').length, imageCount - 1);
    } finally {
      await client.dispose();
    }
  });

  it('adds metric columns when --metrics is given (the metrics module answers in the worker)', () => {
    const out = join(tmp, 'cli-metrics');
    const r = spawnSync(
      process.execPath,
      [
        join(root, 'bin/camlens.js'),
        'batch',
        join(root, 'demo/model.onnx'),
        join(root, 'demo/images'),
        '--out',
        out,
        '--ep',
        'cpu',
        '--quiet',
        '--metrics',
        'localisation',
      ],
      { encoding: 'utf8' },
    );
    equal(r.status, 0, r.stderr);
    const [header, ...rows] = fs.readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\n');
    const columns = header.split(',');
    for (const m of ['metric:iou', 'metric:pointing_game', 'metric:energy_in_mask']) ok(columns.includes(m), m);
    equal(rows.length, 8);
    const pointing = columns.indexOf('metric:pointing_game');
    ok(rows.filter((row) => row.split(',')[pointing] === '1').length >= 4, 'Grad-CAM points inside the object on at least half the demo images (random: ~4%)');
  });

  it('adds metric columns on the one-at-a-time path too (eigencam with aug-smooth is not batched)', () => {
    const out = join(tmp, 'cli-metrics-each');
    const r = spawnSync(
      process.execPath,
      [
        join(root, 'bin/camlens.js'),
        'batch',
        join(root, 'demo/model.onnx'),
        join(root, 'demo/images'),
        '--out',
        out,
        '--ep',
        'cpu',
        '--quiet',
        '--method',
        'eigencam',
        '--aug-smooth',
        '--metrics',
        'localisation',
      ],
      { encoding: 'utf8' },
    );
    equal(r.status, 0, r.stderr);
    const [header, ...rows] = fs.readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\n');
    const iou = header.split(',').indexOf('metric:iou');
    ok(iou >= 0, 'metric:iou column');
    equal(rows.length, 8);
    for (const row of rows) {
      const v = Number(row.split(',')[iou]);
      ok(v >= 0 && v <= 1, `an IoU in [0, 1] for every image, got "${row.split(',')[iou]}"`);
    }
  });

  it('runs from the command line, with --shard and exit code 3 when an image failed', () => {
    const out = join(tmp, 'cli');
    const r = spawnSync(process.execPath, [join(root, 'bin/camlens.js'), 'batch', model, images, '--out', out, '--ep', 'cpu', '--quiet'], { encoding: 'utf8' });
    equal(r.status, 3, r.stderr);
    match(r.stdout, new RegExp(`explained ${imageCount} of ${imageCount} images \\(1 failed`));
    const shard = spawnSync(process.execPath, [join(root, 'bin/camlens.js'), 'batch', model, images, '--out', join(tmp, 'cli2'), '--shard', '4/3'], {
      encoding: 'utf8',
    });
    equal(shard.status, 2);
    match(shard.stderr, /--shard/);
  });
});
