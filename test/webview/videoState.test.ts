// The CAM panel's video logic without a browser: frame keys, labels, weight bars, per-frame
// slices of the clip, overlay pixels, and the host's packing of the frames; then a real clip
// explained on the tiny 3-D CNN, sliced as the panel slices it, against the engine's own
// per-frame overlays.
import { deepEqual, equal, throws } from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { explain } from '../../src/engine/explain';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { colormapTable } from '../../src/engine/image/colormap';
import { videoView } from '../../src/host/panel/explainView';
import type { DrawnView } from '../../src/panel/protocol';
import { overlayRgba } from '../../webview/cam/pixels';
import { clampFrame, frameCount, frameForKey, frameLabel, frameSlice, nextFrame, thumbnailSize, weightBars } from '../../webview/cam/videoState';
import { frameRgb, S, T, tiny3dCnn } from '../video/tiny3d';

type Slicable = Pick<DrawnView, 'image' | 'cam' | 'video'>;

/** T frames of 2×2 pixels, frame t's pixels all 10·t + channel; its map all t / 10. */
function clip(count: number): Slicable {
  const frames = Array.from({ length: count }, (_, t) => ({ data: Uint8Array.from({ length: 12 }, (_, i) => 10 * t + (i % 3)), width: 2, height: 2 }));
  const cam = Float32Array.from({ length: count * 4 }, (_, i) => Math.floor(i / 4) / 10);
  return {
    image: frames[0],
    cam: { data: cam, width: 2, height: 2 },
    video: videoView(
      frames,
      Array.from({ length: count }, () => 1 / count),
    ),
  };
}

describe('panel video state', () => {
  it('frame keys match a range input: arrows step, PageUp/PageDown a tenth, Home/End the ends, clamped', () => {
    equal(frameForKey('ArrowRight', 3, 8), 4);
    equal(frameForKey('ArrowUp', 3, 8), 4);
    equal(frameForKey('ArrowLeft', 3, 8), 2);
    equal(frameForKey('ArrowDown', 3, 8), 2);
    equal(frameForKey('ArrowLeft', 0, 8), 0);
    equal(frameForKey('ArrowRight', 7, 8), 7);
    equal(frameForKey('Home', 5, 8), 0);
    equal(frameForKey('End', 1, 8), 7);
    equal(frameForKey('PageUp', 10, 64), 16);
    equal(frameForKey('PageDown', 3, 64), 0);
    equal(frameForKey('Enter', 3, 8), undefined);
    equal(frameForKey('a', 3, 8), undefined);
    deepEqual([nextFrame(6, 8), nextFrame(7, 8)], [7, 0]);
    deepEqual([clampFrame(-2, 8), clampFrame(9, 8), clampFrame(Number.NaN, 8), clampFrame(2.4, 8)], [0, 7, 0, 2]);
  });

  it('labels count frames from 1 and give the weight in percent; bars are relative to the largest weight', () => {
    equal(frameLabel(2, 8, 0.125), 'Frame 3 / 8 · weight 12.5%');
    equal(frameLabel(0, 1, undefined), 'Frame 1 / 1');
    deepEqual(weightBars([0.125, 0.25, 0.5, 0.375]), [0.25, 0.5, 1, 0.75]);
    deepEqual(weightBars([0, 0, 0]), [0, 0, 0]);
  });

  it('slices frame t out of the packed frames and the [T, h, w] map', () => {
    const v = clip(3);
    equal(frameCount(v), 3);
    const s = frameSlice(v, 1);
    deepEqual(Array.from(s.image.data.subarray(0, 3)), [10, 11, 12]);
    equal(s.image.data.length, 12);
    deepEqual(Array.from(s.cam.data), [0.1, 0.1, 0.1, 0.1].map(Math.fround));
    deepEqual(Array.from(frameSlice(v, 99).image.data.subarray(0, 1)), [20]); // clamped to the last frame
    const still: Slicable = { image: v.image, cam: { data: new Float32Array(4), width: 2, height: 2 }, video: undefined };
    equal(frameCount(still), 1);
    equal(frameSlice(still, 5).image, v.image);
  });

  it('overlay pixels: the picture at alpha 0, the colormap in heatmap view, the blend in between, resampled', () => {
    const table = colormapTable('jet');
    const image = { data: Uint8Array.of(200, 100, 0, 200, 100, 0, 200, 100, 0, 200, 100, 0), width: 2, height: 2 };
    const cam = { data: Float32Array.of(1, 1, 0, Number.NaN), width: 2, height: 2 };
    const bare = overlayRgba(image, cam, { colormap: 'jet', alpha: 0, mode: 'overlay' });
    deepEqual(Array.from(bare.subarray(0, 4)), [200, 100, 0, 255]);
    const heat = overlayRgba(image, cam, { colormap: 'jet', alpha: 0.5, mode: 'heatmap' });
    deepEqual(Array.from(heat.subarray(0, 3)), Array.from(table.subarray(255 * 3, 255 * 3 + 3)));
    deepEqual(Array.from(heat.subarray(12, 15)), Array.from(table.subarray(0, 3))); // NaN draws as 0
    const half = overlayRgba(image, cam, { colormap: 'jet', alpha: 0.5, mode: 'overlay' });
    equal(half[0], Math.round(0.5 * 200 + 0.5 * table[255 * 3]));
    const one = overlayRgba(image, cam, { colormap: 'jet', alpha: 0.5, mode: 'side-by-side' }, 1, 1);
    deepEqual(Array.from(one), Array.from(half.subarray(0, 4)));
    deepEqual(thumbnailSize(224, 112, 72), { width: 72, height: 36 });
    deepEqual(thumbnailSize(1, 300, 72), { width: 1, height: 72 });
  });

  it('the host packs frames in clip order and refuses frames of another size', () => {
    const v = videoView(
      [
        { data: new Uint8Array(12).fill(1), width: 2, height: 2 },
        { data: new Uint8Array(12).fill(2), width: 2, height: 2 },
      ],
      [0.25, 0.75],
    );
    deepEqual([v.count, v.frames.length, v.frames[0], v.frames[12]], [2, 24, 1, 2]);
    deepEqual(v.temporalWeights, [0.25, 0.75]);
    throws(
      () =>
        videoView(
          [
            { data: new Uint8Array(12), width: 2, height: 2 },
            { data: new Uint8Array(27), width: 3, height: 3 },
          ],
          [0.5, 0.5],
        ),
      /frame 1 is 3×3/,
    );
  });
});

