// Writing a batch's per-image files atomically (atomicFileWriter.ts: a killed run or a full disk
// never leaves a truncated file), checking that a previous run's files are complete (--resume), and the
// summary tables. The per-image files are those of `camlens explain` (issue 5's contract):
// S.cam.npy, S.cam_image.npy (image files), S.cam_raw.npy, S.overlay.png and S.json, the JSON
// written last as the marker that the image is done.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { csvCell } from '../csv';
import type { CamMethodName } from '../explainTypes';
import { imageJson } from '../image/geometry';
import { attributionNpy } from '../cam/attribution';
import { conceptsFile, conceptsJson, conceptsNpy } from '../cam/conceptFiles';
import { npyParts, parseNpyHeader } from '../npy';
import { outputWriteError, writeAtomic, writeAtomicNow, type FileData } from './atomicFileWriter';
import type { ReportedDetection } from '../detection/detections';
import { explanationStem } from '../explanationStem';
import { isWritten, type AnyBatchMap, type BatchItem, type BatchMap, type SummaryRow, type WrittenBatchMap } from './types';
import { completeGif, mapShape, pictureFiles, pictureSuffixes, videoJsonFields } from './videoOutputs';

const round = (x: number) => Math.round(x * 100) / 100;

/** The S.json of one image and method, as `camlens explain` writes it (plus batch extras). */
export function explanationJson(
  modelPath: string,
  item: Extract<BatchItem, { ok: true }>,
  method: CamMethodName,
  maps: AnyBatchMap[],
  stemName: string,
  ep: string,
  extra: Record<string, unknown>,
): string {
  const t = item.timings_ms;
  const json = {
    model: modelPath,
    input: item.input,
    method,
    layers: item.layers,
    class: maps[0].classIndex,
    ...(item.scoreKind ? { scores: item.scoreKind } : {}),
    predictions: item.predictions,
    warnings: (item.warnings ?? []).filter((w) => w.method === undefined || w.method === method).map(({ code, message }) => ({ code, message })),
    ...(item.geometry ? { image: imageJson(item.geometry) } : {}),
    ep,
    timings_ms: {
      load: 0,
      preprocess: round(t.preprocess),
      run: round(t.run),
      cam: round(t.cam + t.overlay),
      total: round(t.preprocess + t.run + t.cam + t.overlay),
    },
    ...(item.detections ? { detections: item.detections } : {}),
    explanations: maps.map((m, i) => ({
      class: m.classIndex,
      label: m.label,
      files: explanationStem(stemName, i, m, Boolean(item.detections)),
      ...(m.target ? { target: m.target } : {}),
      ...(m.concepts ? { concept: m.concepts.chosen } : {}),
      ...(m.detection !== undefined ? { box: m.detection } : {}),
      ...videoJsonFields(m),
    })),
    ...(maps[0].concepts ? { concepts: conceptsJson(maps[0].concepts, stemName) } : {}),
    ...(item.notes && Object.keys(item.notes).length ? { notes: item.notes } : {}),
    ...(maps[0].metrics ? { metrics: maps[0].metrics } : {}),
    batch: extra,
  };
  return JSON.stringify(json, null, 1) + '\n';
}

/**
 * One image's map files for one method (S.cam.npy, S.cam_image.npy, S.cam_raw.npy, S.attr.npy,
 * the pictures, the concepts) under prefix, each with its contents. S.json is not among them: it
 * is written last. `detector`: the maps are detections (S.boxI files).
 */
function mapFiles(prefix: string, maps: readonly BatchMap[], detector: boolean): Array<[string, FileData]> {
  const files: Array<[string, FileData]> = [];
  maps.forEach((m, i) => {
    const p = explanationStem(prefix, i, m, detector);
    // Clips (videoOutputs.ts): [T, H, W] maps, a strip and an animated overlay instead of S.overlay.png.
    files.push([`${p}.cam.npy`, npyParts(m.cam.data, mapShape(m.cam, Boolean(m.video)))]);
    if (m.camImage) files.push([`${p}.cam_image.npy`, npyParts(m.camImage.data, [m.camImage.height, m.camImage.width])]);
    files.push([`${p}.cam_raw.npy`, npyParts(m.camRaw.data, mapShape(m.camRaw, Boolean(m.video)))]);
    if (m.attribution) files.push([`${p}.attr.npy`, attributionNpy(m.attribution)]);
    for (const [suffix, bytes] of pictureFiles(m)) files.push([`${p}${suffix}`, bytes]);
  });
  // As `camlens explain`: the first explanation's concepts (every class's are the same factorisation).
  if (maps[0]?.concepts) files.push([conceptsFile(prefix), conceptsNpy(maps[0].concepts)]);
  return files;
}

