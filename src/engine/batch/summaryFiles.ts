// summary.csv, summary.json and report.html of a batch run (or of a merge), written in one pass
// over rows that arrive already in order, one at a time: nothing here holds more than one row,
// so 100,000 images cost no more memory than 100. Each file is published atomically at the end
// (AtomicFileWriter). The bytes are those of the one-string renderers (summaryCsv,
// JSON.stringify(..., null, 1), renderReport): the tests compare them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { CamLensError } from '../errors';
import { AtomicFileWriter } from './atomicFileWriter';
import { commonDir, globRoot, isGlob } from './inputs';
import { summaryCsvHeader, summaryCsvLine } from './outputs';
import { reportFrame, reportRowJson, type ReportOptions } from './report';
import type { BatchJob, BatchOutcome, SummaryRow } from './types';

export interface SummarySource {
  /** In summary order (path, then method). */
  rows: Iterable<SummaryRow> | AsyncIterable<SummaryRow>;
  /** Every metric name that occurs in the rows (the CSV header comes first). */
  metricNames: Iterable<string>;
  /** Whether a row explains a detection: the CSV's box columns. */
  boxes?: boolean;
}

/** summary.json up to its rows array's "[": the run's figures first, then the rows. */
export function summaryJsonHead(meta: Record<string, unknown>): string {
  const empty = JSON.stringify({ ...meta, rows: [] }, null, 1);
  return empty.slice(0, empty.length - '[]\n}'.length) + '[';
}

/** One row of summary.json's array, indented as JSON.stringify(whole, null, 1) would. */
export function summaryJsonRow(row: SummaryRow, first: boolean): string {
  // JSON strings hold no raw newline, so every newline here is layout.
  return `${first ? '' : ','}\n  ${JSON.stringify(row, null, 1).replace(/\n/g, '\n  ')}`;
}

export const summaryJsonTail = (rowCount: number): string => (rowCount ? '\n ]\n}\n' : ']\n}\n');

/** The line that opens summary.json's rows: every line before it is a figure. */
const ROWS_LINE = summaryJsonHead({}).split('\n').pop()!;

/**
 * The figures at the top of a summary.json (model, inputs, methods, total, ...), read line by
 * line up to its rows, which are never read: they are in summary.jsonl. Needs the layout
 * summaryJsonHead writes (JSON strings hold no raw newline, so a line is never inside a value).
 */
export async function readSummaryFigures(file: string): Promise<Record<string, unknown>> {
  const input = fs.createReadStream(file, { encoding: 'utf8' });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  const head: string[] = [];
  try {
    for await (const line of lines) {
      if (line === ROWS_LINE || line === `${ROWS_LINE}]`) return JSON.parse(`${head.join('\n')}\n${ROWS_LINE}]\n}`) as Record<string, unknown>;
      head.push(line);
    }
  } catch (e) {
    if (e instanceof SyntaxError) throw new CamLensError('BAD_ARGUMENT', `${file}: its figures are not valid JSON (${e.message}).`);
    throw new CamLensError('BAD_ARGUMENT', `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
  } finally {
    lines.close();
    input.destroy();
  }
  throw new CamLensError('BAD_ARGUMENT', `${file} is not a summary.json as camlens batch writes it (its figures, then "rows" on a line of its own).`);
}

/** The figures at the top of summary.json and of the report. */
export function summaryMeta(o: BatchOutcome, job: Pick<BatchJob, 'modelPath' | 'inputs' | 'methods' | 'shard'>): Record<string, unknown> {
  return {
    model: path.resolve(job.modelPath),
    inputs: job.inputs.map((i) => path.resolve(i)),
    methods: job.methods,
    shard: job.shard ? `${job.shard.index}/${job.shard.count}` : null,
    total: o.total,
    done: o.done,
    failed: o.failed,
    resumed: o.resumed,
    cancelled: o.cancelled,
    batch_size: o.batchSize,
    batched: o.batched,
    elapsed_ms: Math.round(o.elapsedMs),
    images_per_s: Math.round(o.imagesPerSecond * 100) / 100,
    ...(o.steadyImagesPerSecond !== undefined ? { steady_images_per_s: Math.round(o.steadyImagesPerSecond * 100) / 100 } : {}),
  };
}

/** Writes o.files.summaryCsv, o.files.summaryJson and (unless job.report is false) report.html. */
export async function writeSummaries(
  o: BatchOutcome,
  job: Pick<BatchJob, 'modelPath' | 'inputs' | 'methods' | 'shard' | 'report'>,
  source: SummarySource,
): Promise<void> {
  await fs.promises.mkdir(o.outDir, { recursive: true });
  const meta = summaryMeta(o, job);
  const reportFile = job.report !== false ? path.join(o.outDir, 'report.html') : undefined;
  const inputRoot = commonInputRoot(job.inputs);
  const reportOptions: ReportOptions = {
    title: `CamLens batch: ${path.basename(job.modelPath)}`,
    meta,
    imagePath: (rel) => path.relative(o.outDir, path.join(inputRoot, rel)).split(path.sep).join('/'),
  };
  const writers: AtomicFileWriter[] = [];
  try {
    const csv = await AtomicFileWriter.open(o.files.summaryCsv);
    writers.push(csv);
    const json = await AtomicFileWriter.open(o.files.summaryJson);
    writers.push(json);
    const html = reportFile ? await AtomicFileWriter.open(reportFile) : undefined;
    if (html) writers.push(html);
    const frame = html ? reportFrame(reportOptions) : undefined;
    const metricNames = [...source.metricNames].sort();
    await csv.write(summaryCsvHeader(metricNames, source.boxes));
    await json.write(summaryJsonHead(meta));
    if (html) await html.write(frame!.head);
    let count = 0;
    for await (const row of source.rows) {
      await csv.write(summaryCsvLine(row, metricNames, source.boxes));
      await json.write(summaryJsonRow(row, count === 0));
      if (html) await html.write((count === 0 ? '' : ',') + reportRowJson(row, reportOptions));
      count++;
    }
    await json.write(summaryJsonTail(count));
    if (html) await html.write(frame!.tail);
    for (const w of writers) await w.commit();
  } catch (e) {
    await Promise.all(writers.map((w) => w.discard()));
    throw e;
  }
  if (reportFile) o.files.report = reportFile;
}

/** `o` with its `rows` getter: summary.json's rows, parsed anew at each access. */
export function withRowsFromSummary(o: Omit<BatchOutcome, 'rows'>): BatchOutcome {
  return Object.defineProperty(o, 'rows', {
    get: () => (JSON.parse(fs.readFileSync(o.files.summaryJson, 'utf8')) as { rows: SummaryRow[] }).rows,
    enumerable: false,
  }) as BatchOutcome;
}

/** The folder `rel` paths are relative to (the same rule as listInputs). */
export function commonInputRoot(args: readonly string[]): string {
  const roots = args.map((a) => {
    const abs = path.resolve(a);
    if (isGlob(a)) return globRoot(abs);
    return fs.statSync(abs, { throwIfNoEntry: false })?.isDirectory() ? abs : path.dirname(abs);
  });
  return roots.length ? roots.reduce(commonDir) : process.cwd();
}
