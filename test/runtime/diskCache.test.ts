// The on-disk session cache (issue 17, cold start): keys, LRU eviction under the size cap,
// corrupt entries (never used, rebuilt), concurrent writers (whole entries only), old-format
// entries (never used, removed), the checksum hashed off the main thread, and the sessions and
// gradient graphs it saves a second process from building.
import { deepStrictEqual, equal, notEqual, ok } from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs, { mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, mock } from 'node:test';
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
const statSize = (dir: string, names: string[]) => names.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
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

  it('evicts the least recently used entries beyond the cap (record and payload bytes); a hit counts as a use', async () => {
    const disk = fresh(2500);
    const keys = ['1', '2', '3'].map((k) => DiskCache.key(k));
    disk.write(keys[0], bytesOf(1000, 1), {});
    disk.write(keys[1], bytesOf(1000, 2), {});
    // An older use of entry 1 than of entry 0: entry 0 is read (a use) below, 1 is not.
    const old = new Date(Date.now() - 60_000);
    for (const k of keys.slice(0, 2)) utimesSync(join(disk.dir, `${k}.json`), old, old);
    ok(await disk.lookup(keys[0])?.intact);
    disk.write(keys[2], bytesOf(1000, 3), {});
    deepStrictEqual(
      disk
        .entries()
        .map((e) => e.key)
        .sort(),
      [keys[0], keys[2]].sort(),
    );
    ok(disk.entries().reduce((sum, e) => sum + e.bytes, 0) <= 2500);
    deepStrictEqual(
      readdirSync(disk.dir).filter((f) => f.startsWith(keys[1])),
      [],
      'both files of the evicted entry go',
    );
  });

  it('never uses a corrupt entry: a flipped byte, a truncated payload, a record that does not parse', async () => {
    const disk = fresh();
    const key = DiskCache.key('corrupt');
    disk.write(key, bytesOf(4096, 7), { note: 'x' });
    const hit = disk.lookup<{ note: string }>(key)!;
    equal(hit.details.note, 'x');
    equal(hit.size, 4096);
    equal(await hit.intact, true);
    deepStrictEqual(readFileSync(hit.path), Buffer.from(bytesOf(4096, 7)), 'the payload is the exact bytes');
    const whole = readFileSync(hit.path);
    const flipped = Buffer.from(whole);
    flipped[100] ^= 1;
    writeFileSync(hit.path, flipped);
    equal(await disk.lookup(key)!.intact, false, 'a flipped byte fails the checksum');
    writeFileSync(hit.path, whole.subarray(0, 3000));
    equal(disk.lookup(key), undefined, 'a truncated payload is a miss');
    deepStrictEqual(readdirSync(disk.dir), [], 'and is dropped, record and payload');
    disk.write(key, whole, { note: 'x' });
    writeFileSync(join(disk.dir, `${key}.json`), '{"size": 4096, "sha');
    equal(disk.details(key), undefined, 'a record that does not parse');
    equal(disk.lookup(key), undefined);
    deepStrictEqual(readdirSync(disk.dir), [], 'and is dropped');
    disk.write(key, whole, { note: 'x' });
    writeFileSync(join(disk.dir, `${key}.json`), JSON.stringify({ size: 4096, sha1: '../../etc/passwd', details: {} }));
    equal(disk.lookup(key), undefined, 'a record whose checksum is no SHA-1 names no file');
  });

  it('hashes the payload off the main thread: the answer holds no bytes and the main thread never opens the file', async () => {
    const disk = fresh();
    const key = DiskCache.key('off-thread');
    disk.write(key, bytesOf(3 << 20, 9), {});
    const payload = join(
      disk.dir,
      readdirSync(disk.dir).find((f) => f.endsWith('.bin'))!,
    );
    const flipped = readFileSync(payload);
    flipped[2 << 20] ^= 1; // in the third 1 MB chunk
    writeFileSync(payload, flipped);
    // The main thread's fs, watched; a worker thread loads its own.
    const opened: unknown[] = [];
    const spies = (['openSync', 'open', 'readFileSync', 'readFile', 'createReadStream'] as const).map((name) => {
      const original = fs[name] as (...args: unknown[]) => unknown;
      return mock.method(fs, name, (...args: unknown[]) => (opened.push(args[0]), original(...args)));
    });
    const promiseSpies = (['open', 'readFile'] as const).map((name) => {
      const original = fs.promises[name] as (...args: unknown[]) => unknown;
      return mock.method(fs.promises, name, (...args: unknown[]) => (opened.push(args[0]), original(...args)));
    });
    try {
      const hit = disk.lookup(key)!;
      deepStrictEqual(Object.keys(hit).sort(), ['details', 'intact', 'path', 'size'], 'a path, no bytes');
      equal(hit.path, payload);
      equal(await hit.intact, false, 'the worker thread read the whole file and found the flipped byte');
      ok(opened.length > 0, 'the watch sees the main thread open the record');
      ok(!opened.includes(payload), 'the main thread never opened the payload');
    } finally {
      for (const spy of [...spies, ...promiseSpies]) spy.mock.restore();
    }
  });

  it('never uses an entry of the old one-file layout (<key>.entry), and removes it on the next write', async () => {
    const disk = fresh();
    const key = DiskCache.key('old-layout');
    // The layout before issue 17: bytes, a JSON trailer, its length and the magic "CLC1".
    const bytes = Buffer.from(bytesOf(1000, 4));
    const trailer = Buffer.from(JSON.stringify({ size: 1000, sha1: createHash('sha1').update(bytes).digest('hex'), details: { old: true } }));
    const tail = Buffer.alloc(8);
    tail.writeUInt32LE(trailer.byteLength, 0);
    tail.writeUInt32LE(0x31434c43, 4);
    fs.mkdirSync(disk.dir, { recursive: true });
    writeFileSync(join(disk.dir, `${key}.entry`), Buffer.concat([bytes, trailer, tail]));
    equal(disk.lookup(key), undefined);
    equal(disk.details(key), undefined);
    deepStrictEqual(disk.entries(), [], 'not an entry, nor counted');
    disk.write(DiskCache.key('new'), bytesOf(10, 1), {});
    ok(!readdirSync(disk.dir).some((f) => f.endsWith('.entry')), 'removed by the eviction pass');
    disk.write(key, bytes, { old: false });
    deepStrictEqual(disk.details(key), { old: false });
    ok(await disk.lookup(key)!.intact);
  });

  it("a record written after another writer's names its own payload; payloads no record names are removed once old", async () => {
    const disk = fresh();
    const key = DiskCache.key('two-writers');
    disk.write(key, bytesOf(2000, 1), { seed: 1 });
    disk.write(key, bytesOf(2000, 2), { seed: 2 }); // equivalent payloads of one key need not be the same bytes
    const hit = disk.lookup<{ seed: number }>(key)!;
    ok(await hit.intact);
    deepStrictEqual(readFileSync(hit.path), Buffer.from(bytesOf(2000, 2)));
    const payloads = () => readdirSync(disk.dir).filter((f) => f.endsWith('.bin'));
    equal(payloads().length, 2, "the first writer's payload waits: its writer may be between its two renames");
    equal(disk.entries()[0].bytes, statSize(disk.dir, [`${key}.json`, ...payloads()]), 'and counts under the cap');
    const old = new Date(Date.now() - 120_000);
    for (const f of payloads()) utimesSync(join(disk.dir, f), old, old);
    disk.write(DiskCache.key('another'), undefined, {}); // an eviction pass
    deepStrictEqual(payloads(), [hit.path.slice(disk.dir.length + 1)], 'only the named payload stays');
    ok(await disk.lookup(key)!.intact);
    disk.write(key, bytesOf(2000, 2), { seed: 3 }); // the same bytes again: the payload there is kept
    deepStrictEqual(payloads(), [hit.path.slice(disk.dir.length + 1)]);
    ok(statSync(hit.path).mtimeMs > old.getTime() + 60_000, 'and touched: no eviction pass takes it for unnamed');
    const again = disk.lookup<{ seed: number }>(key)!;
    equal(again.details.seed, 3);
    ok(await again.intact);
    ok(!readdirSync(disk.dir).some((f) => f.endsWith('.tmp')), 'no temp file left behind');
  });

  it('keeps whole entries under concurrent writers of one key (4 processes, 20 writes each)', async () => {
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
      const hit = disk.lookup<{ seed: string }>(key);
      if (hit && (await hit.intact)) {
        const bytes = readFileSync(hit.path); // a payload's name is its checksum: the bytes hashed are these
        ok(
          bytes.every((b) => b === Number(hit.details.seed)),
          'the record\u2019s writer\u2019s bytes',
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    deepStrictEqual(await all, [0, 0, 0, 0]);
    const last = disk.lookup<{ seed: string }>(key)!;
    equal(await last.intact, true);
    equal(readFileSync(last.path)[0], Number(last.details.seed));
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
    const payload = readdirSync(disk.dir).filter((f) => f.endsWith('.bin'));
    equal(payload.length, 1, 'the optimised model, as a file onnxruntime opens');
    const bytes = readFileSync(join(disk.dir, payload[0]));
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(join(disk.dir, payload[0]), bytes);
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
