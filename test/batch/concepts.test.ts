// Batch with dff writes what `camlens explain` writes (issue 20): S.concepts.npy, every concept's
// map [K, H, W], and the concepts' best classes in each image's S.json, both from the one writer
// (cam/conceptFiles.ts); --resume redoes an image whose S.concepts.npy is cut short.
import { deepEqual, equal, ok } from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { explainBatch } from '../../src/engine/batch/batchedExplain';
import { runBatch } from '../../src/engine/batch/runner';
import { conceptsJson } from '../../src/engine/cam/conceptFiles';
import { explain } from '../../src/engine/explain';
import { readNpy } from '../../src/engine/npy';
import { SessionCache } from '../../src/engine/runtime/sessions';

const sessions = new SessionCache();
const out = fs.mkdtempSync(join(tmpdir(), 'camlens-batch-dff-'));
after(async () => {
  await sessions.releaseAll();
  fs.rmSync(out, { recursive: true, force: true });
});
const MODEL = 'demo/model.onnx';
const INPUTS = ['demo/images/star_1.png', 'demo/images/circle_1.png'];

describe('batch with dff', () => {
  const backend = (p: Parameters<typeof explainBatch>[0], signal: AbortSignal) => explainBatch(p, { sessions, signal });
  const job = { modelPath: MODEL, inputs: INPUTS, outDir: out, methods: ['dff' as const], params: { concepts: 3 }, report: false };

  it('writes S.concepts.npy and the concepts of S.json as explain does', async () => {
    const o = await runBatch(job, backend);
    equal(o.rows.length, INPUTS.length);
    for (const row of o.rows) {
      equal(row.status, 'ok', row.error ?? '');
      const prefix = join(out, row.output!);
      const r = await explain({ modelPath: MODEL, input: join('demo/images', `${row.path}`), method: 'dff', concepts: 3, overlay: false }, { sessions });
      const c = r.explanations[0].concepts!;
      const npy = readNpy(`${prefix}.concepts.npy`);
      deepEqual(npy.shape, [3, c.maps.height, c.maps.width]);
      deepEqual(npy.data, c.maps.data);
      const json = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8'));
      const stem = row.output!.split('/').pop()!;
      deepEqual(json.concepts, conceptsJson(c, stem));
      equal(json.concepts.file, `${stem}.concepts.npy`);
      equal(json.concepts.top_classes.length, 3);
      ok(json.concepts.top_classes.every((top: Array<{ label: string }>) => top.length > 0 && top.every((k) => typeof k.label === 'string')));
      equal(json.explanations[0].concept, c.chosen);
    }
  });

  it('resume redoes an image whose S.concepts.npy is cut short', async () => {
    const first = (await runBatch({ ...job, resume: true }, backend)).rows;
    ok(first.every((r) => r.status === 'resumed'));
    const file = join(out, `${first[0].output!}.concepts.npy`);
    fs.truncateSync(file, fs.statSync(file).size - 8);
    const again = (await runBatch({ ...job, resume: true }, backend)).rows;
    deepEqual(
      again.map((r) => [r.path, r.status]),
      first.map((r, i) => [r.path, i === 0 ? 'ok' : 'resumed']),
    );
    equal(readNpy(file).data.length, 3 * readNpy(file).shape[1] * readNpy(file).shape[2]);
  });
});