describe('panel video state on a real clip', () => {
  const sessions = new SessionCache();
  const dir = mkdtempSync(join(tmpdir(), 'camlens-panel-video-'));
  after(async () => {
    await sessions.releaseAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it("each frame the panel draws is the engine's overlay of that frame (same map, same colours)", async () => {
    mkdirSync(join(dir, 'frames'));
    for (let f = 0; f < T; f++)
      await sharp(frameRgb(f), { raw: { width: S, height: S, channels: 3 } })
        .png()
        .toFile(join(dir, 'frames', `${f}.png`));
    writeFileSync(join(dir, 'tiny3d.onnx'), tiny3dCnn());
    const r = await explain({ modelPath: join(dir, 'tiny3d.onnx'), input: join(dir, 'frames'), classIndex: 0, colormap: 'jet', alpha: 0.5 }, { sessions });
    const e = r.explanations[0];
    const view: Slicable = { image: r.image!, cam: e.cam, video: videoView(r.frames!, e.video!.temporalWeights) };
    equal(frameCount(view), T);
    let worst = 0;
    for (let f = 0; f < T; f++) {
      const { image, cam } = frameSlice(view, f);
      deepEqual(Array.from(cam.data), Array.from(e.cam.data.subarray(f * S * S, (f + 1) * S * S)));
      const mine = overlayRgba(image, cam, { colormap: 'jet', alpha: 0.5, mode: 'overlay' });
      const engine = await sharp(Buffer.from(e.video!.frameOverlaysPng[f])).raw().toBuffer();
      for (let i = 0; i < S * S; i++) for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(mine[i * 4 + c] - engine[i * 3 + c]));
    }
    // One blend and one colormap table on both sides: the same bytes, not merely close ones.
    equal(worst, 0, `panel and engine overlays differ by up to ${worst} levels`);
  });
});
