// Cost of opening a ResNet-50-sized model (~102 MB, built with the DSL in bench/lib): read +
// parse, Graph view, shape inference, and `camlens layers` end to end; peak RSS against the
// file size. Each run is a fresh child process, so its RSS high-water mark belongs to one load
// only and the timings include what a user pays on first open (no JIT warm-up carried over).
// Prints JSON lines only.
//
//   npm run bench:parse            (builds first; or: node esbuild.mjs && node bench/parse.mjs)
//   node bench/parse.mjs [--runs 5]
//
// Targets (reported, not asserted): parse + graph + shapes < 300 ms; peak RSS < 1.5x file size.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const self = fileURLToPath(import.meta.url);

// The measured child is bench/lib/parse-child.cjs (CommonJS: a smaller baseline).

// Builder child: makes the model and writes it, so that the parent (whose memory the measuring
// children would otherwise inherit in their maxRSS across fork + exec) stays small.
// Argv: --build <lib.js> <model file>
if (process.argv[2] === '--build') {
  const [lib, file] = process.argv.slice(3);
  const { buildResNet50, parameterCount, serializeModel } = createRequire(self)(lib);
  const t0 = performance.now();
  const model = buildResNet50({ seed: 1 });
  const buildMs = performance.now() - t0;
  writeFileSync(file, serializeModel(model));
  process.stdout.write(JSON.stringify({ buildMs, params: parameterCount(model), nodes: model.graph.node.length }));
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Parent

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = arg('runs', 5);
const MODEL = 'resnet50 (builder)';
const round = (v) => (v === null || v === undefined ? null : Math.round(v * 1000) / 1000);
const emit = (figure, value, unit, extra = {}) => console.log(JSON.stringify({ bench: 'parse', model: MODEL, figure, value: round(value), unit, ...extra }));
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => sorted(xs)[xs.length >> 1];
const stats = (xs) => ({ median: round(median(xs)), min: round(sorted(xs)[0]), max: round(sorted(xs).at(-1)), runs: xs.length });

const libPath = join(root, 'dist/bench/lib.js');
if (!existsSync(libPath)) {
  emit('error', null, 'ms', { error: 'dist/bench/lib.js is missing; run `node esbuild.mjs` first (npm run bench:parse does).' });
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'camlens-bench-parse-'));
try {
  // The engine the children load: parse + Graph, and shape inference where that module exists
  // (bundled here, once, so that esbuild's own memory never shows in a child's RSS).
  const bundle = join(dir, 'engine.cjs');
  const shapesSource = ['index.ts', 'index.js'].some((f) => existsSync(join(root, 'src/engine/onnx/shapes', f)));
  const entry = (withShapes) =>
    [
      "export { parseModel } from './src/engine/onnx/io';",
      "export { Graph } from './src/engine/onnx/graph';",
      ...(withShapes ? ["export { inferShapes } from './src/engine/onnx/shapes/index';"] : []),
    ].join('\n');
  let shapesNote;
  // esbuild is imported here, not at the top: the measuring children run this file too.
  const build = async (withShapes) =>
    (await import('esbuild')).build({
      stdin: { contents: entry(withShapes), resolveDir: root, loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile: bundle,
      logLevel: 'silent',
      external: ['onnxruntime-node', 'sharp', 'vscode'],
    });
  if (shapesSource) {
    try {
      await build(true);
    } catch (e) {
      shapesNote = `shape inference did not build: ${String(e?.message ?? e).split('\n')[0]}`;
      await build(false);
    }
  } else {
    shapesNote = 'src/engine/onnx/shapes/index.ts not found';
    await build(false);
  }

  const file = join(dir, 'resnet50.onnx');
  const built = spawnSync(process.execPath, [self, '--build', libPath, file], { encoding: 'utf8' });
  if (built.status !== 0) {
    emit('error', null, 'ms', { error: `building the model failed (exit ${built.status}): ${(built.stderr || '').trim().split('\n').slice(-3).join(' | ')}` });
    process.exit(1);
  }
  const { buildMs, params, nodes } = JSON.parse(built.stdout);
  const size = statSync(file).size;
  emit('model file size', size, 'bytes', { params, nodes, buildMs: round(buildMs) });

  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const child = spawnSync(process.execPath, [join(root, 'bench/lib/parse-child.cjs'), file, bundle], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (child.status !== 0) {
      emit('error', null, 'ms', { error: `child run ${r} failed (exit ${child.status}): ${(child.stderr || '').trim().split('\n').slice(-3).join(' | ')}` });
      process.exit(1);
    }
    runs.push(JSON.parse(child.stdout));
  }

  const column = (key) => runs.map((x) => x[key]);
  emit('read + parseModel', median(column('readParseMs')), 'ms', stats(column('readParseMs')));
  emit('Graph.fromModel', median(column('graphMs')), 'ms', stats(column('graphMs')));
  const shapes = column('shapesMs');
  if (shapes.every((v) => v !== null)) {
    emit('inferShapes', median(shapes), 'ms', stats(shapes));
  } else {
    emit('inferShapes', null, 'ms', { note: shapesNote ?? runs.find((x) => x.shapesError)?.shapesError ?? 'inferShapes unavailable' });
  }
  const totals = column('totalMs');
  const totalMedian = median(totals);
  emit('read + parse + graph + shapes', totalMedian, 'ms', {
    ...stats(totals),
    target: '< 300',
    meets: totalMedian < 300,
    includesShapes: shapes.every((v) => v !== null),
  });
  const peaks = column('peakRss');
  emit('peak RSS', median(peaks), 'bytes', { ...stats(peaks), source: 'process.resourceUsage().maxRSS' });
  const hwm = column('vmHwm');
  if (hwm.every((v) => v !== null)) emit('peak RSS (VmHWM cross-check)', median(hwm), 'bytes', stats(hwm));
  emit('peak RSS / file size', median(peaks) / size, 'ratio', { target: '< 1.5', meets: median(peaks) / size < 1.5, fileSize: size });
  const baselines = column('baselineRss');
  emit('RSS before reading (node + engine)', median(baselines), 'bytes', stats(baselines));
  emit('(peak RSS - RSS before reading) / file size', median(runs.map((x) => (x.peakRss - x.baselineRss) / size)), 'ratio');

  // `camlens layers` end to end: process start, read, parse, graph, shapes, listing, JSON out.
  const cli = join(root, 'bin/camlens.js');
  if (!existsSync(cli) || !existsSync(join(root, 'dist/cli.js'))) {
    emit('camlens layers --json (end to end)', null, 'ms', { note: existsSync(cli) ? 'dist/cli.js missing (build first)' : 'bin/camlens.js not found' });
  } else {
    const times = [];
    let failure;
    for (let r = 0; r < RUNS && !failure; r++) {
      const t = performance.now();
      const res = spawnSync(process.execPath, [cli, 'layers', file, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
      const ms = performance.now() - t;
      if (res.status !== 0) failure = `exit ${res.status}: ${(res.stderr || '').trim().split('\n').slice(-2).join(' | ')}`;
      else times.push(ms);
    }
    if (failure) emit('camlens layers --json (end to end)', null, 'ms', { error: failure });
    else emit('camlens layers --json (end to end)', median(times), 'ms', stats(times));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
