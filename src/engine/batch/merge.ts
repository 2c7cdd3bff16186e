// `camlens merge`: the summaries of several batch folders (e.g. the shards of one run) as one
// summary.csv/summary.json/report.html in `outDir`. Per-image files stay where they are; the
// merged rows' `output` points at them relative to `outDir`. A path seen twice keeps its first
// successful rows (a detector's image: its rows of every detection, from one folder).
//
// Each folder's rows come from its summary.jsonl (one JSON row a line, in finishing order) and
// its figures from the top of its summary.json. The journals are indexed first (indexJournal:
// per row its path, method and byte range, ~100 bytes plus the path; 100,000 rows ≈ 15 MB,
// never the rows themselves), then merged as k sorted streams that read one row per folder at a
// time. The merge runs twice, once for the figures and metric names that head the files, once
// to write them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CamLensError } from '../errors';
import type { CamMethodName } from '../explainTypes';
import { compareImageRows } from './outputs';
import { readSummaryFigures, withRowsFromSummary, writeSummaries } from './summaryFiles';
import { indexJournal, JOURNAL_NAME, readRowsAt, type JournalEntry } from './summaryJournal';
import type { BatchOutcome, SummaryRow } from './types';

interface ShardMeta {
  model?: string;
  inputs?: string[];
  methods?: CamMethodName[];
  batch_size?: number;
  batched?: boolean;
  total?: number;
  cancelled?: boolean;
}

interface Shard {
  dir: string;
  journal: string;
  meta: ShardMeta;
  entries: JournalEntry[];
}

async function readShard(dir: string): Promise<Shard> {
  const summary = path.join(dir, 'summary.json');
  let meta: ShardMeta;
  try {
    meta = (await readSummaryFigures(summary)) as ShardMeta;
  } catch (e) {
    throw new CamLensError('BAD_ARGUMENT', `${(e as Error).message.replace(/\.$/, '')}; is ${dir} a camlens batch output folder?`);
  }
  const journal = path.join(dir, JOURNAL_NAME);
  if (!fs.existsSync(journal)) {
    throw new CamLensError(
      'BAD_ARGUMENT',
      `${dir} has no ${JOURNAL_NAME}, the rows merge reads (camlens batch writes it; a merge's own output folder and runs of CamLens before it have none). Merge the original batch folders, or re-run that folder's camlens batch command with --resume (nothing is explained again) to write it.`,
    );
  }
  let entries: JournalEntry[];
  try {
    entries = await indexJournal(journal);
  } catch (e) {
    if (e instanceof CamLensError) throw e;
    throw new CamLensError('BAD_ARGUMENT', `Cannot read ${journal}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
  }
  // A run killed after an earlier one finished leaves the earlier summary.json beside its own
  // partial journal: every input has a row per method in a finished run.
  const expected = (meta.total ?? 0) * (meta.methods?.length ?? 0);
  if (!meta.cancelled && entries.length < expected) {
    throw new CamLensError(
      'BAD_ARGUMENT',
      `${journal} holds ${entries.length} rows where ${summary} counts ${meta.total} inputs × ${meta.methods!.length} methods: the folder's last run did not finish. Re-run its camlens batch command with --resume, then merge.`,
    );
  }
  return { dir, journal, meta, entries };
}

export async function mergeBatches(dirs: readonly string[], outDirArg: string): Promise<BatchOutcome> {
  const started = performance.now();
  const outDir = path.resolve(outDirArg);
  const shards: Shard[] = [];
  let meta: ShardMeta = {};
  let total = 0;
  let cancelled = false;
  for (const dir of dirs) {
    const s = await readShard(dir);
    if (meta.model && s.meta.model !== meta.model)
      throw new CamLensError('BAD_ARGUMENT', `${dir} was made with ${s.meta.model}, ${dirs[0]} with ${meta.model}; merge runs of one model.`);
    meta = meta.model ? meta : s.meta;
    total += s.meta.total ?? 0;
    cancelled ||= Boolean(s.meta.cancelled);
    shards.push(s);
  }

  // First pass: the figures and the metric columns.
  let rowCount = 0;
  let done = 0;
  let failed = 0;
  const metricNames = new Set<string>();
  let boxes = false;
  let lastPath: string | undefined;
  let pathFailed = false;
  for (const row of mergedRows(shards, outDir)) {
    rowCount++;
    for (const name of Object.keys(row.metrics ?? {})) metricNames.add(name);
    boxes ||= row.box !== undefined;
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
    outDir,
    total,
    done,
    failed,
    resumed: 0,
    cancelled,
    elapsedMs: performance.now() - started,
    imagesPerSecond: 0,
    batchSize: meta.batch_size ?? 0,
    batched: Boolean(meta.batched),
    rowCount,
    files: { summaryCsv: path.join(outDir, 'summary.csv'), summaryJson: path.join(outDir, 'summary.json') },
  });
  // Second pass: the files.
  await writeSummaries(
    outcome,
    { modelPath: meta.model ?? '', inputs: meta.inputs ?? [], methods: meta.methods ?? [] },
    { rows: mergedRows(shards, outDir), metricNames, boxes },
  );
  return outcome;
}

interface RowStream {
  dir: string;
  rows: Generator<SummaryRow>;
  head: SummaryRow | undefined;
}

/** The shards' rows in summary order, one folder's rows per path and method, `output` relative to outDir. */
function* mergedRows(shards: readonly Shard[], outDir: string): Generator<SummaryRow> {
  const streams: RowStream[] = shards.map((s) => ({ dir: s.dir, rows: readRowsAt(s.journal, s.entries), head: undefined }));
  const advance = (s: RowStream) => {
    const next = s.rows.next();
    s.head = next.done ? undefined : next.value;
  };
  try {
    for (const s of streams) advance(s);
    for (;;) {
      let key: SummaryRow | undefined;
      for (const s of streams) if (s.head && (!key || compareImageRows(s.head, key) < 0)) key = s.head;
      if (!key) return;
      // Every folder's rows of this path and method (one per detection for a detector), in folder
      // order: the first folder whose rows succeeded wins, all its rows.
      let chosen: { rows: SummaryRow[]; dir: string } | undefined;
      for (const s of streams) {
        const rows: SummaryRow[] = [];
        while (s.head && compareImageRows(s.head, key) === 0) {
          rows.push(s.head);
          advance(s);
        }
        const failed = (r: SummaryRow[]) => r.some((x) => x.status === 'error');
        if (rows.length && (!chosen || (failed(chosen.rows) && !failed(rows)))) chosen = { rows, dir: s.dir };
      }
      const { rows, dir } = chosen!;
      for (const row of rows) {
        yield {
          ...row,
          output: row.output
            ? path
                .relative(outDir, path.join(path.resolve(dir), row.output))
                .split(path.sep)
                .join('/')
            : null,
        };
      }
    }
  } finally {
    for (const s of streams) s.rows.return(undefined);
  }
}
