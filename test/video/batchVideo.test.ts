// Batch export over a video model: inputs are clips (a folder of frames, an animated GIF), and
// each clip gets S.strip.png, S.overlay.gif, S.cam.npy [T, H, W], S.cam_raw.npy and S.json with
// temporal weights; resume checks those files; the CLI finds out by itself that the model takes clips.
import { deepEqual, equal, ok, rejects } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { explainBatch } from '../../src/engine/batch/batchedExplain';
import { clipsOf, listClips, takesClips } from '../../src/engine/batch/clipInputs';
import { runBatch, type BatchBackend, type BatchJob } from '../../src/engine/batch/runner';
import { decodeNpy } from '../../src/engine/npy';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { animation } from '../../src/engine/video/render';
import { temporalWeights } from '../../src/engine/video/temporal';
import { frameRgb, objectAt, OBJ, S, T, tiny3dCnn } from './tiny3d';

const sessions = new SessionCache();
const local: BatchBackend = (p, signal) => explainBatch(p, { sessions, signal });
const tmp = fs.mkdtempSync(join(tmpdir(), 'camlens-batch-video-'));
const clips = join(tmp, 'clips');
const model = join(tmp, 'tiny3d.onnx');
const modelDyn = join(tmp, 'tiny3d_dyn.onnx');

