// Joins bench/methods.mjs's lines with scripts/refs/pgc_method_times.py's into one markdown table
// (issue 20's figure): per method our ms, model runs and the rows they carried, ratio to our
// Grad-CAM, pytorch-grad-cam's ms and pgc / ours (> 1: CamLens is faster). Methods pytorch-grad-cam
// has no counterpart for (the input-space attributions) show "—". Then ShapleyCAM / Grad-CAM on
// each side. Settings that differ from the CLI's defaults, or pgc lines timed without warm-up, are
// footnoted: the row is then not a like-for-like figure.
// Several runs of either side may be given (e.g. the light methods and the slow ones apart); a
// method in more than one keeps its line from the file given first, and each of our lines' ratio
// to Grad-CAM is to the Grad-CAM of its own run.
// Usage: node bench/methods-vs-pgc.mjs methods.jsonl [methods-slow.jsonl] pgc.jsonl [pgc-heavy.jsonl]
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (!files.length) {
  console.error('usage: node bench/methods-vs-pgc.mjs <file>... (bench/methods.mjs and scripts/refs/pgc_method_times.py outputs, in any order)');
  process.exit(2);
}
/** The JSON lines of every file from `bench`, skipping anything else (progress bars, blank lines). */
const linesOf = (bench) =>
  files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((o) => o.bench === bench),
  );
/** method → its first line: with several runs (a light and a heavy one), the file given first wins for a method in both (Grad-CAM). */
const byMethod = (lines) => {
  const map = new Map();
  for (const o of lines) if (!map.has(o.method)) map.set(o.method, o);
  return map;
};

const ours = linesOf('methods');
const pgc = linesOf('pgc-methods');
const oursBy = byMethod(ours.filter((o) => o.method && o.median_ms !== undefined));
const pgcBy = byMethod(pgc.filter((o) => o.method));
const header = pgc.find((o) => o.header);
const summary = ours.find((o) => o.summary && o.shapleycam_over_gradcam !== undefined);
if (!oursBy.size) {
  console.error(`${files.join(', ')}: no bench/methods.mjs method lines`);
  process.exit(1);
}

const fmt = (v, d = 1) => (v === undefined || v === null ? '—' : Number(v).toFixed(d));
const notes = [];
const footnote = (text) => {
  notes.push(text);
  return `[${notes.length}]`;
};
const rows = [];
for (const [method, o] of oursBy) {
  const p = pgcBy.get(method);
  let marks = '';
  if (o.settings)
    marks += footnote(
      `${method}: ours with ${Object.entries(o.settings)
        .map(([k, v]) => `--${k} ${v}`)
        .join(' ')} (not the CLI default)`,
    );
  if (o.cold_samples) marks += footnote(`${method}: ${o.cold_samples} of our samples waited for a session build (its time taken off)`);
  if (p?.note) marks += footnote(`${method}: pgc ${p.note}`);
  if (p && !p.warmup) marks += footnote(`${method}: pgc ${p.repeats} run(s) without warm-up${p.settings ? `, ${JSON.stringify(p.settings)}` : ''}`);
  rows.push(
    `| ${method}${marks} | ${o.reference} | ${fmt(o.median_ms)} | ${o.model_runs} / ${o.model_run_rows} | ${fmt(o.ratio_to_gradcam, 2)} | ${fmt(p?.median_ms)} | ${p ? fmt(p.median_ms / o.median_ms, 2) : '—'} |`,
  );
}
const missing = [...pgcBy.keys()].filter((m) => !oursBy.has(m));
const first = oursBy.values().next().value;
console.log(
  `Per method on ${first.model}, ${first.size}², class ${first.class}; ours: median of ${first.repeats} (wall through the worker, ${first.threads} threads)`,
);
if (header && !first.model.startsWith('resnet50'))
  console.log(`NOT COMPARABLE: ours measured ${first.model}, pytorch-grad-cam the seeded ResNet-50 (run bench/methods.mjs without BENCH_MODEL)`);
if (header) console.log(`pytorch-grad-cam: torch ${header.torch}, ${header.threads} threads, weights match the ONNX export: ${header.weights_match_onnx}`);
console.log('');
console.log('| method | reference | ours ms | model runs / rows | ours / Grad-CAM | pgc ms | pgc / ours |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
const shapleyPgc = pgcBy.get('shapleycam') && pgcBy.get('gradcam') ? pgcBy.get('shapleycam').median_ms / pgcBy.get('gradcam').median_ms : undefined;
console.log('');
console.log(
  `ShapleyCAM / Grad-CAM: ours ${fmt(summary?.shapleycam_over_gradcam, 2)} (${summary?.shapleycam_runs ?? '—'} model run), pytorch-grad-cam ${fmt(shapleyPgc, 2)}`,
);
if (missing.length) console.log(`\npgc lines without ours: ${missing.join(', ')}`);
notes.forEach((n, i) => console.log(`${i === 0 ? '\n' : ''}[${i + 1}] ${n}`));
