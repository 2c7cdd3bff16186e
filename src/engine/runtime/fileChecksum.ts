// SHA-1 of a file read in fixed chunks, never whole: a cached model is hundreds of MB, and
// reading it into fresh memory costs more than hashing it (page faults, ~11 µs each on our VMs).
// The off-thread variant runs in a worker thread, so that the main thread goes on (onnxruntime
// loads the same file meanwhile); webcrypto's digest would copy its whole input on the main
// thread first. The worker's code is inline (`eval`), so that the bundles (dist/worker.js,
// dist/cli.js) need no file beside them.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';

const CHUNK = 1 << 20;

/** The hex SHA-1 of the file, hashed on this thread. */
export function sha1OfFileSync(file: string): string {
  const hash = createHash('sha1');
  const chunk = Buffer.allocUnsafe(CHUNK);
  const fd = fs.openSync(file, 'r');
  try {
    for (let n = fs.readSync(fd, chunk, 0, CHUNK, null); n > 0; n = fs.readSync(fd, chunk, 0, CHUNK, null)) hash.update(chunk.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

// The same loop as sha1OfFileSync, in the worker (its own copy: a worker's code is a string).
const HASHER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const hash = require('node:crypto').createHash('sha1');
const chunk = Buffer.allocUnsafe(${CHUNK});
const fd = fs.openSync(workerData, 'r');
for (let n = fs.readSync(fd, chunk, 0, ${CHUNK}, null); n > 0; n = fs.readSync(fd, chunk, 0, ${CHUNK}, null)) hash.update(chunk.subarray(0, n));
fs.closeSync(fd);
parentPort.postMessage(hash.digest('hex'));
`;

/** The hex SHA-1 of the file, hashed in a worker thread; undefined when it cannot be read (removed meanwhile). */
export function sha1OfFileOffThread(file: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(HASHER, { eval: true, workerData: file });
    } catch {
      resolve(undefined); // no worker thread to be had: the caller treats it as a mismatch (a rebuild)
      return;
    }
    worker.once('message', (sha1: string) => resolve(sha1));
    worker.once('error', () => resolve(undefined));
    worker.once('exit', () => resolve(undefined)); // after a message, a no-op
  });
}
