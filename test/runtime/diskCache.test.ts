// The on-disk session cache (issue 17, cold start): keys, LRU eviction under the size cap,
// corrupt entries (never used, rebuilt), concurrent writers (whole files only), and the sessions
// and gradient graphs it saves a second process from building.
import { deepStrictEqual, equal, notEqual, ok } from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { explain } from '../../src/engine/explain';
import { loadModel } from '../../src/engine/model';
import { writeNpy } from '../../src/engine/npy';
import { serializeModel } from '../../src/engine/onnx/io';
import { DiskCache, userDiskCache } from '../../src/engine/runtime/diskCache';
import { flushDeferred } from '../../src/engine/runtime/deferredWrites';
import { openSession, optimisedModelKey } from '../../src/engine/runtime/cachedSession';
import { modelContentHash, sessionDiskKey } from '../../src/engine/runtime/modelIdentity';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { randomArray, tinyCnn } from '../helpers/models';

// The concurrent-writers test runs this file as its writer processes: DiskCache.write, 20 times,
// 1 MB of the writer's own byte each (a torn or mixed file would show two bytes).
if (process.env.CAMLENS_TEST_WRITER) {
  const [dir, key, seed] = process.argv.slice(2);
  const disk = new DiskCache(dir, 1e9);
  for (let i = 0; i < 20; i++) disk.write(key, new Uint8Array(1 << 20).fill(Number(seed)), { seed });
  process.exit(0);
}

const fresh = (maxBytes = 1e9) => new DiskCache(mkdtempSync(join(tmpdir(), 'camlens-disk-cache-')), maxBytes);
const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
const ort = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' as const, intraOpNumThreads: 1 };

