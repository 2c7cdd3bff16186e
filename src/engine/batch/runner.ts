// Batch export, the orchestrating side (runs in the CLI or the extension host; pure Node: no
// onnxruntime, no sharp). Lists the inputs, takes the shard, skips what a previous run finished
// (--resume), then keeps a bounded number of batches in flight to the worker (`backend`): while
// one batch runs, the previous one's files are written and the next one is decoded. Memory stays
// flat: at most `inflight` batches of images exist at a time, whatever the folder's size. A
// failing image becomes an error row; a crashed worker is restarted by the client and its
// batch retried image by image (so the image that kills it is the only one lost); cancel stops
// issuing batches, and what was written stays valid (atomic writes).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CamLensError } from '../errors';
import type { CamMethodName } from '../explainTypes';
import { listClips } from './clipInputs';
import { groundTruthOf, listInputs, outputStems, readGroundTruth, selectShard, type BatchInput } from './inputs';
import { completeOutput, explanationJson, sortRows, summaryCsv, writeAtomic, writeImageOutputs } from './outputs';
import { renderReport } from './report';
import type { BatchBaseParams, BatchItem, ExplainBatchParams, ExplainBatchResult, SummaryRow } from './types';

export type BatchTarget = { kind: 'top1' } | { kind: 'class'; index: number } | { kind: 'ground-truth' };

export interface BatchJob {
  modelPath: string;
  /** Folders (recursive), globs or files. */
  inputs: string[];
  outDir: string;
  methods: CamMethodName[];
  /** Explain options shared by every image (layers, colormap, provider...). */
  params?: Omit<BatchBaseParams, 'modelPath'>;
  target?: BatchTarget;
  /** CSV `file,label`: the ground_truth column, and the target when target is 'ground-truth'. */
  groundTruthCsv?: string;
  /** Class names, to read label names in the ground-truth CSV. */
  labels?: string[];
  /** Images per model run (default by model size). */
  batchSize?: number;
  /** Images decoded at once in the worker. */
  jobs?: number;
  /** Batches in flight (default 2: one runs while the other is decoded/written). */
  inflight?: number;
  shard?: { index: number; count: number };
  resume?: boolean;
  exclude?: string[];
  metrics?: string[];
  /** Write report.html (default true). */
  report?: boolean;
  /**
   * The model takes clips ([B, C, T, H, W]; clipInputs.takesClips): inputs are listed as clips
   * (folders of frames, animations, .npy) instead of one input per image file.
   */
  clips?: boolean;
}

export interface BatchProgress {
  done: number;
  total: number;
  failed: number;
  resumed: number;
  imagesPerSecond: number;
  etaSeconds: number | undefined;
}

export interface BatchOutcome {
  outDir: string;
  total: number;
  /** Images explained in this run (ok or error), not counting resumed ones. */
  done: number;
  failed: number;
  resumed: number;
  cancelled: boolean;
  elapsedMs: number;
  imagesPerSecond: number;
  batchSize: number;
  batched: boolean;
  rows: SummaryRow[];
  files: { summaryCsv: string; summaryJson: string; report?: string };
}

export type BatchBackend = (params: ExplainBatchParams, signal: AbortSignal) => Promise<ExplainBatchResult>;

/** Images per run when the caller does not say: smaller models take bigger batches. */
export function defaultBatchSize(modelBytes: number): number {
  const mb = modelBytes / 1024 ** 2;
  return mb < 16 ? 16 : mb < 64 ? 8 : mb < 256 ? 4 : 2;
}

const RETRY_CODES = new Set(['WORKER_CRASHED', 'TIMEOUT']);

interface Work { input: BatchInput; stem: string; cls: number | null; gt: number | null }

