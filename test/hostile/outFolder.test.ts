// `--out` (issue 18): two batches into one folder once interleaved summary.jsonl and both died
// with an internal error; an --out that is an existing file gave a raw EEXIST (evaluate only
// after computing everything); and a batch over a folder holding another batch's output took
// its overlays and .npy maps for inputs.
import { equal, match, ok, rejects } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { explainBatch } from '../../src/engine/batch/batchedExplain';
import { LOCK_NAME } from '../../src/engine/batch/outputFolder';
import { runBatch } from '../../src/engine/batch/runner';
import type { BatchBackend, BatchJob } from '../../src/engine/batch/types';
import { CamLensError } from '../../src/engine/errors';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { CLI, demoImagesFolder, MODEL } from './helpers';

const sessions = new SessionCache();
const local: BatchBackend = (p, signal) => explainBatch(p, { sessions, signal });
const camlens = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

const job = (inputs: string, outDir: string): BatchJob => ({
  modelPath: MODEL,
  inputs: [inputs],
  outDir,
  methods: ['gradcam'],
  params: { provider: { provider: 'cpu' } },
});
const lockError = (e: unknown) => e instanceof CamLensError && /Another camlens batch \(pid \d+\) is writing into .*; wait for it to finish/.test(e.message);

describe('--out', () => {
  it('a second batch into the same folder fails at once while the first runs; the first finishes whole', async () => {
    const { dir, images } = demoImagesFolder('camlens-out-');
    const out = join(dir, 'out');
    let letGo!: () => void;
    const held = new Promise<void>((r) => (letGo = r));
    let entered!: () => void;
    const running = new Promise<void>((r) => (entered = r));
    const slow: BatchBackend = async (p, signal) => {
      entered();
      await held;
      return local(p, signal);
    };
    const first = runBatch(job(images, out), slow);
    await running;
    ok(existsSync(join(out, LOCK_NAME)), 'the running batch holds the lock');
    const started = Date.now();
    await rejects(runBatch(job(images, out), local), lockError);
    ok(Date.now() - started < 1000, 'refused at once');
    letGo();
    const o = await first;
    equal(o.failed, 0);
    equal(o.rows.length, 3);
    ok(!existsSync(join(out, LOCK_NAME)), 'the lock is released at the end');
  });

  it('from the command line: a clear one-line error, exit 1, no stack', () => {
    const { dir, images } = demoImagesFolder('camlens-out-');
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, LOCK_NAME), `${process.pid}\n`); // a live process holds it: this test
    const r = camlens('batch', MODEL, images, '--out', out, '--ep', 'cpu', '--quiet');
    equal(r.status, 1, r.stderr);
    match(r.stderr, new RegExp(`^camlens batch: Another camlens batch \\(pid ${process.pid}\\) is writing into `));
    ok(!/internal error|\n {4}at /.test(r.stderr), r.stderr);
  });

  it('a stale lock (its process is gone) is taken over', async () => {
    const { dir, images } = demoImagesFolder('camlens-out-');
    const out = join(dir, 'out');
    mkdirSync(out);
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(out, LOCK_NAME), `${gone.stdout}\n`);
    const o = await runBatch(job(images, out), local);
    equal(o.rows.filter((r) => r.status === 'ok').length, 3);
    ok(!existsSync(join(out, LOCK_NAME)));
  });

  it('an --out that is an existing file is a clear error before any work (batch, evaluate, explain)', () => {
    const { dir, images } = demoImagesFolder('camlens-out-');
    const file = join(dir, 'taken.txt');
    writeFileSync(file, 'not a folder\n');
    const runs = {
      batch: camlens('batch', MODEL, images, '--out', file, '--ep', 'cpu', '--quiet'),
      evaluate: camlens('evaluate', MODEL, join(images, 'circle_1.png'), '--out', file, '--ep', 'cpu', '--metrics', 'deletion'),
      explain: camlens('explain', MODEL, join(images, 'circle_1.png'), '--out', file, '--ep', 'cpu'),
    };
    for (const [name, r] of Object.entries(runs)) {
      equal(r.status, 1, `${name}: ${r.stderr}`);
      match(r.stderr, new RegExp(`^camlens ${name}: --out .*taken\\.txt is an existing file, not a folder`));
      equal(r.stdout, '', `${name} computed nothing first`);
    }
  });

  it("a batch over a folder that holds other batches' outputs (directly or through a link) reads only the images", async () => {
    const { dir, images } = demoImagesFolder('camlens-out-');
    const first = await runBatch(job(images, join(images, 'out1')), local);
    equal(first.total, 3);
    const again = await runBatch(job(images, join(images, 'out1')), local);
    equal(again.total, 3, 'its own output folder');
    const second = await runBatch(job(images, join(images, 'out2')), local);
    equal(second.total, 3, "another batch's output folder");
    // The output folder reached through a link inside the input folder.
    mkdirSync(join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'elsewhere'), join(images, 'linked'), 'dir');
    const viaLink = await runBatch(job(images, join(dir, 'elsewhere')), local);
    equal(viaLink.total, 3);
    const glob = await runBatch(job(join(images, '**/*'), join(images, 'out3')), local);
    equal(glob.total, 3, 'a glob too');
  });
});
