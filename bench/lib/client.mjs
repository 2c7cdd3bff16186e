// What the benchmarks share: a minimal client for the real worker (dist/worker.js) and a
// seeded float32 .npy writer. Benchmarks measure through the worker so IPC is included.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);

/** Starts dist/worker.js; `call(method, params)` resolves with the result. */
export function startWorker(options = {}) {
  // Forked as the extension and the CLI fork it (src/worker/client.ts).
  const { WORKER_EXEC_ARGV, WORKER_MALLOC_ENV } = require(resolve('dist/bench/lib.js'));
  const worker = fork(resolve('dist/worker.js'), [], {
    serialization: 'advanced', execArgv: [...WORKER_EXEC_ARGV], env: { ...WORKER_MALLOC_ENV, ...process.env }, ...options,
  });
  let nextId = 1;
  const pending = new Map();
  worker.on('message', (m) => {
    if (m.kind !== 'response') return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.error.message));
  });
  const call = (method, params) => new Promise((res, rej) => {
    const id = nextId++;
    pending.set(id, { resolve: res, reject: rej });
    worker.send({ kind: 'request', id, method, params });
  });
  return { worker, call, kill: () => worker.kill() };
}

/** A .npy file's bytes: float32 values in [-1, 1) from a seeded LCG. */
export function npyBytes(shape, seed) {
  let a = seed >>> 0;
  const n = shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) { a = (a * 1664525 + 1013904223) >>> 0; data[i] = (a / 2 ** 32 - 0.5) * 2; }
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]);
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
