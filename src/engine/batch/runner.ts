// Batch export, the orchestrating side (runs in the CLI or the extension host; pure Node: no
// onnxruntime, no sharp). Lists the inputs, takes the shard, skips what a previous run finished
// (--resume), then keeps a bounded number of batches in flight to the worker (`backend`): while
// one batch runs, the previous one's files are written and the next one is decoded. Memory stays
// flat: at most `inflight` batches of images exist at a time, whatever the folder's size, and
// each finished row goes straight to the summary journal on disk (summaryJournal.ts) from which
// the summaries are streamed at the end (summaryFiles.ts); per input only its path, its stem and
// a few bytes of index stay in memory. A
// failing image becomes an error row; a crashed worker is restarted by the client and its
// batch retried image by image (so the image that kills it is the only one lost); cancel stops
// issuing batches, and what was written stays valid (atomic writes).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CamLensError } from '../errors';
import type { CamMethodName } from '../explainTypes';
import { listClips } from './clipInputs';
import { groundTruthOf, listInputs, outputStems, readGroundTruth, shardOf, type BatchInput } from './inputs';
import { lockOutputFolder, makeOutputFolder } from './outputFolder';
import type { ReportedDetection } from '../detection/detections';
import { explanationStem } from '../explanationStem';
import { boxFields, completeOutput, explanationJson, writeImageOutputs } from './outputs';
import { withRowsFromSummary, writeSummaries } from './summaryFiles';
import { JOURNAL_NAME, SummaryJournal } from './summaryJournal';
import type { BatchBackend, BatchItem, BatchJob, BatchOutcome, BatchProgress, ExplainBatchParams, ExplainBatchResult, SummaryRow } from './types';

// The job/outcome types live in types.ts (shared with summaryFiles and merge without an import
// circle); re-exported because they are runBatch's API.
export type { BatchBackend, BatchJob, BatchOutcome, BatchProgress, BatchTarget } from './types';

/** `row` as the row of detection `at` (its box columns before `error`, as the CSV has them); `row` itself without one. */
function withBox(row: SummaryRow, detection: [number, ReportedDetection] | undefined): SummaryRow {
  if (!detection) return row;
  const { error, ...rest } = row;
  return { ...rest, ...boxFields(detection[0], detection[1]), error };
}

/** Images per run when the caller does not say: smaller models take bigger batches. */
export function defaultBatchSize(modelBytes: number): number {
  const mb = modelBytes / 1024 ** 2;
  return mb < 16 ? 16 : mb < 64 ? 8 : mb < 256 ? 4 : 2;
}

const RETRY_CODES = new Set(['WORKER_CRASHED', 'TIMEOUT']);

/** `index`: the input's place in `selected`. */
interface Work {
  index: number;
  input: BatchInput;
  stem: string;
  cls: number | null;
  gt: number | null;
}

/**
 * This shard's inputs and their output stems. Stems come from the full list (every shard names a
 * file the same way); a function of its own so that the full list is garbage once it returns.
 */
function shardInputs(job: BatchJob, outDir: string): { selected: BatchInput[]; stems: string[] } {
  const all = (job.clips ? listClips : listInputs)(job.inputs, { exclude: job.exclude, skipDirs: [outDir] });
  if (!all.length)
    throw new CamLensError(
      'BAD_ARGUMENT',
      `No ${job.clips ? 'clips (folders of frames, animated GIF/WebP, .npy)' : 'images'} found in ${job.inputs.join(', ')}.`,
    );
  const allStems = outputStems(all);
  const shard = job.shard;
  if (!shard || shard.count === 1) return { selected: all, stems: allStems };
  const selected: BatchInput[] = [];
  const stems: string[] = [];
  all.forEach((x, i) => {
    if (shardOf(x.rel, shard.count) !== shard.index) return;
    selected.push(x);
    stems.push(allStems[i]);
  });
  return { selected, stems };
}

/**
 * Where each row goes in the summaries (sorted by path, then method): input i's row for
 * job.methods[m] is slot rank[i] * methods + methodRank[m]. Typed arrays: 4 bytes per input.
 */