export async function runBatch(job: BatchJob, backend: BatchBackend, options: { signal?: AbortSignal; onProgress?: (p: BatchProgress) => void; onLog?: (line: string) => void } = {}): Promise<BatchOutcome> {
  const started = performance.now();
  const outDir = path.resolve(job.outDir);
  const modelBytes = fs.statSync(job.modelPath, { throwIfNoEntry: false })?.size;
  if (modelBytes === undefined) throw new CamLensError('MODEL_READ', `No such model file: ${job.modelPath}.`);
  if (!job.methods.length) throw new CamLensError('BAD_ARGUMENT', 'batch: give at least one method.');
  const batchSize = Math.max(1, job.batchSize ?? defaultBatchSize(modelBytes));
  const all = (job.clips ? listClips : listInputs)(job.inputs, { exclude: job.exclude, skipDirs: [outDir] });
  if (!all.length) throw new CamLensError('BAD_ARGUMENT', `No ${job.clips ? 'clips (folders of frames, animated GIF/WebP, .npy)' : 'images'} found in ${job.inputs.join(', ')}.`);
  // Stems from the full list: every shard names a file the same way.
  const allStems = outputStems(all);
  const stems = new Map(all.map((x, i) => [x.rel, allStems[i]]));
  const selected = selectShard(all, job.shard);
  const gt = job.groundTruthCsv ? readGroundTruth(job.groundTruthCsv, job.labels) : undefined;
  const target = job.target ?? { kind: 'top1' };
  if (target.kind === 'ground-truth' && !gt) throw new CamLensError('BAD_ARGUMENT', 'The ground-truth target needs a CSV of file,label rows (--ground-truth FILE).', { usage: true });
  const methodDir = (m: CamMethodName) => (job.methods.length > 1 ? m : '');
  const outputOf = (stem: string, m: CamMethodName) => path.posix.join(methodDir(m), stem);
  const prefixOf = (stem: string, m: CamMethodName) => path.join(outDir, outputOf(stem, m));

  const rows: SummaryRow[] = [];
  const work: Work[] = [];
  let resumed = 0;
  let failed = 0;
  const blank = (input: BatchInput, m: CamMethodName, g: number | null): SummaryRow => ({
    path: input.rel, method: m, status: 'error', predicted_class: null, predicted_label: null, predicted_prob: null,
    target_class: null, target_label: null, ground_truth: g, layer: null, ep: null, preprocess_ms: null, run_ms: null, cam_ms: null,
    overlay_ms: null, write_ms: null, output: null, error: null,
  });
  for (const input of selected) {
    const stem = stems.get(input.rel)!;
    const g = gt ? groundTruthOf(gt, input) ?? null : null;
    if (job.resume) {
      const previous = job.methods.map((m) => completeOutput(prefixOf(stem, m), m));
      if (previous.every(Boolean)) {
        resumed++;
        previous.forEach((prev, i) => {
          const j = prev!.json;
          rows.push({
            ...blank(input, job.methods[i], g), status: 'resumed', predicted_class: j.predictions[0]?.index ?? null,
            predicted_label: j.predictions[0]?.label ?? null, predicted_prob: j.predictions[0]?.prob ?? null, target_class: j.class,
            target_label: j.explanations[0].label, layer: j.layers.join('+'), ep: j.ep, preprocess_ms: j.timings_ms.preprocess ?? null,
            run_ms: j.timings_ms.run ?? null, cam_ms: j.timings_ms.cam ?? null, output: outputOf(stem, job.methods[i]),
            ...(j.metrics ? { metrics: j.metrics } : {}), ...(j.explanations[0].frames !== undefined ? { frames: j.explanations[0].frames } : {}),
          });
        });
        continue;
      }
    }
    let cls: number | null = target.kind === 'class' ? target.index : null;
    if (target.kind === 'ground-truth') {
      if (g === null) {
        failed++;
        for (const m of job.methods) rows.push({ ...blank(input, m, null), error: `${input.rel} has no row in the ground-truth CSV ${job.groundTruthCsv}.` });
        continue;
      }
      cls = g;
    }
    work.push({ input, stem, cls, gt: g });
  }

  const total = selected.length;
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let done = 0;
  let batched = false;
  let firstDone: number | undefined;
  const report = () => {
    const now = performance.now();
    const rate = done && firstDone !== undefined ? done / ((now - started) / 1000) : 0;
    const left = work.length - done;
    options.onProgress?.({ done: total - left, total, failed, resumed, imagesPerSecond: rate, etaSeconds: rate ? left / rate : undefined });
  };
  report();

  const chunks: Work[][] = [];
  for (let i = 0; i < work.length; i += batchSize) chunks.push(work.slice(i, i + batchSize));
  const request = (chunk: Work[]): ExplainBatchParams => ({
    ...job.params, modelPath: job.modelPath, inputs: chunk.map((w) => w.input.file), methods: job.methods,
    classes: chunk.map((w) => w.cls), jobs: job.jobs, ...(job.metrics?.length ? { metrics: job.metrics } : {}),
  });

  const record = async (chunk: Work[], result: ExplainBatchResult) => {
    batched ||= result.batched;
    await Promise.all(chunk.map(async (w, i) => {
      const item: BatchItem = result.items[i] ?? { input: w.input.file, ok: false, error: { code: 'INTERNAL', message: 'the worker returned no result for this image' } };
      if (!item.ok) {
        failed++;
        for (const m of job.methods) rows.push({ ...blank(w.input, m, w.gt), error: item.error.message });
        return;
      }
      for (const m of job.methods) {
        const maps = item.maps.filter((x) => x.method === m);
        if (!maps.length) { rows.push({ ...blank(w.input, m, w.gt), error: `no ${m} map came back` }); continue; }
        const ws = performance.now();
        const stemName = path.posix.basename(w.stem);
        const json = explanationJson(job.modelPath, item, m, maps, stemName, result.ep, { path: w.input.rel, ...(w.gt !== null ? { ground_truth: w.gt } : {}) });
        try {
          await writeImageOutputs(prefixOf(w.stem, m), json, maps);
        } catch (e) {
          rows.push({ ...blank(w.input, m, w.gt), error: `writing outputs failed: ${(e as Error).message}` });
          continue;
        }
        const top = item.predictions[0];
        rows.push({
          ...blank(w.input, m, w.gt), status: 'ok', predicted_class: top?.index ?? null, predicted_label: top?.label ?? null, predicted_prob: top?.prob ?? null,
          target_class: maps[0].classIndex, target_label: maps[0].label, layer: item.layers.join('+'), ep: result.ep,
          preprocess_ms: item.timings_ms.preprocess, run_ms: item.timings_ms.run, cam_ms: item.timings_ms.cam, overlay_ms: item.timings_ms.overlay,
          write_ms: performance.now() - ws, output: outputOf(w.stem, m), ...(maps[0].metrics ? { metrics: maps[0].metrics } : {}),
          ...(maps[0].video ? { frames: maps[0].video.frames } : {}),
        });
      }
    }));
    done += chunk.length;
    firstDone ??= performance.now();
    report();
  };

  const runChunk = async (chunk: Work[]): Promise<void> => {
    let result: ExplainBatchResult;
    try {
      result = await backend(request(chunk), controller.signal);
    } catch (e) {
      if (controller.signal.aborted) return;
      const code = (e as { code?: string }).code ?? '';
      if (!RETRY_CODES.has(code)) throw e;
      options.onLog?.(`worker failure on a batch of ${chunk.length} (${(e as Error).message}); retrying its images one by one`);
      if (chunk.length === 1) {
        failed++;
        for (const m of job.methods) rows.push({ ...blank(chunk[0].input, m, chunk[0].gt), error: (e as Error).message });
        done++;
        report();
        return;
      }
      for (const w of chunk) {
        if (controller.signal.aborted) return;
        await runChunk([w]);
      }
      return;
    }
    if (controller.signal.aborted) return; // cancelled while answering: leave it unwritten
    await record(chunk, result);
  };

  let next = 0;
  let fatal: unknown;
  const lane = async () => {
    while (!controller.signal.aborted && fatal === undefined && next < chunks.length) {
      const chunk = chunks[next++];
      try {
        await runChunk(chunk);
      } catch (e) {
        fatal ??= e;
        controller.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, job.inflight ?? 2) }, lane));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (fatal !== undefined) throw fatal;
  const cancelled = Boolean(options.signal?.aborted);
  const elapsedMs = performance.now() - started;
  sortRows(rows);
  const outcome: BatchOutcome = {
    outDir, total, done, failed, resumed, cancelled, elapsedMs, imagesPerSecond: done / (elapsedMs / 1000), batchSize, batched, rows,
    files: { summaryCsv: path.join(outDir, 'summary.csv'), summaryJson: path.join(outDir, 'summary.json') },
  };
  await writeSummaries(outcome, job);
  return outcome;
}