before(async () => {
  fs.mkdirSync(join(clips, 'walk'), { recursive: true });
  fs.mkdirSync(join(clips, 'notes'));
  const frames = Array.from({ length: T }, (_, t) => frameRgb(t));
  for (let t = 0; t < T; t++)
    await sharp(frames[t], { raw: { width: S, height: S, channels: 3 } })
      .png()
      .toFile(join(clips, 'walk', `frame_${t + 1}.png`));
  // The same motion backwards, as one animated GIF.
  fs.writeFileSync(join(clips, 'jump.gif'), await animation([...frames].reverse(), S, S, 'gif'));
  fs.writeFileSync(join(clips, 'notes', 'readme.txt'), 'not a clip\n');
  fs.writeFileSync(model, tiny3dCnn());
  fs.writeFileSync(modelDyn, tiny3dCnn('T'));
});
after(async () => {
  await sessions.releaseAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const job = (out: string, extra: Partial<BatchJob> = {}): BatchJob => ({
  modelPath: model,
  inputs: [clips],
  outDir: join(tmp, out),
  methods: ['gradcam'],
  target: { kind: 'class', index: 0 },
  params: { provider: { provider: 'cpu' } },
  clips: true,
  ...extra,
});

/** Frames (of T) whose map maximum lies inside the moving square; `reversed` for jump.gif. */
function framesFollowed(cam: Float32Array, reversed: boolean): number {
  let n = 0;
  for (let t = 0; t < T; t++) {
    const plane = cam.subarray(t * S * S, (t + 1) * S * S);
    let best = 0;
    for (let i = 1; i < plane.length; i++) if (plane[i] > plane[best]) best = i;
    const [y0, x0] = objectAt(reversed ? T - 1 - t : t);
    const [y, x] = [Math.floor(best / S), best % S];
    if (y >= y0 && y < y0 + OBJ && x >= x0 && x < x0 + OBJ) n++;
  }
  return n;
}

describe('batch clips: listing', () => {
  it('a folder of frames is one clip, an animated GIF another; folders without frames are not clips', () => {
    deepEqual(
      listClips([clips]).map((c) => c.rel),
      ['jump.gif', 'walk'],
    );
    // The frames folder itself as the argument: named after itself.
    deepEqual(
      listClips([join(clips, 'walk')]).map((c) => c.rel),
      ['walk'],
    );
    // A glob that matches frames selects their folder.
    deepEqual(
      listClips([join(clips, '**/*.png')]).map((c) => c.rel),
      ['walk'],
    );
    // A GIF beside still frames is one of the frames (as `camlens explain <folder>` reads it).
    deepEqual(clipsOf(['/d/a.png', '/d/b.gif', '/e/c.gif', '/e/x.npy']).sort(), ['/d', '/e/c.gif', '/e/x.npy']);
    ok(takesClips([1, 3, 8, 32, 32]) && !takesClips([1, 3, 32, 32]) && !takesClips(null));
  });
});

describe('batch clips: outputs', () => {
  it('writes the strip, an animated GIF of T frames, [T, H, W] maps and T temporal weights per clip', async (t) => {
    const o = await runBatch(job('out'), local);
    equal(o.total, 2);
    equal(o.failed, 0, JSON.stringify(o.rows.map((r) => r.error)));
    equal(o.batched, false); // one clip per run
    deepEqual(
      o.rows.map((r) => [r.path, r.status, r.frames]),
      [
        ['jump.gif', 'ok', T],
        ['walk', 'ok', T],
      ],
    );
    for (const r of o.rows) {
      const prefix = join(o.outDir, r.output!);
      const strip = await sharp(`${prefix}.strip.png`).metadata();
      deepEqual([strip.format, strip.width, strip.height], ['png', S * T, S]);
      const gif = await sharp(`${prefix}.overlay.gif`).metadata();
      deepEqual([gif.format, gif.pages, gif.width], ['gif', T, S]);
      ok(!fs.existsSync(`${prefix}.overlay.png`), 'a clip has a strip and an animation, no single overlay');
      const cam = decodeNpy(fs.readFileSync(`${prefix}.cam.npy`));
      deepEqual(cam.shape, [T, S, S]);
      deepEqual(decodeNpy(fs.readFileSync(`${prefix}.cam_raw.npy`)).shape, [T, S / 2, S / 2]);
      const json = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8'));
      const e = json.explanations[0];
      equal(e.frames, T);
      equal(e.temporal_weights.length, T);
      const sum = e.temporal_weights.reduce((a: number, b: number) => a + b, 0);
      ok(Math.abs(sum - 1) < 1e-5, `weights sum to ${sum}`);
      // The weights are those of the written map (mean energy per frame, normalised).
      const expected = temporalWeights({ data: cam.data as Float32Array, shape: [T, S, S] });
      e.temporal_weights.forEach((w: number, i: number) => ok(Math.abs(w - expected[i]) < 1e-5, `frame ${i}: ${w} vs ${expected[i]}`));
      // Each clip was explained as a whole clip: the map follows the square frame by frame.
      const followed = framesFollowed(cam.data as Float32Array, r.path === 'jump.gif');
      ok(followed >= T - 1, `${r.path}: map maximum inside the moving square in ${followed}/${T} frames`);
      t.diagnostic(`${r.path}: square followed in ${followed}/${T} frames; temporal weights ${e.temporal_weights.map((w: number) => w.toFixed(3)).join(' ')}`);
    }
    const report = fs.readFileSync(o.files.report!, 'utf8');
    ok(report.includes('"overlay":"./walk.overlay.gif"') && report.includes('"image":"./walk.strip.png"'), 'report thumbnails are the animation and the strip');
    const summary = JSON.parse(fs.readFileSync(o.files.summaryJson, 'utf8'));
    deepEqual(
      summary.rows.map((r: { frames: number }) => r.frames),
      [T, T],
    );
  });

  it('--resume skips complete clips and redoes one whose GIF was cut short', async () => {
    const again = await runBatch(job('out', { resume: true }), local);
    deepEqual([again.resumed, again.done], [2, 0]);
    deepEqual(
      again.rows.map((r) => [r.status, r.frames]),
      [
        ['resumed', T],
        ['resumed', T],
      ],
    );
    const gif = join(tmp, 'out', 'walk.overlay.gif');
    fs.writeFileSync(gif, fs.readFileSync(gif).subarray(0, 200));
    const third = await runBatch(job('out', { resume: true }), local);
    deepEqual([third.resumed, third.done, third.failed], [1, 1, 0]);
    equal((await sharp(gif).metadata()).pages, T);
  });

  it('refuses metrics for a video model with a clear error instead of leaving the columns out', async () => {
    await rejects(
      explainBatch(
        { modelPath: model, inputs: [join(clips, 'jump.gif')], methods: ['gradcam'], metrics: ['localisation'], provider: { provider: 'cpu' } },
        { sessions },
      ),
      (e: Error) => /Metrics \(localisation\) are defined for image models; this is a video model/.test(e.message),
    );
  });

  it('symbolic T: --frames samples every clip to N frames', async () => {
    const o = await runBatch(job('out-dyn', { modelPath: modelDyn, params: { provider: { provider: 'cpu' }, frames: 4 } }), local);
    equal(o.failed, 0, JSON.stringify(o.rows.map((r) => r.error)));
    for (const r of o.rows) {
      const prefix = join(o.outDir, r.output!);
      deepEqual(decodeNpy(fs.readFileSync(`${prefix}.cam.npy`)).shape, [4, S, S]);
      equal((await sharp(`${prefix}.overlay.gif`).metadata()).pages, 4);
      equal(r.frames, 4);
    }
  });
});

describe('batch clips: camlens batch', () => {
  it('finds that the model takes clips and writes the clip files', () => {
    const out = join(tmp, 'cli-out');
    const bin = resolve(__dirname, '../../../bin/camlens.js');
    const r = spawnSync(process.execPath, [bin, 'batch', model, clips, '--out', out, '--class', '0', '--provider', 'cpu', '--quiet'], { encoding: 'utf8' });
    equal(r.status, 0, r.stderr + r.stdout);
    for (const stem of ['walk', 'jump']) {
      for (const suffix of ['.strip.png', '.overlay.gif', '.cam.npy', '.cam_raw.npy', '.json'])
        ok(fs.existsSync(join(out, `${stem}${suffix}`)), `${stem}${suffix}`);
    }
    equal(fs.readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\n').length, 3);
  });
});
