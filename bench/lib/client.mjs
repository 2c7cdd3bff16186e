// What the benchmarks share: the worker client the extension and the CLI use (src/worker/client.ts,
// bundled into dist/bench/lib.js) and a seeded float32 .npy writer. Benchmarks measure through
// the worker so IPC is included.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * Starts dist/worker.js as the extension and the CLI start it (same V8 flags, malloc settings
 * and IPC); `call(method, params)` resolves with the result, `kill()` shuts the worker down.
 * No request timeout: a benchmark may hold one request for minutes.
 */
export function startWorker(options = {}) {
  const { WorkerClient } = require(resolve('dist/bench/lib.js'));
  const client = new WorkerClient({ workerPath: resolve('dist/worker.js'), defaultTimeoutMs: 0, ...options });
  const call = (method, params) => client.request(method, params);
  return { client, call, kill: () => client.dispose() };
}

/** A .npy file's bytes: float32 values in [-1, 1) from a seeded LCG. */
export function npyBytes(shape, seed) {
  let a = seed >>> 0;
  const n = shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a * 1664525 + 1013904223) >>> 0;
    data[i] = (a / 2 ** 32 - 0.5) * 2;
  }
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]);
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
