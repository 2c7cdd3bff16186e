import { deepEqual, equal, ok, rejects } from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { explain } from '../../src/engine/explain';
import { suggestCamLayer } from '../../src/engine/layers';
import { analyseModel } from '../../src/engine/model';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { loadClip, uniformIndices, frameSource } from '../../src/engine/video/frames';
import { animation } from '../../src/engine/video/render';
import { aggregateVideo, resizeTime, temporalWeights } from '../../src/engine/video/temporal';
import { IMAGENET_DEFAULTS } from '../../src/engine/image/config';
import { encodeNpy } from '../../src/engine/npy';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { readFileSync, existsSync } from 'node:fs';
import { loadNpy } from '../helpers/fixtures';
import { frameRgb, objectAt, OBJ, S, T, tiny3dCnn } from './tiny3d';

const sessions = new SessionCache();
after(() => sessions.releaseAll());

let dir = '';
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'camlens-video-'));
  mkdirSync(join(dir, 'frames'));
  const frames = Array.from({ length: T }, (_, t) => frameRgb(t));
  for (let t = 0; t < T; t++) {
    await sharp(frames[t], { raw: { width: S, height: S, channels: 3 } })
      .png()
      .toFile(join(dir, 'frames', `frame_${t + 1}.png`)); // natural order: 1..8
  }
  writeFileSync(join(dir, 'clip.gif'), await animation(frames, S, S, 'gif'));
  writeFileSync(join(dir, 'list.txt'), Array.from({ length: T }, (_, t) => `frames/frame_${t + 1}.png`).join('\n') + '\n');
  // A 16-frame clip (each frame twice) for uniform sampling to 8.
  mkdirSync(join(dir, 'long'));
  for (let t = 0; t < 2 * T; t++)
    await sharp(frames[t >> 1], { raw: { width: S, height: S, channels: 3 } })
      .png()
      .toFile(join(dir, 'long', `${String(t).padStart(3, '0')}.png`));
  writeFileSync(join(dir, 'tiny3d.onnx'), tiny3dCnn());
  writeFileSync(join(dir, 'tiny3d_dyn.onnx'), tiny3dCnn('T'));
});

function argmaxInside(cam: Float32Array, t: number): boolean {
  const plane = cam.subarray(t * S * S, (t + 1) * S * S);
  let best = 0;
  for (let i = 1; i < plane.length; i++) if (plane[i] > plane[best]) best = i;
  const [y, x] = [Math.floor(best / S), best % S];
  const [y0, x0] = objectAt(t);
  return y >= y0 && y < y0 + OBJ && x >= x0 && x < x0 + OBJ;
}

describe('video: clip input', () => {
  it('folder (natural order), GIF, .txt list and comma list give the same [1, 3, T, H, W] tensor', async () => {
    const config = IMAGENET_DEFAULTS;
    const folder = await loadClip(join(dir, 'frames'), config, [S, S], T);
    deepEqual(folder.dims, [1, 3, T, S, S]);
    const gif = await loadClip(join(dir, 'clip.gif'), config, [S, S], T);
    const list = await loadClip(join(dir, 'list.txt'), config, [S, S], T);
    const commas = await loadClip(Array.from({ length: T }, (_, t) => join(dir, 'frames', `frame_${t + 1}.png`)).join(','), config, [S, S], T);
    for (const other of [gif, list, commas]) {
      let maxDiff = 0;
      for (let i = 0; i < folder.tensor.length; i++) maxDiff = Math.max(maxDiff, Math.abs(folder.tensor[i] - other.tensor[i]));
      ok(maxDiff < 0.05, `max diff ${maxDiff}`); // GIF palette quantisation
    }
    // Channel-major then time: value at (c=0, t=3) inside the object is white.
    const [y0, x0] = objectAt(3);
    ok(folder.tensor[(0 * T + 3) * S * S + (y0 + 1) * S + x0 + 1] > 1.5);
    equal((await frameSource(join(dir, 'clip.gif'))).kind, 'animation');
  });

  it('samples frames uniformly when the clip is longer than T', async () => {
    deepEqual(uniformIndices(16, 8), [0, 2, 4, 6, 8, 10, 12, 15]);
    deepEqual(uniformIndices(3, 5), [0, 0, 1, 1, 2]);
    const clip = await loadClip(join(dir, 'long'), IMAGENET_DEFAULTS, [S, S], T);
    deepEqual(clip.indices, [0, 2, 4, 6, 8, 10, 12, 15]);
    equal(clip.sourceFrames, 16);
    await rejects(loadClip(join(dir, 'long'), IMAGENET_DEFAULTS, [S, S], T, 4), /fixes T = 8/);
  });

  it('temporal helpers: time resize, clip-wide normalisation, energy weights', () => {
    const m = { data: Float32Array.of(0, 0, 4, 4), shape: [2, 1, 2] as [number, number, number] };
    deepEqual(Array.from(resizeTime(m, 4).data), [0, 0, 1, 1, 3, 3, 4, 4]);
    const agg = aggregateVideo([{ data: Float32Array.of(1, 0, 3, -1), shape: [2, 1, 2] as const }], [1, 2], 2);
    ok(Math.abs(agg.data[2] - 1) < 1e-6 && Math.abs(agg.data[0] - 1 / 3) < 1e-6, `clip-wide: ${Array.from(agg.data)}`);
    deepEqual(temporalWeights({ data: Float32Array.of(1, 1, 2, 0), shape: [2, 1, 2] as const }), [0.5, 0.5]);
    deepEqual(temporalWeights({ data: new Float32Array(4), shape: [2, 1, 2] as const }), [0.5, 0.5]);
  });
});