function summarySlots(selected: readonly BatchInput[], methods: readonly CamMethodName[]): (input: number, method: number) => number {
  const byPath = Array.from(selected.keys()).sort((a, b) => (selected[a].rel < selected[b].rel ? -1 : selected[a].rel > selected[b].rel ? 1 : a - b));
  const rank = new Uint32Array(selected.length);
  byPath.forEach((input, place) => {
    rank[input] = place;
  });
  const byName = Array.from(methods.keys()).sort((a, b) => (methods[a] < methods[b] ? -1 : methods[a] > methods[b] ? 1 : a - b));
  const methodRank = new Uint32Array(methods.length);
  byName.forEach((method, place) => {
    methodRank[method] = place;
  });
  return (input, method) => rank[input] * methods.length + methodRank[method];
}

/**
 * The images per second between the completions that took a run to 10 % and to 90 % of its
 * images: its pace with the start-up (model load, backward graph, sessions) and the drain at the
 * end (the last batches beside idle workers) left out. It was once counted from the first batch
 * back: with several batches in flight per worker, those right behind it came back soon after and
 * counted as made in no time (ResNet-50 224², batch 16, two workers: 42 images/s that way, 36.9
 * between 10 % and 90 %). undefined when no completion falls between the two (a run of a few batches).
 */
export function steadyWindow(total: number): { completed(done: number, ms: number): void; rate(): number | undefined } {
  let from: { done: number; ms: number } | undefined;
  let to: { done: number; ms: number } | undefined;
  return {
    completed(done, ms) {
      if (!from && done >= 0.1 * total) from = { done, ms };
      else if (from && !to && done >= 0.9 * total) to = { done, ms };
    },
    rate: () => (from && to && to.ms > from.ms ? (to.done - from.done) / ((to.ms - from.ms) / 1000) : undefined),
  };
}

type RunOptions = { signal?: AbortSignal; onProgress?: (p: BatchProgress) => void; onLog?: (line: string) => void };

/**
 * Runs a batch into job.outDir, holding the folder's lock (outputFolder.ts) from before the
 * inputs are listed until the summaries are written: a second run into the same folder fails
 * at once instead of interleaving its rows.
 */
export async function runBatch(job: BatchJob, backend: BatchBackend, options: RunOptions = {}): Promise<BatchOutcome> {
  const started = performance.now();
  const outDir = path.resolve(job.outDir);
  const modelBytes = fs.statSync(job.modelPath, { throwIfNoEntry: false })?.size;
  if (modelBytes === undefined) throw new CamLensError('MODEL_READ', `No such model file: ${job.modelPath}.`);
  if (!job.methods.length) throw new CamLensError('BAD_ARGUMENT', 'batch: give at least one method.');
  makeOutputFolder(outDir);
  const lock = lockOutputFolder(outDir);
  try {
    return await runLocked(job, backend, options, { started, outDir, modelBytes });
  } finally {
    lock.release();
  }
}