describe('the on-disk session cache', () => {
  it('keys by content, options and variant: any change is another key', () => {
    const a = DiskCache.key({ model: 'abc', variant: 'v' });
    equal(a, DiskCache.key({ model: 'abc', variant: 'v' }));
    notEqual(a, DiskCache.key({ model: 'abd', variant: 'v' }));
    notEqual(a, DiskCache.key({ model: 'abc', variant: 'w' }));
    notEqual(optimisedModelKey(a, ort), optimisedModelKey(a, { ...ort, intraOpNumThreads: 2 }));
    notEqual(optimisedModelKey(a, ort), optimisedModelKey(a, { ...ort, graphOptimizationLevel: 'basic' }));
    equal(optimisedModelKey(a, ort), optimisedModelKey(a, { ...ort }));
  });

  it('keys a model by the SHA-256 of its file: copies share it, an edit changes it, a model made in memory has none', () => {
    const disk = fresh();
    const dir = mkdtempSync(join(tmpdir(), 'camlens-identity-'));
    const bytes = serializeModel(tinyCnn());
    writeFileSync(join(dir, 'a.onnx'), bytes);
    writeFileSync(join(dir, 'b.onnx'), bytes);
    const a = modelContentHash(loadModel(join(dir, 'a.onnx')), disk);
    ok(a && /^[0-9a-f]{64}$/.test(a));
    equal(modelContentHash(loadModel(join(dir, 'b.onnx')), disk), a);
    const model = loadModel(join(dir, 'a.onnx'));
    writeFileSync(join(dir, 'a.onnx'), Buffer.concat([Buffer.from(bytes), Buffer.from([0])])); // changed after it was loaded
    equal(modelContentHash(model, disk), undefined, 'the loaded model is not the file any more');
    equal(sessionDiskKey({ ...model, fileStamp: undefined }, disk, 'v'), undefined);
    notEqual(sessionDiskKey(loadModel(join(dir, 'b.onnx')), disk, 'v'), sessionDiskKey(loadModel(join(dir, 'b.onnx')), disk, 'w'));
  });

  it('evicts the least recently used entries beyond the cap; a hit counts as a use', () => {
    const disk = fresh(2500);
    const keys = ['1', '2', '3'].map((k) => DiskCache.key(k));
    disk.write(keys[0], bytesOf(1000, 1), {});
    disk.write(keys[1], bytesOf(1000, 2), {});
    // An older use of entry 1 than of entry 0: entry 0 is read (a use) below, 1 is not.
    const old = new Date(Date.now() - 60_000);
    for (const k of keys.slice(0, 2)) utimesSync(join(disk.dir, `${k}.entry`), old, old);
    ok(disk.read(keys[0]));
    disk.write(keys[2], bytesOf(1000, 3), {});
    deepStrictEqual(
      disk
        .entries()
        .map((e) => e.key)
        .sort(),
      [keys[0], keys[2]].sort(),
    );
    ok(disk.entries().reduce((sum, e) => sum + e.bytes, 0) <= 2500);
  });

  it('never uses a corrupt entry: a flipped byte, a truncated file, a .json that does not parse', async () => {
    const disk = fresh();
    const key = DiskCache.key('corrupt');
    disk.write(key, bytesOf(4096, 7), { note: 'x' });
    const hit = disk.read<{ note: string }>(key)!;
    equal(hit.details.note, 'x');
    equal(await hit.intact, true);
    const file = join(disk.dir, `${key}.entry`);
    const whole = readFileSync(file);
    const flipped = Buffer.from(whole);
    flipped[100] ^= 1;
    writeFileSync(file, flipped);
    equal(await disk.read(key)!.intact, false, 'a flipped byte fails the checksum');
    writeFileSync(file, whole.subarray(0, 3000));
    equal(disk.read(key), undefined, 'a truncated entry is a miss');
    equal(readdirSync(disk.dir).length, 0, 'and is dropped');
    const trailerAt = whole.length - 8 - whole.readUInt32LE(whole.length - 8);
    const garbled = Buffer.from(whole);
    garbled.write('{"size": 4096, "sha', trailerAt);
    writeFileSync(file, garbled);
    equal(disk.details(key), undefined, 'a trailer that does not parse');
    equal(disk.read(key), undefined);
  });

  it('keeps whole files under concurrent writers of one key (4 processes, 20 writes each)', async () => {
    const disk = fresh();
    const key = DiskCache.key('contended');
    const children = [1, 2, 3, 4].map(
      (seed) =>
        new Promise<number>((resolve) => {
          const child = spawn(process.execPath, [__filename, disk.dir, key, String(seed)], {
            stdio: 'inherit',
            env: { ...process.env, CAMLENS_TEST_WRITER: '1' },
          });
          child.on('exit', (code) => resolve(code ?? 1));
        }),
    );
    // Read while they write: every hit whose checksum matches is one writer's whole file.
    let done = false;
    const all = Promise.all(children).then((codes) => {
      done = true;
      return codes;
    });
    while (!done) {
      const hit = disk.read<{ seed: string }>(key);
      if (hit && (await hit.intact)) {
        ok(
          hit.bytes.every((b) => b === hit.bytes[0]),
          'one writer\u2019s bytes',
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    deepStrictEqual(await all, [0, 0, 0, 0]);
    const last = disk.read<{ seed: string }>(key)!;
    equal(await last.intact, true);
    equal(last.bytes[0], Number(last.details.seed));
    ok(!readdirSync(disk.dir).some((f) => f.endsWith('.tmp')), 'no temp file left behind');
  });

  it('a second process opens the optimised model from disk: same outputs, and a corrupt one is rebuilt', async () => {
    const disk = fresh();
    const model = serializeModel(tinyCnn());
    const source = { diskKey: DiskCache.key('tiny-cnn'), build: () => model };
    const first = await openSession(source, { provider: 'cpu' }, disk);
    equal(first.fromDisk, false);
    flushDeferred(); // the entry is written after the reply
    const second = await openSession({ ...source, build: () => Promise.reject(new Error('must not build')) }, { provider: 'cpu' }, disk);
    equal(second.fromDisk, true);
    const { Tensor } = await import('onnxruntime-node');
    const feeds = { input: new Tensor('float32', randomArray(3 * 32 * 32, 3, 1), [1, 3, 32, 32]) };
    const a = await first.session.run(feeds);
    const b = await second.session.run(feeds);
    deepStrictEqual(b.logits.data, a.logits.data);
    await Promise.all([first.session.release(), second.session.release()]);
    const entry = readdirSync(disk.dir).find((f) => f.endsWith('.entry'))!;
    const bytes = readFileSync(join(disk.dir, entry));
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(join(disk.dir, entry), bytes);
    let built = 0;
    const third = await openSession({ ...source, build: () => (built++, model) }, { provider: 'cpu' }, disk);
    equal(third.fromDisk, false);
    equal(built, 1, 'rebuilt from the model');
    deepStrictEqual((await third.session.run(feeds)).logits.data, a.logits.data);
    await third.session.release();
  });

  it('explain reports the session build apart from the run; a new process skips the build and gives the same map', async () => {
    const disk = fresh();
    const dir = mkdtempSync(join(tmpdir(), 'camlens-cold-'));
    const modelPath = join(dir, 'tiny.onnx');
    writeFileSync(modelPath, serializeModel(tinyCnn()));
    const input = join(dir, 'x.npy');
    writeNpy(input, randomArray(3 * 32 * 32, 5, 1), [1, 3, 32, 32]);
    const params = { modelPath, input, provider: { provider: 'cpu' as const }, overlay: false };
    const cold = await explain(params, { sessions: new SessionCache(2 ** 31, disk) });
    ok(cold.timings_ms.session > 0);
    deepStrictEqual(Object.keys(cold.timings_ms), ['load', 'preprocess', 'session', 'run', 'cam', 'total']);
    flushDeferred();
    const entries = disk.entries().length;
    ok(entries >= 3, `the model's hash, the gradient graph's names and the optimised model (${entries} entries)`);
    const warmSessions = new SessionCache(2 ** 31, disk); // what a new process has: nothing in memory
    const warm = await explain(params, { sessions: warmSessions });
    deepStrictEqual(warm.explanations[0].cam.data, cold.explanations[0].cam.data);
    const again = await explain(params, { sessions: warmSessions });
    equal(again.timings_ms.session, 0, 'a session in memory is no build');
    await warmSessions.releaseAll();
  });

  it('lives in CAMLENS_CACHE_DIR, else XDG_CACHE_HOME/camlens, else ~/.cache/camlens; "off" turns it off', () => {
    equal(userDiskCache({ CAMLENS_CACHE_DIR: '/x/y' })!.dir, '/x/y/sessions');
    equal(userDiskCache({ XDG_CACHE_HOME: '/c' })!.dir, '/c/camlens/sessions');
    ok(userDiskCache({})!.dir.endsWith('/.cache/camlens/sessions'));
    equal(userDiskCache({ CAMLENS_CACHE_DIR: 'off' }), undefined);
    equal(userDiskCache({ CAMLENS_CACHE_MAX_MB: '1' })!.maxBytes, 2 ** 20);
  });
});
