// A plain onnxruntime-node session, at its best CPU settings, in a process of its own: the
// baseline issue 17 asks for (never a path that shares CamLens' settings or code). Forked by the
// benchmarks with a JSON spec as its one argument:
//   { model, npy, gradientModel?, spinning?: 'auto' | '0' | '1', threads? }
// `npy` is a float32 .npy of the whole input (its first dim is the batch). Each message is
// answered with the wall time in ms of one session.run: 'run' (the model), 'run-gradient' (the
// model an explanation runs, given as `gradientModel`, under the same settings; its feeds are
// the input only: a top-1 graph). 'exit' ends the process.
// Best settings: every graph optimisation, one intra-op thread per core, and spinning chosen by
// measurement at start ('auto': both are timed, the faster kept; the answer to 'ready' says which,
// and what the kept session's start-up took: `startup`, with the process's boot and the import).
'use strict';
// Start-up, for benchmarks that compare whole runs (bench/batch-plain.mjs): node's boot to this
// line, loading onnxruntime, creating the session that is kept and its first run.
const bootMs = performance.now();
const fs = require('node:fs');
const os = require('node:os');
const ort = require('onnxruntime-node');
const requireMs = performance.now() - bootMs;

const spec = JSON.parse(process.argv[2]);

function readNpy(file) {
  const npy = fs.readFileSync(file);
  const headerLength = npy.readUInt16LE(8);
  const header = npy.subarray(10, 10 + headerLength).toString('latin1');
  const dims = header
    .match(/\(([^)]*)\)/)[1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const body = npy.subarray(10 + headerLength);
  return { dims, data: new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)) };
}

const options = (spinning) => ({
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  intraOpNumThreads: spec.threads || os.availableParallelism(),
  extra: { session: { intra_op: { allow_spinning: spinning } } },
});

async function created(spinning) {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(spec.model, options(spinning));
  return { session, ms: performance.now() - t0 };
}

async function timed(session, feeds) {
  const t0 = performance.now();
  await session.run(feeds);
  return performance.now() - t0;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  const { dims, data } = readNpy(spec.npy);
  let spinning = spec.spinning ?? 'auto';
  let session;
  let createMs;
  let firstRunMs;
  const feedsOf = (s) => ({ [s.inputNames[0]]: new ort.Tensor('float32', data, dims) });
  if (spinning === 'auto') {
    // Both settings, alternated (the machine's speed drifts), a few runs each after a warm-up.
    const off = await created('0');
    const on = await created('1');
    const times = { 0: [], 1: [] };
    const first = {};
    for (let i = 0; i < 6; i++) {
      const a = await timed(off.session, feedsOf(off.session));
      const b = await timed(on.session, feedsOf(on.session));
      if (i) (times[0].push(a), times[1].push(b));
      else Object.assign(first, { 0: a, 1: b });
    }
    spinning = median(times[1]) < median(times[0]) ? '1' : '0';
    const kept = spinning === '1' ? on : off;
    ({ session, ms: createMs } = kept);
    firstRunMs = first[spinning];
    await (spinning === '1' ? off : on).session.release();
  } else {
    ({ session, ms: createMs } = await created(spinning));
    firstRunMs = await timed(session, feedsOf(session));
  }
  const gradient = spec.gradientModel ? await ort.InferenceSession.create(spec.gradientModel, options(spinning)) : undefined;
  const feeds = feedsOf(session);
  await session.run(feeds);
  if (gradient) await gradient.run(feedsOf(gradient));
  process.on('message', async (m) => {
    if (m === 'run') return process.send(await timed(session, feeds));
    if (m === 'run-gradient' && gradient) return process.send(await timed(gradient, feedsOf(gradient)));
    process.exit(0);
  });
  const startup = { bootMs, requireMs, createMs, firstRunMs, totalMs: bootMs + requireMs + createMs + firstRunMs };
  process.send({ ready: true, spinning, threads: options(spinning).intraOpNumThreads, dims, startup });
})();
