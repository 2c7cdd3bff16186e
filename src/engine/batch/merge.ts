// `camlens merge`: the summaries of several batch folders (e.g. the shards of one run) as one
// summary.csv/summary.json/report.html in `outDir`. Per-image files stay where they are; the
// merged rows' `output` points at them relative to `outDir`. A path seen twice keeps its first
// successful row.
//
// Memory does not grow with the rows: every summary.json is already in path order (the runner
// writes it so), so the merge is a k-way merge of row streams holding one row per folder. It
// runs twice, once for the figures and metric names that head the files, once to write them.
import * as path from 'node:path';
import { CamLensError } from '../errors';
import type { CamMethodName } from '../explainTypes';
import { compareRows } from './outputs';
import type { BatchOutcome, SummaryRow } from './types';
import { withRowsFromSummary, writeSummaries } from './summaryFiles';
import { readSummaryMeta, readSummaryRows } from './summaryJsonReader';

interface ShardSummary { dir: string; file: string }

interface ShardMeta { model?: string; inputs?: string[]; methods?: CamMethodName[]; batch_size?: number; batched?: boolean; total?: number; cancelled?: boolean }

export async function mergeBatches(dirs: readonly string[], outDirArg: string): Promise<BatchOutcome> {
  const started = performance.now();
  const outDir = path.resolve(outDirArg);
  const shards: ShardSummary[] = dirs.map((dir) => ({ dir, file: path.join(dir, 'summary.json') }));
  let meta: ShardMeta = {};
  let total = 0;
  let cancelled = false;
  for (const s of shards) {
    let m: ShardMeta;
    try {
      m = (await readSummaryMeta(s.file)) as ShardMeta;
    } catch (e) {
      throw new CamLensError('BAD_ARGUMENT', `${(e as Error).message.replace(/\.$/, '')}; is ${s.dir} a camlens batch output folder?`);
    }
    if (meta.model && m.model !== meta.model) throw new CamLensError('BAD_ARGUMENT', `${s.dir} was made with ${m.model}, ${dirs[0]} with ${meta.model}; merge runs of one model.`);
    meta = meta.model ? meta : m;
    total += m.total ?? 0;
    cancelled ||= Boolean(m.cancelled);
  }

  // First pass: the figures and the metric columns.
  let rowCount = 0;
  let done = 0;
  let failed = 0;
  const metricNames = new Set<string>();
  let lastPath: string | undefined;
  let pathFailed = false;
  for await (const row of mergedRows(shards, outDir)) {
    rowCount++;
    for (const name of Object.keys(row.metrics ?? {})) metricNames.add(name);
    if (row.path !== lastPath) {
      if (pathFailed) failed++;
      done++;
      lastPath = row.path;
      pathFailed = false;
    }
    pathFailed ||= row.status === 'error';
  }
  if (pathFailed) failed++;

  const outcome = withRowsFromSummary({
    outDir, total, done, failed, resumed: 0, cancelled, elapsedMs: performance.now() - started, imagesPerSecond: 0,
    batchSize: meta.batch_size ?? 0, batched: Boolean(meta.batched), rowCount,
    files: { summaryCsv: path.join(outDir, 'summary.csv'), summaryJson: path.join(outDir, 'summary.json') },
  });
  // Second pass: the files.
  await writeSummaries(outcome, { modelPath: meta.model ?? '', inputs: meta.inputs ?? [], methods: meta.methods ?? [] }, { rows: mergedRows(shards, outDir), metricNames });
  return outcome;
}

interface RowStream { shard: ShardSummary; rows: AsyncGenerator<SummaryRow>; head: SummaryRow | undefined; index: number }

/** The shards' rows in summary order, one per path and method, `output` relative to outDir. */
async function* mergedRows(shards: readonly ShardSummary[], outDir: string): AsyncGenerator<SummaryRow> {
  const streams: RowStream[] = shards.map((shard) => ({ shard, rows: readSummaryRows(shard.file), head: undefined, index: -1 }));
  const advance = async (s: RowStream) => {
    const previous = s.head;
    const next = await s.rows.next();
    s.index++;
    s.head = next.done ? undefined : next.value;
    if (previous && s.head && compareRows(previous, s.head) > 0) {
      throw new CamLensError('BAD_ARGUMENT', `${s.shard.file}: row ${s.index + 1} (${s.head.path}) comes after ${previous.path}; merge needs rows in path order, as camlens batch writes them.`);
    }
  };
  try {
    for (const s of streams) await advance(s);
    for (;;) {
      let key: SummaryRow | undefined;
      for (const s of streams) if (s.head && (!key || compareRows(s.head, key) < 0)) key = s.head;
      if (!key) return;
      // Every row with this path and method, in folder order: the first successful one wins.
      let chosen: { row: SummaryRow; dir: string } | undefined;
      for (const s of streams) {
        while (s.head && compareRows(s.head, key) === 0) {
          if (!chosen || (chosen.row.status === 'error' && s.head.status !== 'error')) chosen = { row: s.head, dir: s.shard.dir };
          await advance(s);
        }
      }
      const { row, dir } = chosen!;
      yield { ...row, output: row.output ? path.relative(outDir, path.join(path.resolve(dir), row.output)).split(path.sep).join('/') : null };
    }
  } finally {
    await Promise.all(streams.map((s) => s.rows.return(undefined)));
  }
}
