// The measured process of bench/parse.mjs: one load of a model, timed, with its peak RSS.
// CommonJS on purpose: the ES-module loader alone adds several MB to a child's baseline.
// Argv: <model file> <engine bundle>
'use strict';
const { readFileSync } = require('node:fs');

const [file, bundle] = process.argv.slice(2);
const engine = require(bundle);
const baselineRss = process.memoryUsage().rss;
const t0 = performance.now();
const bytes = readFileSync(file);
const model = engine.parseModel(bytes, file);
const t1 = performance.now();
const graph = engine.Graph.fromModel(model, file);
const t2 = performance.now();
let shapesMs = null;
let shapesError;
if (typeof engine.inferShapes === 'function') {
  try {
    engine.inferShapes(graph);
    shapesMs = performance.now() - t2;
  } catch (e) {
    shapesError = String((e && e.message) || e);
  }
}
const t3 = performance.now();
const peakRss = process.resourceUsage().maxRSS * 1024;
let vmHwm = null;
try {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  vmHwm = m ? Number(m[1]) * 1024 : null;
} catch {
  vmHwm = null;
}
process.stdout.write(
  JSON.stringify({
    readParseMs: t1 - t0,
    graphMs: t2 - t1,
    shapesMs,
    totalMs: t3 - t0,
    peakRss,
    vmHwm,
    baselineRss,
    nodes: graph.nodes.length,
    shapesError,
  }),
);
