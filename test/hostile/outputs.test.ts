// Outputs that cannot be written (issue 18): with the file size limited (`ulimit -f`, what a full
// disk looks like to a writer), `camlens batch` once exited 0 saying "(0 failed)" while every row
// was an error, and `camlens explain` left a truncated S.cam.npy behind with an error that named
// no file. A failed write is a failed image, a non-zero exit, and never a partial file.
import { equal, match, ok } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runBatch } from '../../src/engine/batch/runner';
import type { BatchBackend } from '../../src/engine/batch/types';
import { CLI, demoImagesFolder, MODEL } from './helpers';

/** Runs the CLI with files limited to `kib` KiB: bigger writes fail with EFBIG. */
function camlensLimited(kib: number, args: string[]) {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return spawnSync('bash', ['-c', `ulimit -f ${kib} && exec ${quoted}`], { encoding: 'utf8' });
}

describe('outputs that cannot be written', () => {
  // The demo model's 64×64 maps make a 16 KiB .npy; the summaries of three rows fit in 8 KiB.
  it('batch counts every image whose files failed to write, says so, and exits 3', () => {
    const { dir, images } = demoImagesFolder('camlens-writes-');
    const out = join(dir, 'out');
    const r = camlensLimited(8, ['batch', MODEL, images, '--out', out, '--ep', 'cpu', '--quiet', '--no-report']);
    equal(r.status, 3, `exit code (stdout: ${r.stdout}, stderr: ${r.stderr})`);
    match(r.stdout, /of 3 images \(3 failed/);
    const csv = readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\n').slice(1);
    equal(csv.length, 3);
    for (const line of csv) match(line, /,error,.*writing outputs failed: Could not write .*\.cam\.npy \(EFBIG/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { failed: number };
    equal(summary.failed, 3);
    const left = readdirSync(out);
    ok(!left.some((f) => f.endsWith('.npy') || f.includes('.tmp-')), `no partial or temp files: ${left.join(', ')}`);
  });

  it('a row whose map did not come back counts as failed', async () => {
    const { dir, images } = demoImagesFolder('camlens-writes-');
    const noMaps: BatchBackend = async (p) => ({
      items: p.inputs.map((input) => ({
        input,
        ok: true as const,
        layers: ['x'],
        predictions: [],
        maps: [],
        timings_ms: { preprocess: 0, run: 0, cam: 0, overlay: 0 },
      })),
      ep: 'cpu',
      batched: true,
      runSizes: [p.inputs.length],
      timings_ms: { load: 0, preprocess: 0, run: 0, cam: 0, overlay: 0, total: 0 },
    });
    const o = await runBatch(
      { modelPath: MODEL, inputs: [images], outDir: join(dir, 'out'), methods: ['gradcam', 'eigencam'], params: {}, report: false },
      noMaps,
    );
    equal(o.failed, 3, 'each image once, not once per method');
    ok(o.rows.every((r) => r.status === 'error' && /no (gradcam|eigencam) map came back/.test(r.error!)));
  });

  it('explain names the file it could not write and leaves no truncated S.cam.npy', () => {
    const { dir, images } = demoImagesFolder('camlens-writes-');
    const out = join(dir, 'out');
    const r = camlensLimited(8, ['explain', MODEL, join(images, 'circle_1.png'), '--out', out, '--ep', 'cpu']);
    equal(r.status, 1, r.stderr);
    match(r.stderr, /camlens explain: Could not write .*circle_1\.cam\.npy \(EFBIG/);
    ok(!/internal error/.test(r.stderr), r.stderr);
    const left = existsSync(out) ? readdirSync(out) : [];
    equal(left.length, 0, `nothing half-written: ${left.join(', ')}`);
  });
});
