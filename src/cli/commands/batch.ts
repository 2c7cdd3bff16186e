// `camlens batch`: explain whole folders; per-image files mirroring the input tree, summary.csv,
// summary.json and report.html. The orchestration is engine/batch/runner.ts; this file parses
// options and wires the runner to the worker.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CamLensError } from '../../engine/errors';
import { takesClips } from '../../engine/batch/clipInputs';
import { parseShard } from '../../engine/batch/inputs';
import { mergeBatches } from '../../engine/batch/merge';
import { checkOutputFolder } from '../../engine/batch/outputFolder';
import { pooledBackend } from '../../engine/batch/backendPool';
import { runBatch } from '../../engine/batch/runner';
import type { BatchTarget } from '../../engine/batch/types';
import { resolveModelConfig } from '../../engine/image/config';
import { loadModel } from '../../engine/model';
import { gpuCandidates } from '../../engine/runtime/providers';
import { planWorkers } from '../batchWorkers';
import { CAM_METHODS, type CamMethodName } from '../../worker/protocol';
import { usageError, type Command } from '../command';
import { intOption, LIMITS } from '../options';
import { asCliError, startWorker } from '../worker';
import { explainHelp, explainOptions, explainParamsFromArgs } from './explain';

export const batchCommand: Command = {
  name: 'batch',
  summary: 'Explain folders of images (batched runs, resumable, shardable): per-image files, summary.csv/json and report.html.',
  usage: 'camlens batch <model.onnx> <folder-or-glob>... --out <dir> [explain options] [--batch-size N] [--workers N] [--jobs N] [--shard i/n] [--resume]',
  details: [
    'Options:',
    '  --out DIR              output folder (required); per-image files mirror the input tree',
    '  --method LIST          one or more methods, comma-separated (e.g. gradcam,layercam); several',
    '                         methods share one model run and write into DIR/<method>/',
    '  --class K|top1|gt      target: a class index, top-1 (default), or the ground truth (needs --ground-truth)',
    '  --target, --box N|all, --box-xyxy, --region, --target-embedding, --ctc ...: as in explain, per image;',
    '                         --box all writes a row per detection (box, box_score, box_x0..box_y1 columns)',
    '                         and files S, S.box1, S.box2... (these run one image at a time)',
    '  --ground-truth FILE    CSV of file,label rows (label: class index or name); adds a ground_truth column',
    '  --batch-size N         images per model run (default by model size: 16 under 16 MB ... 2 above 256 MB)',
    '  --channel-batch-size N Score-CAM / Ablation-CAM channel batch size',
    '  --workers N|auto       worker processes, each with its own copy of the model (default auto: 2 on a',
    '                         CPU with 2+ cores and memory to spare, else 1); their onnxruntime threads',
    '                         split the cores unless --threads says how many each gets',
    '  --jobs N               images decoded/preprocessed at once, per worker (default 4)',
    '  --shard i/n            explain only shard i of n (deterministic, by path hash): one per machine',
    '  --resume               skip images whose outputs are complete and valid',
    '  --exclude GLOB         skip matching inputs (repeatable); *.mask.* and *_mask.* are always skipped',
    '  --metrics LIST         metric columns (comma-separated) from the metrics provider',
    '  --no-report            do not write report.html',
    '  --quiet                no progress lines',
    'Video models ([B, C, T, H, W] input): the inputs are clips, not images. Under a folder, each folder',
    '  that holds frames (.png, .jpg, ...) is one clip, and so is each animated .gif/.webp elsewhere and',
    '  each .npy; a file argument is one clip. Per clip: S.strip.png (per-frame overlays), S.overlay.gif,',
    '  S.cam.npy [T, H, W], S.cam_raw.npy and S.json with the temporal weights (--frames N samples N frames).',
    'Exit code: 0 when every image was explained, 3 when some failed (see the error column), 130 when cancelled.',
    explainHelp
      .split('\n')
      .filter((l) => !/--class |--batch-size|--method |^\s+eigencam, eigengradcam/.test(l))
      .join('\n'),
  ].join('\n'),
  options: {
    ...explainOptions,
    out: { type: 'string' },
    jobs: { type: 'string' },
    workers: { type: 'string' },
    shard: { type: 'string' },
    resume: { type: 'boolean' },
    'ground-truth': { type: 'string' },
    'channel-batch-size': { type: 'string' },
    exclude: { type: 'string', multiple: true },
    metrics: { type: 'string' },
    'no-report': { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  async run(positionals, values, io) {
    if (positionals.length < 2) throw usageError(`batch: expected a model and at least one folder, glob or image.\nUsage: ${this.usage}`);
    if (typeof values.out !== 'string') throw usageError('batch: --out <dir> is required.');
    checkOutputFolder(values.out, '--out');
    const [modelPath, ...inputs] = positionals;
    const methods = String(values.method ?? 'gradcam')
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean);
    for (const m of methods) if (!CAM_METHODS.includes(m as CamMethodName)) throw usageError(`--method: "${m}" is not one of ${CAM_METHODS.join(', ')}.`);
    const cls = values.class as string | undefined;
    let target: BatchTarget = { kind: 'top1' };
    if (cls === 'gt') target = { kind: 'ground-truth' };
    else if (cls !== undefined && cls !== 'top1') {
      const index = Number(cls);
      if (!Number.isInteger(index) || index < 0) throw usageError(`--class: expected a class index, "top1" or "gt", got "${cls}".`);
      target = { kind: 'class', index };
    }
    if (target.kind === 'ground-truth' && !values['ground-truth']) throw usageError('--class gt needs --ground-truth FILE (a CSV of file,label rows).');
    const {
      input: _i,
      method: _m,
      classIndex: _c,
      modelPath: _p,
      ...params
    } = explainParamsFromArgs(
      // --box-xyxy names its class with --class K (checked there); the batch passes classes per image.
      { ...values, method: methods[0], class: values['box-xyxy'] !== undefined ? cls : undefined, 'batch-size': values['channel-batch-size'] },
      modelPath,
      '',
      '--channel-batch-size',
    );
    const batchSize = intOption('--batch-size', values['batch-size'], LIMITS.batchSize);
    const jobs = intOption('--jobs', values.jobs, LIMITS.jobs);
    const shard = values.shard === undefined ? undefined : parseShard(String(values.shard));
    let labels: string[] | undefined;
    if (values['ground-truth']) {
      try {
        labels = resolveModelConfig(modelPath, loadModel(modelPath).proto, params.configPath, params.labelsPath).labels;
      } catch (e) {
        if (e instanceof CamLensError) throw e;
        labels = undefined;
      }
    }
    const choice = params.provider?.provider ?? 'auto';
    const plan = planWorkers({
      option: values.workers,
      threads: params.provider?.intraOpThreads,
      cpu: choice === 'cpu' || (choice === 'auto' && !(await gpuCandidates()).candidates.length),
      cores: os.availableParallelism(),
      freeBytes: os.freemem(),
      modelBytes: fs.statSync(modelPath, { throwIfNoEntry: false })?.size ?? 0,
    });
    const before = new Set(process.listeners('SIGINT'));
    // Several workers share the cores already: each decodes with one libvips thread (decode.ts).
    const workers = Array.from({ length: plan.workers }, () => startWorker(values, plan.workers > 1 ? { CAMLENS_DECODE_THREADS: '1' } : {}));
    // Ctrl+C cancels cleanly (summary and report of what is done) instead of exiting at once.
    const startWorkerHandlers = process.listeners('SIGINT').filter((l) => !before.has(l));
    startWorkerHandlers.forEach((l) => process.removeListener('SIGINT', l));
    for (const worker of workers) worker.on('restart', (n) => io.err(`camlens batch: a worker stopped and was restarted (${n}); continuing.\n`));
    const batchParams = plan.intraOpThreads !== undefined ? { ...params, provider: { ...params.provider, intraOpThreads: plan.intraOpThreads } } : params;
    const controller = new AbortController();
    // The first Ctrl+C cancels cleanly; one more than a second later quits at once. (A press
    // can arrive twice: from the terminal and forwarded by bin/camlens.js's launcher.)
    let firstSigint = 0;
    const onSigint = () => {
      if (!firstSigint) {
        firstSigint = Date.now();
        controller.abort();
      } else if (Date.now() - firstSigint > 1000) {
        process.exit(130);
      }
    };
    process.on('SIGINT', onSigint);
    let lastPrint = 0;
    // A full collection every 512 images (a few ms), when bin/camlens.js started this process with
    // --expose-gc: results awaiting their file writes get promoted, and V8's first major GC would
    // otherwise come only after the old generation filled with them (a one-off peak of ~+15 MB
    // around image 2,500 that made a run of 2,000 images peak higher than one of 500).
    // Counted in images, not progress reports: at batch size 1 every 32 reports was a full
    // collection every 32 images (0.5 ms of the runner's 1.4 ms per image; issue 17's note).
    let collectedAt = 0;
    const gc = (globalThis as { gc?: () => void }).gc;
    const collectNowAndThen = (done: number) => {
      if (!gc || done - collectedAt < 512) return;
      collectedAt = done;
      gc();
    };
    try {
      // The model's input rank decides what an input is: an image, or a clip of frames. Every
      // worker loads the model now, at once (each on its own core): the second one used to start
      // only with its first batch, after the first had loaded it (~1 s later for ResNet-50).
      const [first] = await Promise.all(workers.map((w) => w.request('layers', { modelPath })));
      const clips = takesClips(first.summary.inputs[0]?.shape);
      const outcome = await runBatch(
        {
          modelPath,
          inputs,
          outDir: values.out,
          methods: methods as CamMethodName[],
          params: batchParams,
          target,
          groundTruthCsv: values['ground-truth'] as string | undefined,
          labels,
          batchSize,
          jobs,
          // Two batches in flight per worker: one runs while the other is decoded or written.
          inflight: 2 * workers.length,
          shard,
          resume: Boolean(values.resume),
          exclude: values.exclude as string[] | undefined,
          metrics: values.metrics
            ? String(values.metrics)
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : undefined,
          report: !values['no-report'],
          clips,
        },
        pooledBackend(workers.map((w) => (p, signal) => w.request('explainBatch', p, { signal }))),
        {
          signal: controller.signal,
          onLog: (line) => io.err(`camlens batch: ${line}\n`),
          onProgress: (p) => {
            collectNowAndThen(p.done);
            const now = Date.now();
            if (values.quiet || (now - lastPrint < 1000 && p.done < p.total)) return;
            lastPrint = now;
            const eta = p.etaSeconds === undefined ? '' : `, ETA ${Math.round(p.etaSeconds)} s`;
            io.err(`${p.done}/${p.total} images (${p.failed} failed, ${p.resumed} resumed), ${p.imagesPerSecond.toFixed(1)} images/s${eta}\n`);
          },
        },
      );
      const rows = outcome.rowCount === outcome.total * methods.length ? '' : `, ${outcome.rowCount} rows`;
      io.out(
        `${outcome.cancelled ? 'cancelled after' : 'explained'} ${outcome.done} of ${outcome.total} images (${outcome.failed} failed, ${outcome.resumed} resumed${rows}) in ${(outcome.elapsedMs / 1000).toFixed(1)} s, ${outcome.imagesPerSecond.toFixed(1)} images/s, batch size ${outcome.batchSize}${outcome.batched ? '' : ' (not batched: one image per run)'} → ${path.relative(process.cwd(), outcome.files.summaryCsv) || outcome.files.summaryCsv}${outcome.files.report ? `, ${path.relative(process.cwd(), outcome.files.report)}` : ''}\n`,
      );
      return outcome.cancelled ? 130 : outcome.failed ? 3 : 0;
    } catch (e) {
      throw asCliError(e);
    } finally {
      process.removeListener('SIGINT', onSigint);
      await Promise.all(workers.map((w) => w.dispose()));
    }
  },
};

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'Merge the summaries and reports of several `camlens batch` outputs (e.g. shards) into one folder.',
  usage: 'camlens merge <batch-dir>... --out <dir>',
  details: [
    'Per-image files stay where they are; the merged summary and report link to them. Reads each',
    "folder's summary.jsonl (its rows) and summary.json (its figures), as camlens batch leaves them;",
    'a folder without summary.jsonl or whose last run was killed: re-run its batch command with --resume.',
    '',
    'Options:',
    '  --out DIR   folder for the merged summary.csv, summary.json and report.html',
  ].join('\n'),
  options: { out: { type: 'string' } },
  async run(positionals, values, io) {
    if (!positionals.length) throw usageError(`merge: expected at least one batch output folder.\nUsage: ${this.usage}`);
    if (typeof values.out !== 'string') throw usageError('merge: --out <dir> is required.');
    const o = await mergeBatches(positionals, values.out);
    io.out(
      `merged ${positionals.length} folders: ${o.done} images (${o.failed} failed), ${o.rowCount} rows → ${path.relative(process.cwd(), o.files.summaryCsv) || o.files.summaryCsv}\n`,
    );
    return 0;
  },
};