async function writeSummaries(o: BatchOutcome, job: BatchJob): Promise<void> {
  await fs.promises.mkdir(o.outDir, { recursive: true });
  await writeAtomic(o.files.summaryCsv, summaryCsv(o.rows));
  const meta = {
    model: path.resolve(job.modelPath), inputs: job.inputs.map((i) => path.resolve(i)), methods: job.methods,
    shard: job.shard ? `${job.shard.index}/${job.shard.count}` : null, total: o.total, done: o.done, failed: o.failed, resumed: o.resumed,
    cancelled: o.cancelled, batch_size: o.batchSize, batched: o.batched, elapsed_ms: Math.round(o.elapsedMs), images_per_s: Math.round(o.imagesPerSecond * 100) / 100,
  };
  await writeAtomic(o.files.summaryJson, JSON.stringify({ ...meta, rows: o.rows }, null, 1) + '\n');
  if (job.report !== false) {
    o.files.report = path.join(o.outDir, 'report.html');
    const inputRoot = commonInputRoot(job.inputs);
    await writeAtomic(o.files.report, renderReport(o.rows, { title: `CamLens batch: ${path.basename(job.modelPath)}`, meta, imageHref: (rel) => path.relative(o.outDir, path.join(inputRoot, rel)).split(path.sep).join('/') }));
  }
}

