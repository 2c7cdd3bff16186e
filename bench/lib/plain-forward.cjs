// A plain onnxruntime-node forward, at its best CPU settings, in a process of its own: the
// baseline issue 17 asks for (never a path that shares CamLens' settings). Started by
// bench/plain.mjs with the model and a float32 .npy; each 'run' message is answered with the
// wall time of one session.run in ms.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const ort = require('onnxruntime-node');

const [modelPath, npyPath] = process.argv.slice(2);
const npy = fs.readFileSync(npyPath);
const headerLength = npy.readUInt16LE(8);
const header = npy.subarray(10, 10 + headerLength).toString('latin1');
const dims = header
  .match(/\(([^)]*)\)/)[1]
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
  .map(Number);
const body = npy.subarray(10 + headerLength);
const data = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));

(async () => {
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: os.availableParallelism(),
  });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };
  process.on('message', async (m) => {
    if (m !== 'run') return process.exit(0);
    const t0 = performance.now();
    await session.run(feeds);
    process.send(performance.now() - t0);
  });
  process.send('ready');
})();