async function runLocked(
  job: BatchJob,
  backend: BatchBackend,
  options: RunOptions,
  { started, outDir, modelBytes }: { started: number; outDir: string; modelBytes: number },
): Promise<BatchOutcome> {
  const batchSize = Math.max(1, job.batchSize ?? defaultBatchSize(modelBytes));
  const { selected, stems } = shardInputs(job, outDir);
  const gt = job.groundTruthCsv ? readGroundTruth(job.groundTruthCsv, job.labels) : undefined;
  const target = job.target ?? { kind: 'top1' };
  if (target.kind === 'ground-truth' && !gt)
    throw new CamLensError('BAD_ARGUMENT', 'The ground-truth target needs a CSV of file,label rows (--ground-truth FILE).', { usage: true });
  const methodDir = (m: CamMethodName) => (job.methods.length > 1 ? m : '');
  const outputOf = (stem: string, m: CamMethodName) => path.posix.join(methodDir(m), stem);
  const prefixOf = (stem: string, m: CamMethodName) => path.join(outDir, outputOf(stem, m));
  const gtOf = (input: BatchInput) => (gt ? (groundTruthOf(gt, input) ?? null) : null);
  const workOf = (index: number): Work => {
    const input = selected[index];
    const g = gtOf(input);
    return { index, input, stem: stems[index], cls: target.kind === 'class' ? target.index : target.kind === 'ground-truth' ? g : null, gt: g };
  };

  const slot = summarySlots(selected, job.methods);
  // Closed once the lanes are done (or by append itself when a write fails).
  const journal = new SummaryJournal(path.join(outDir, JOURNAL_NAME), selected.length * job.methods.length);
  /** Indices (into `selected`) of the inputs this run explains. */
  const todoList: number[] = [];
  let resumed = 0;
  let failed = 0;
  const blank = (input: BatchInput, m: CamMethodName, g: number | null): SummaryRow => ({
    path: input.rel,
    method: m,
    status: 'error',
    predicted_class: null,
    predicted_label: null,
    predicted_prob: null,
    target_class: null,
    target_label: null,
    ground_truth: g,
    layer: null,
    ep: null,
    preprocess_ms: null,
    run_ms: null,
    cam_ms: null,
    overlay_ms: null,
    write_ms: null,
    output: null,
    error: null,
  });
  for (let k = 0; k < selected.length; k++) {
    const input = selected[k];
    const stem = stems[k];
    const g = gtOf(input);
    if (job.resume) {
      const previous = job.methods.map((m) => completeOutput(prefixOf(stem, m), m));
      if (previous.every(Boolean)) {
        resumed++;
        previous.forEach((prev, i) => {
          const j = prev!.json;
          const row: SummaryRow = {
            ...blank(input, job.methods[i], g),
            status: 'resumed',
            predicted_class: j.predictions[0]?.index ?? null,
            predicted_label: j.predictions[0]?.label ?? null,
            predicted_prob: j.predictions[0]?.prob ?? null,
            target_class: j.class,
            target_label: j.explanations[0].label,
            layer: j.layers.join('+'),
            ep: j.ep,
            preprocess_ms: j.timings_ms.preprocess ?? null,
            run_ms: j.timings_ms.run ?? null,
            cam_ms: j.timings_ms.cam ?? null,
            output: outputOf(stem, job.methods[i]),
            ...(j.metrics ? { metrics: j.metrics } : {}),
            ...(j.explanations[0].frames !== undefined ? { frames: j.explanations[0].frames } : {}),
          };
          // A detector's image: a row per detection explained, as the run that wrote it had.
          const detections = j.detections;
          const files = (name: string) => path.posix.join(path.posix.dirname(row.output!), name);
          journal.append(
            slot(k, i),
            detections
              ? j.explanations.map((e) =>
                  withBox(
                    { ...row, target_class: e.class, target_label: e.label, output: files(e.files) },
                    e.box === undefined ? undefined : [e.box, detections[e.box]],
                  ),
                )
              : row,
          );
        });
        continue;
      }
    }
    if (target.kind === 'ground-truth' && g === null) {
      failed++;
      job.methods.forEach((m, mi) =>
        journal.append(slot(k, mi), { ...blank(input, m, null), error: `${input.rel} has no row in the ground-truth CSV ${job.groundTruthCsv}.` }),
      );
      continue;
    }
    todoList.push(k);
  }
  const todo = Uint32Array.from(todoList);
  todoList.length = 0;

  const total = selected.length;
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let done = 0;
  let batched = false;
  let firstDone: number | undefined;
  const steady = steadyWindow(todo.length);
  const report = () => {
    const now = performance.now();
    const rate = done && firstDone !== undefined ? done / ((now - started) / 1000) : 0;
    const left = todo.length - done;
    options.onProgress?.({ done: total - left, total, failed, resumed, imagesPerSecond: rate, etaSeconds: rate ? left / rate : undefined });
  };
  report();

  // Batches are made as lanes take them: only those in flight exist.
  let nextTodo = 0;
  const nextChunk = (): Work[] => Array.from(todo.subarray(nextTodo, (nextTodo += batchSize)), workOf);
  const request = (chunk: Work[]): ExplainBatchParams => ({
    ...job.params,
    modelPath: job.modelPath,
    inputs: chunk.map((w) => w.input.file),
    methods: job.methods,
    classes: chunk.map((w) => w.cls),
    // The worker writes the map files where they are made; only S.json is written here.
    outputPrefixes: chunk.map((w) => job.methods.map((m) => prefixOf(w.stem, m))),
    jobs: job.jobs,
    ...(job.metrics?.length ? { metrics: job.metrics } : {}),
  });

  const record = async (chunk: Work[], result: ExplainBatchResult) => {
    batched ||= result.batched;
    await Promise.all(
      chunk.map(async (w, i) => {
        const item: BatchItem = result.items[i] ?? {
          input: w.input.file,
          ok: false,
          error: { code: 'INTERNAL', message: 'the worker returned no result for this image' },
        };
        if (!item.ok) {
          failed++;
          job.methods.forEach((m, mi) => journal.append(slot(w.index, mi), { ...blank(w.input, m, w.gt), error: item.error.message }));
          return;
        }
        // An image counts as failed once, whichever of its methods' rows failed.
        let imageFailed = false;
        const failRow = (mi: number, m: CamMethodName, error: string) => {
          imageFailed = true;
          journal.append(slot(w.index, mi), { ...blank(w.input, m, w.gt), error });
        };
        for (const wn of item.warnings ?? []) options.onLog?.(`warning: ${w.input.file}${wn.method ? ` (${wn.method})` : ''}: ${wn.message}`);
        for (const [mi, m] of job.methods.entries()) {
          const maps = item.maps.filter((x) => x.method === m);
          if (!maps.length) {
            failRow(mi, m, item.methodErrors?.find((x) => x.method === m)?.message ?? `no ${m} map came back`);
            continue;
          }
          const ws = performance.now();
          const stemName = path.posix.basename(w.stem);
          const json = explanationJson(job.modelPath, item, m, maps, stemName, result.ep, {
            path: w.input.rel,
            ...(w.gt !== null ? { ground_truth: w.gt } : {}),
          });
          try {
            await writeImageOutputs(prefixOf(w.stem, m), json, maps, Boolean(item.detections));
          } catch (e) {
            failRow(mi, m, `writing outputs failed: ${(e as Error).message}`);
            continue;
          }
          const top = item.predictions[0];
          const row: SummaryRow = {
            ...blank(w.input, m, w.gt),
            status: 'ok',
            predicted_class: top?.index ?? null,
            predicted_label: top?.label ?? null,
            predicted_prob: top?.prob ?? null,
            target_class: maps[0].classIndex,
            target_label: maps[0].label,
            layer: item.layers.join('+'),
            ep: result.ep,
            preprocess_ms: item.timings_ms.preprocess,
            run_ms: item.timings_ms.run,
            cam_ms: item.timings_ms.cam,
            overlay_ms: item.timings_ms.overlay,
            write_ms: (item.timings_ms.write ?? 0) + performance.now() - ws,
            output: outputOf(w.stem, m),
            ...(maps[0].metrics ? { metrics: maps[0].metrics } : {}),
            ...(maps[0].video ? { frames: maps[0].video.frames } : {}),
          };
          // A detector's image: one row per detection explained (--box all), each with its own files.
          const detections = item.detections;
          journal.append(
            slot(w.index, mi),
            detections
              ? maps.map((map, i) =>
                  withBox(
                    {
                      ...row,
                      target_class: map.classIndex,
                      target_label: map.label,
                      output: explanationStem(row.output!, i, map, true),
                      ...(map.metrics ? { metrics: map.metrics } : {}),
                    },
                    map.detection === undefined ? undefined : [map.detection, detections[map.detection]],
                  ),
                )
              : row,
          );
        }
        if (imageFailed) failed++;
      }),
    );
    done += chunk.length;
    firstDone ??= performance.now();
    steady.completed(done, performance.now());
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
        job.methods.forEach((m, mi) => journal.append(slot(chunk[0].index, mi), { ...blank(chunk[0].input, m, chunk[0].gt), error: (e as Error).message }));
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

  let fatal: unknown;
  const lane = async () => {
    while (!controller.signal.aborted && fatal === undefined && nextTodo < todo.length) {
      const chunk = nextChunk();
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
    journal.close();
  }
  if (fatal !== undefined) throw fatal;
  const cancelled = Boolean(options.signal?.aborted);
  const elapsedMs = performance.now() - started;
  const outcome = withRowsFromSummary({
    outDir,
    total,
    done,
    failed,
    resumed,
    cancelled,
    elapsedMs,
    imagesPerSecond: done / (elapsedMs / 1000),
    batchSize,
    batched,
    rowCount: journal.rowCount,
    ...(steady.rate() !== undefined ? { steadyImagesPerSecond: steady.rate() } : {}),
    files: { summaryCsv: path.join(outDir, 'summary.csv'), summaryJson: path.join(outDir, 'summary.json'), journal: journal.file },
  });
  await writeSummaries(outcome, job, { rows: journal.rowsInOrder(), metricNames: journal.metricNames, boxes: journal.boxes });
  return outcome;
}