/** Writes one image's map files for one method (mapFiles) into prefix's folder, through libuv's thread pool. */
export async function writeMapFiles(prefix: string, maps: readonly BatchMap[], detector = false): Promise<void> {
  await fs.promises.mkdir(path.dirname(prefix), { recursive: true }).catch((e: unknown) => {
    throw outputWriteError(path.dirname(prefix), e);
  });
  await Promise.all(mapFiles(prefix, maps, detector).map(([file, data]) => writeAtomic(file, data)));
}

/**
 * writeMapFiles without the thread pool, for the worker when the CPU runs its model
 * (batchedExplain.ts: writeItemFiles): each pool call wakes a pool thread (four per file), and
 * those wakes cost more CPU than the writes. Never on the extension host's thread.
 */
export function writeMapFilesNow(prefix: string, maps: readonly BatchMap[], detector = false): void {
  try {
    fs.mkdirSync(path.dirname(prefix), { recursive: true });
  } catch (e) {
    throw outputWriteError(path.dirname(prefix), e);
  }
  for (const [file, data] of mapFiles(prefix, maps, detector)) writeAtomicNow(file, data);
}

/** A map as it is once its files are on disk: what S.json and the rows read of it. */
export function writtenMap(m: BatchMap): WrittenBatchMap {
  const { cam: _cam, camImage: _camImage, camRaw: _camRaw, overlayPng: _overlayPng, attribution: _attribution, video, concepts, ...rest } = m;
  return {
    ...rest,
    written: true,
    ...(video ? { video: { frames: video.frames, temporalWeights: video.temporalWeights } } : {}),
    ...(concepts ? { concepts: { layer: concepts.layer, count: concepts.count, topClasses: concepts.topClasses, chosen: concepts.chosen } } : {}),
  };
}