describe('video: tiny 3-D CNN with a moving bright object', () => {
  it('suggests the last 5-D map; Grad-CAM follows the object in >= 90% of frames', async (t) => {
    const modelPath = join(dir, 'tiny3d.onnx');
    const { readModelFile } = await import('../../src/engine/onnx/io');
    const s = suggestCamLayer(analyseModel(readModelFile(modelPath), modelPath))!;
    equal(s.kind, 'spatial');
    for (const input of [join(dir, 'frames'), join(dir, 'clip.gif')]) {
      const r = await explain({ modelPath, input, classIndex: 0 }, { sessions });
      equal(r.layers[0], s.value);
      const e = r.explanations[0];
      ok(e.video, 'video explanation');
      equal(e.video!.frames, T);
      equal(e.cam.data.length, T * S * S);
      equal(e.camRaw.data.length, T * (S / 2) * (S / 2));
      const inside = Array.from({ length: T }, (_, t) => argmaxInside(e.cam.data, t)).filter(Boolean).length;
      ok(inside / T >= 0.9, `${input}: argmax inside the object in ${inside}/${T} frames`);
      t.diagnostic(
        `${input.endsWith('.gif') ? 'GIF' : 'folder'}: argmax inside the moving object in ${inside}/${T} frames; temporal weights ${e.video!.temporalWeights.map((w) => w.toFixed(3)).join(' ')}`,
      );
      equal(e.video!.temporalWeights.length, T);
      ok(Math.abs(e.video!.temporalWeights.reduce((a, b) => a + b, 0) - 1) < 1e-9);
      equal(e.video!.frameOverlaysPng.length, T);
      equal(r.frames!.length, T);
      const strip = await sharp(e.overlayPng).metadata();
      deepEqual([strip.width, strip.height], [S * T, S]);
      const gif = await sharp(e.video!.animatedGif).metadata();
      equal(gif.format, 'gif');
      equal(gif.pages, T);
    }
  });

  it('symbolic T: --frames samples the clip; gradcam++ and eigencam work too', async () => {
    const modelPath = join(dir, 'tiny3d_dyn.onnx');
    const r = await explain({ modelPath, input: join(dir, 'long'), frames: 8, classIndex: 0, method: 'gradcam++' }, { sessions });
    equal(r.explanations[0].video!.frames, 8);
    const inside = Array.from({ length: T }, (_, t) => argmaxInside(r.explanations[0].cam.data, t)).filter(Boolean).length;
    ok(inside >= 7, `${inside}/8`);
    const e = await explain({ modelPath, input: join(dir, 'frames'), method: 'eigencam' }, { sessions });
    equal(e.explanations[0].video!.frames, T);
    await rejects(explain({ modelPath, input: join(dir, 'frames'), augSmooth: true }, { sessions }), /not available for video/);
    // The same clip as a preprocessed .npy gives the same map.
    const clip = await loadClip(join(dir, 'frames'), IMAGENET_DEFAULTS, [S, S], T);
    writeFileSync(join(dir, 'clip.npy'), encodeNpy(clip.tensor, clip.dims));
    const fromFolder = await explain({ modelPath, input: join(dir, 'frames'), classIndex: 0 }, { sessions });
    const fromNpy = await explain({ modelPath, input: join(dir, 'clip.npy'), classIndex: 0 }, { sessions });
    equal(fromNpy.frames!.length, T);
    let d = 0;
    fromNpy.explanations[0].cam.data.forEach((v, i) => {
      d = Math.max(d, Math.abs(v - fromFolder.explanations[0].cam.data[i]));
    });
    ok(d < 1e-5, `npy vs folder ${d}`);
  });
});

describe('video: camlens explain', () => {
  it('writes [T, H, W] maps, the overlay strip, an animated GIF and temporal weights', async () => {
    const out = join(dir, 'out');
    const bin = resolve(__dirname, '../../../bin/camlens.js');
    const r = spawnSync(process.execPath, [bin, 'explain', join(dir, 'tiny3d_dyn.onnx'), join(dir, 'long'), '--frames', '8', '--class', '0', '--out', out], {
      encoding: 'utf8',
    });
    equal(r.status, 0, r.stderr);
    deepEqual(loadNpy(join(out, 'long.cam.npy')).shape, [8, S, S]);
    deepEqual(loadNpy(join(out, 'long.cam_raw.npy')).shape, [8, S / 2, S / 2]);
    ok(existsSync(join(out, 'long.overlay.gif')));
    const json = JSON.parse(readFileSync(join(out, 'long.json'), 'utf8'));
    equal(json.explanations[0].frames, 8);
    equal(json.explanations[0].temporal_weights.length, 8);
    const bad = spawnSync(process.execPath, [bin, 'explain', join(dir, 'tiny3d_dyn.onnx'), join(dir, 'long'), '--frames', '0', '--out', out], {
      encoding: 'utf8',
    });
    ok(bad.status !== 0 && /--frames/.test(bad.stderr), bad.stderr);
  });
});