/** The folder `rel` paths are relative to (the same rule as listInputs). */
function commonInputRoot(args: readonly string[]): string {
  const roots = args.map((a) => {
    const abs = path.resolve(a);
    if (/[*?{[]/.test(a)) {
      const parts = abs.split(path.sep);
      return parts.slice(0, parts.findIndex((p) => /[*?{[]/.test(p))).join(path.sep) || path.sep;
    }
    return fs.statSync(abs, { throwIfNoEntry: false })?.isDirectory() ? abs : path.dirname(abs);
  });
  return roots.reduce((a, b) => {
    const pa = a.split(path.sep);
    const pb = b.split(path.sep);
    let i = 0;
    while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++;
    return pa.slice(0, i).join(path.sep) || path.sep;
  });
}

/**
 * `camlens merge`: the summaries of several batch folders (e.g. the shards of one run) as one
 * summary.csv/summary.json/report.html in `outDir`. Per-image files stay where they are; the
 * merged rows' `output` points at them relative to `outDir`. A path seen twice keeps its first
 * successful row.
 */
export async function mergeBatches(dirs: readonly string[], outDirArg: string): Promise<BatchOutcome> {
  const started = performance.now();
  const outDir = path.resolve(outDirArg);
  const byKey = new Map<string, SummaryRow>();
  let meta: { model?: string; inputs?: string[]; methods?: CamMethodName[]; batch_size?: number; batched?: boolean } = {};
  let total = 0;
  let cancelled = false;
  for (const dir of dirs) {
    const file = path.join(dir, 'summary.json');
    let json: { rows: SummaryRow[]; total: number; cancelled: boolean; model: string; inputs: string[]; methods: CamMethodName[]; batch_size: number; batched: boolean };
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new CamLensError('BAD_ARGUMENT', `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; is ${dir} a camlens batch output folder?`);
    }
    if (meta.model && json.model !== meta.model) throw new CamLensError('BAD_ARGUMENT', `${dir} was made with ${json.model}, ${dirs[0]} with ${meta.model}; merge runs of one model.`);
    meta = meta.model ? meta : json;
    total += json.total;
    cancelled ||= json.cancelled;
    for (const r of json.rows) {
      const key = `${r.path}\u0000${r.method}`;
      const row = { ...r, output: r.output ? path.relative(outDir, path.join(path.resolve(dir), r.output)).split(path.sep).join('/') : null };
      const seen = byKey.get(key);
      if (!seen || (seen.status === 'error' && row.status !== 'error')) byKey.set(key, row);
    }
  }
  const rows = sortRows([...byKey.values()]);
  const failed = new Set(rows.filter((r) => r.status === 'error').map((r) => r.path)).size;
  const outcome: BatchOutcome = {
    outDir, total, done: new Set(rows.map((r) => r.path)).size, failed, resumed: 0, cancelled, elapsedMs: performance.now() - started, imagesPerSecond: 0,
    batchSize: meta.batch_size ?? 0, batched: Boolean(meta.batched), rows, files: { summaryCsv: path.join(outDir, 'summary.csv'), summaryJson: path.join(outDir, 'summary.json') },
  };
  await writeSummaries(outcome, { modelPath: meta.model ?? '', inputs: meta.inputs ?? [], outDir, methods: meta.methods ?? [] });
  return outcome;
}