/** Writes one image's files for one method, JSON last (the maps the worker already wrote are not written again). */
export async function writeImageOutputs(prefix: string, json: string, maps: readonly AnyBatchMap[], detector = false): Promise<void> {
  if (maps.some((m) => !isWritten(m))) await writeMapFiles(prefix, maps as BatchMap[], detector);
  await writeAtomic(`${prefix}.json`, json);
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const IEND = [0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];

function completePng(file: string): boolean {
  const b = fs.readFileSync(file);
  return b.length > 20 && PNG_SIGNATURE.every((v, i) => b[i] === v) && IEND.every((v, i) => b[b.length - 8 + i] === v);
}

/** A float32 .npy whose payload is as long as its header's shape says. */
function completeNpy(file: string): boolean {
  const b = fs.readFileSync(file);
  let header;
  try {
    header = parseNpyHeader(b, file);
  } catch {
    return false; // not a .npy (e.g. cut short in its header): the image is explained again
  }
  const count = header.shape.reduce((a, x) => a * x, 1);
  return header.dtype === '<f4' && !header.fortranOrder && b.length === header.dataOffset + 4 * count;
}

export interface PreviousOutput {
  json: {
    input: string;
    method: CamMethodName;
    layers: string[];
    class: number;
    ep: string;
    predictions: Array<{ index: number; label: string; prob: number }>;
    timings_ms: Record<string, number>;
    explanations: Array<{ class: number; label: string; files: string; frames?: number; box?: number }>;
    /** Detectors: every detection; an explanation's `box` is its place here. */
    detections?: ReportedDetection[];
    metrics?: Record<string, number>;
    /** Image files: the original's size and geometry; they have an S.cam_image.npy too. */
    image?: unknown;
    /** dff: the concept maps' file (S.concepts.npy). */
    concepts?: { file: string };
  };
}

/** A previous run's outputs for `prefix`, when every file is there and whole; else undefined. */
export function completeOutput(prefix: string, method: CamMethodName): PreviousOutput | undefined {
  try {
    const json = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8')) as PreviousOutput['json'];
    if (json.method !== method || !Array.isArray(json.explanations) || !json.explanations.length) return undefined;
    const dir = path.dirname(prefix);
    if (json.concepts && !completeNpy(path.join(dir, json.concepts.file))) return undefined;
    for (const e of json.explanations) {
      const p = path.join(dir, e.files);
      if (!completeNpy(`${p}.cam.npy`) || !completeNpy(`${p}.cam_raw.npy`)) return undefined;
      if (json.image && !completeNpy(`${p}.cam_image.npy`)) return undefined;
      if (!pictureSuffixes(e).every((s) => (s.endsWith('.gif') ? completeGif : completePng)(`${p}${s}`))) return undefined;
    }
    return { json };
  } catch {
    return undefined;
  }
}

export const SUMMARY_COLUMNS: ReadonlyArray<keyof SummaryRow> = [
  'path',
  'method',
  'status',
  'predicted_class',
  'predicted_label',
  'predicted_prob',
  'target_class',
  'target_label',
  'ground_truth',
  'layer',
  'ep',
  'preprocess_ms',
  'run_ms',
  'cam_ms',
  'overlay_ms',
  'write_ms',
  'output',
  'error',
];

/** Detector runs: the columns of the detection a row explains, after `target_label` (SummaryRow's box fields). */
export const BOX_COLUMNS: ReadonlyArray<keyof SummaryRow> = ['box', 'box_score', 'box_x0', 'box_y0', 'box_x1', 'box_y1'];

/** The fixed columns of a summary: with the box columns when any row is a detection. */
export function summaryColumns(boxes: boolean): ReadonlyArray<keyof SummaryRow> {
  if (!boxes) return SUMMARY_COLUMNS;
  const at = SUMMARY_COLUMNS.indexOf('target_label') + 1;
  return [...SUMMARY_COLUMNS.slice(0, at), ...BOX_COLUMNS, ...SUMMARY_COLUMNS.slice(at)];
}

/** The box fields of a row that explains `d` (detection `at` of its image). */
export function boxFields(at: number, d: ReportedDetection): Pick<SummaryRow, 'box' | 'box_score' | 'box_x0' | 'box_y0' | 'box_x1' | 'box_y1'> {
  const [x0, y0, x1, y1] = d.box;
  return { box: at, box_score: d.score, box_x0: x0, box_y0: y0, box_x1: x1, box_y1: y1 };
}

const summaryCell = (v: string | number | null | undefined): string => csvCell(v, (n) => String(Math.round(n * 1e6) / 1e6));

// The CSV in pieces (header, then one line per row) so that summaryFiles.ts can stream it;
// summaryCsv is the same text in one string, for small tables and as the tests' reference.
/** Metric columns are `metric:<name>`, after the fixed ones, in name order; `boxes`: the box columns too (a detector's run). */
export function summaryCsvHeader(metricNames: Iterable<string>, boxes = false): string {
  return [...summaryColumns(boxes), ...[...metricNames].sort().map((m) => `metric:${m}`)].join(',') + '\n';
}

/** `sortedMetricNames`: the header's metric names, in its order; `boxes` as the header's. */
export function summaryCsvLine(r: SummaryRow, sortedMetricNames: readonly string[], boxes = false): string {
  return (
    [...summaryColumns(boxes).map((c) => summaryCell(r[c] as string | number | null)), ...sortedMetricNames.map((m) => summaryCell(r.metrics?.[m]))].join(',') +
    '\n'
  );
}

/** Whether a row explains a detection (the summaries then have the box columns). */
export const isBoxRow = (r: SummaryRow): boolean => r.box !== undefined;

export function summaryCsv(rows: readonly SummaryRow[]): string {
  const metricNames = [...new Set(rows.flatMap((r) => Object.keys(r.metrics ?? {})))].sort();
  const boxes = rows.some(isBoxRow);
  return summaryCsvHeader(metricNames, boxes) + rows.map((r) => summaryCsvLine(r, metricNames, boxes)).join('');
}

/** The summaries' row order: by input path, then method (plain string order), then detection. */
export const compareRows = (a: Pick<SummaryRow, 'path' | 'method' | 'box'>, b: Pick<SummaryRow, 'path' | 'method' | 'box'>): number =>
  compareImageRows(a, b) || (a.box ?? -1) - (b.box ?? -1);

/** Rows of one image and method (its detections' rows) compare equal. */
export const compareImageRows = (a: Pick<SummaryRow, 'path' | 'method'>, b: Pick<SummaryRow, 'path' | 'method'>): number =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : a.method < b.method ? -1 : a.method > b.method ? 1 : 0;

export const sortRows = (rows: SummaryRow[]) => rows.sort(compareRows);
