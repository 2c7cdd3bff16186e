import { deepEqual, equal, ok, throws } from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { serializeModel } from '../../src/engine/onnx/io';
import { attachBulk, BULK_MIN_BYTES, detachBulk, isBulkDir, makeBulkDir, removeBulkDir, spareBytes } from '../../src/worker/bulk';
import { WorkerClient } from '../../src/worker/client';
import { tinyCnn } from '../helpers/models';

const workerPath = resolve(__dirname, '../../worker.js');
const scratch = mkdtempSync(join(tmpdir(), 'camlens-bulk-test-'));
const dir = makeBulkDir()!;
after(() => {
  removeBulkDir(dir);
  rmSync(scratch, { recursive: true, force: true });
});

const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3);

describe('answer files (worker/bulk.ts)', () => {
  it('moves large arrays into one file and puts equal arrays of the same types back', () => {
    const cam = ramp(300_000);
    const png = Buffer.from(Uint8Array.from({ length: 70_001 }, (_, i) => i % 251));
    const small = Int32Array.of(1, 2, 3);
    const answer = { maps: [{ cam, again: cam }], picture: { png, width: 3 }, small, label: 'dog', when: null };
    const d = detachBulk(answer, dir)!;
    ok(d, 'a large answer goes through a file');
    ok(d.file.startsWith(dir));
    const wire = d.value as { maps: Array<{ cam: unknown }>; small: unknown };
    ok(!(wire.maps[0].cam instanceof Float32Array), 'the message holds a reference, not the array');
    equal(wire.small, small, 'small arrays stay in the message');
    equal(answer.maps[0].cam, cam, "the engine's object is not changed");
    const back = attachBulk(d.value, d.file, dir) as typeof answer;
    ok(!existsSync(d.file), 'the file is deleted once read');
    ok(back.maps[0].cam instanceof Float32Array);
    deepEqual(back.maps[0].cam, cam);
    equal(back.maps[0].again, back.maps[0].cam, 'one array referenced twice comes back once');
    ok(Buffer.isBuffer(back.picture.png), 'a Buffer stays a Buffer');
    deepEqual(Uint8Array.from(back.picture.png), Uint8Array.from(png));
    deepEqual(back.small, small);
    equal(back.label, 'dog');
    equal(back.when, null);
  });

  it('reads the next answer into memory touched while idle, never into memory an earlier answer holds', async () => {
    const first = { cam: ramp(400_000) };
    const f = detachBulk(first, dir)!;
    const a = attachBulk(f.value, f.file, dir) as typeof first;
    await new Promise((r) => setTimeout(r, 60));
    const spare = spareBytes();
    ok(spare >= 1_600_000, `a touched spare of at least the last answer's size: ${spare}`);
    const second = { cam: ramp(390_000).map((v) => -v) };
    const d = detachBulk(second, dir)!;
    const b = attachBulk(d.value, d.file, dir) as typeof second;
    equal(b.cam.buffer.byteLength, spare, 'the second answer was read into the spare');
    equal(spareBytes(), 0, 'a spare serves one answer');
    deepEqual(b.cam, second.cam);
    deepEqual(a.cam, first.cam, 'the first answer is untouched');
    ok(a.cam.buffer !== b.cam.buffer);
  });

  it('leaves small answers to the IPC channel', () => {
    equal(detachBulk({ cam: ramp(BULK_MIN_BYTES / 8) }, dir), undefined);
    equal(detachBulk({ text: 'x'.repeat(BULK_MIN_BYTES * 2) }, dir), undefined);
  });

  it('reads only files in the worker folder, and only what they hold', () => {
    const d = detachBulk({ cam: ramp(100_000) }, dir)!;
    const elsewhere = join(scratch, 'answer.bin');
    writeFileSync(elsewhere, new Uint8Array(400_000));
    throws(() => attachBulk(d.value, elsewhere, dir), /not in the worker's folder/);
    ok(existsSync(elsewhere), 'a file outside the folder is not deleted');
    writeFileSync(d.file, new Uint8Array(16)); // cut short
    throws(() => attachBulk(d.value, d.file, dir), /does not hold what its message says/);
  });

  it('only removes folders it could have made', () => {
    ok(isBulkDir(dir));
    for (const bad of ['/', tmpdir(), '/dev/shm', join(tmpdir(), 'camlens-answers-x', '..'), join(scratch, 'camlens-answers-1'), 'camlens-answers-1', 7]) {
      equal(isBulkDir(bad), false, String(bad));
    }
    removeBulkDir(scratch);
    ok(existsSync(scratch), 'a folder of another name stays');
  });

  it('gives the client the same answer through a file as through the channel, and leaves no file behind', async () => {
    const modelPath = join(scratch, 'cnn.onnx');
    writeFileSync(modelPath, serializeModel(tinyCnn()));
    const input = { dtype: 'float32' as const, dims: [64, 3, 32, 32], data: ramp(64 * 3 * 32 * 32) };
    const request = { modelPath, inputs: { input }, tapAll: true, tensors: true };
    const viaFile = new WorkerClient({ workerPath });
    const inline = new WorkerClient({ workerPath, env: { ...process.env, CAMLENS_IPC_FILES: '0' } });
    try {
      const a = await viaFile.request('run', request);
      const b = await inline.request('run', request);
      const folder = viaFile.answers!;
      ok(isBulkDir(folder), 'the worker announced its folder');
      equal(inline.answers, undefined, 'CAMLENS_IPC_FILES=0: no folder');
      deepEqual(readdirSync(folder), [], 'the answer file was read and deleted');
      ok(a.taps.length > 3);
      deepEqual(a.outputs, b.outputs);
      deepEqual(
        a.taps.map((t) => t.tensor?.data),
        b.taps.map((t) => t.tensor?.data),
      );
      // A folder gone from under the worker (a full or cleaned /dev/shm): the answer comes inline.
      rmSync(folder, { recursive: true, force: true });
      const again = await viaFile.request('run', request);
      deepEqual(again.outputs, b.outputs, 'answered on the channel when the file cannot be written');
      mkdirSync(folder);
      // A worker killed outright cannot remove its folder: the client does.
      process.kill(viaFile.pid!, 'SIGKILL');
      await new Promise((r) => viaFile.once('exit', r));
      equal(existsSync(folder), false, "the dead worker's folder is removed");
    } finally {
      await viaFile.dispose();
      await inline.dispose();
    }
  });
});
