// Issue 7: batch export memory must not grow with the image count. A stand-in backend answers
// every image with a 16 KB label that is its own string, so a runner that kept its rows (or its
// results) would keep 16 KB more per image; the heap after a forced GC is sampled at each batch
// and must not grow by more than a fraction of that between the 3rd batch and the last. Not a
// timing test, and the margin is wide: keeping rows would add ~4 MB here, the bound is 1 MB.
import { ok } from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { runBatch } from '../../src/engine/batch/runner';
import type { BatchBackend } from '../../src/engine/batch/types';
import type { BatchItem, ExplainBatchResult } from '../../src/engine/batch/types';

// gc() without --expose-gc on the command line: a new context gets it once the flag is set.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const tmp = fs.mkdtempSync(join(tmpdir(), 'camlens-batch-memory-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const IMAGES = 300;
const BATCH = 10;
const LABEL_BYTES = 16_384;
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('batch memory', () => {
  it('holds no rows or results of finished images while it runs', async () => {
    const images = join(tmp, 'images');
    fs.mkdirSync(images);
    // The stand-in backend never opens them; the runner only lists them.
    for (let i = 0; i < IMAGES; i++) fs.writeFileSync(join(images, `img${String(i).padStart(4, '0')}.png`), '');
    fs.writeFileSync(join(tmp, 'model.onnx'), 'not read by the stand-in backend');
    const heap: number[] = [];
    let serial = 0;
    const backend: BatchBackend = async (p) => {
      gc();
      heap.push(process.memoryUsage().heapUsed);
      const items: BatchItem[] = p.inputs.map((input) => {
        // A fresh flat string per image (not a slice or a repeat of a shared one).
        const label = Buffer.alloc(LABEL_BYTES, 97 + (serial++ % 26)).toString('latin1');
        const map = { data: new Float32Array(4), height: 2, width: 2 };
        return {
          input,
          ok: true,
          layers: ['conv'],
          predictions: [{ index: 0, label, score: 1, prob: 1 }],
          maps: p.methods.map((method) => ({ method, classIndex: 0, label, cam: map, camRaw: map, overlayPng: PNG })),
          timings_ms: { preprocess: 0, run: 0, cam: 0, overlay: 0 },
        };
      });
      const result: ExplainBatchResult = {
        items,
        ep: 'cpu',
        batched: true,
        runSizes: [items.length],
        timings_ms: { load: 0, preprocess: 0, run: 0, cam: 0, overlay: 0, total: 0 },
      };
      return result;
    };
    const o = await runBatch(
      { modelPath: join(tmp, 'model.onnx'), inputs: [images], outDir: join(tmp, 'out'), methods: ['gradcam'], batchSize: BATCH, inflight: 1, report: false },
      backend,
    );
    ok(o.done === IMAGES && o.failed === 0, `done ${o.done}, failed ${o.failed}`);
    const growth = heap[heap.length - 1] - heap[2];
    const keptPerImage = growth / (BATCH * (heap.length - 3));
    ok(
      growth < 1024 ** 2,
      `heap grew by ${(growth / 1024).toFixed(0)} KB over ${heap.length - 3} batches (${keptPerImage.toFixed(0)} bytes per image; a kept label is ${LABEL_BYTES})`,
    );
  });
});
