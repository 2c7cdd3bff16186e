import { deepEqual, equal, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rng } from '../helpers/models';
import { applyColormap, colormapTable, COLORMAPS, type ColormapName } from '../../src/engine/image/colormap';
import { blend } from '../../src/engine/image/blend';

/** pytorch-grad-cam's show_cam_on_image, written out directly: the table version must match it. */
function direct(image: Uint8Array, cam: Float32Array, colormap: ColormapName, alpha: number): Uint8Array {
  const heat = applyColormap(cam, colormap);
  return Uint8Array.from(heat, (h, i) => Math.round(alpha * h + (1 - alpha) * image[i]));
}

describe('overlay blending', () => {
  it('equals alpha·colormap(cam) + (1 − alpha)·image, rounded, for every colormap and alpha', () => {
    const rand = rng(7);
    const n = 4096;
    const image = Uint8Array.from({ length: n * 3 }, () => Math.floor(rand() * 256));
    // Includes the edges of the colormap index: 0, 1, out of range, NaN and values at k/255 ± ε.
    const cam = Float32Array.from({ length: n }, (_, i) => (i < 8 ? [0, 1, -0.5, 1.5, NaN, 0.5 / 255, 254.5 / 255, 1e-9][i] : rand()));
    for (const colormap of ['jet', 'turbo', 'viridis', 'inferno'] as const) {
      for (const alpha of [0, 0.3, 0.5, 0.7, 1]) {
        const got = blend({ data: image, width: 64, height: 64 }, { data: cam, width: 64, height: 64 }, colormap, alpha);
        const want = direct(image, cam, colormap, alpha);
        let diff = 0;
        for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) diff++;
        equal(diff, 0, `${colormap} alpha ${alpha}: ${diff} bytes differ`);
      }
    }
  });

  it('refuses a map whose size is not the image size', () => {
    throws(() => blend({ data: new Uint8Array(12), width: 2, height: 2 }, { data: new Float32Array(3), width: 2, height: 2 }, 'jet', 0.5), /map has 3 values/);
  });
  it('resampled and RGBA output is the same blend: the picture and the map sampled at the nearest pixel', () => {
    const rand = rng(11);
    const image = { data: Uint8Array.from({ length: 4 * 2 * 3 }, () => Math.floor(rand() * 256)), width: 4, height: 2 };
    const cam = { data: Float32Array.from({ length: 8 }, () => rand()), width: 4, height: 2 };
    const rgb = blend(image, cam, 'turbo', 0.4);
    const rgba = blend(image, cam, 'turbo', 0.4, { width: 4, height: 2, channels: 4 });
    for (let i = 0; i < 8; i++) deepEqual([...rgba.subarray(i * 4, i * 4 + 4)], [...rgb.subarray(i * 3, i * 3 + 3), 255]);
    // twice the size: every output pixel is its source pixel's blend
    const big = blend(image, cam, 'turbo', 0.4, { width: 8, height: 4, channels: 3 });
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 8; x++) {
        const o = (y * 8 + x) * 3,
          p = ((y >> 1) * 4 + (x >> 1)) * 3;
        deepEqual([...big.subarray(o, o + 3)], [...rgb.subarray(p, p + 3)]);
      }
    // a map smaller than the picture (the panel's clip frames, a raw map) is sampled, not refused
    const coarse = blend(image, { data: Float32Array.of(0, 1), width: 2, height: 1 }, 'jet', 1);
    deepEqual([...coarse.subarray(0, 3)], [...colormapTable('jet').subarray(0, 3)]);
    deepEqual([...coarse.subarray(9, 12)], [...colormapTable('jet').subarray(765, 768)]);
    throws(() => blend(image, cam, 'jet', 1.5), /alpha must be in \[0, 1\]/);
  });
});

describe('colormap tables', () => {
  // Reference bytes: OpenCV 4.6's applyColorMap (jet, turbo; RGB order) and matplotlib 3.6's
  // Colormap(i, bytes=True) (viridis, inferno) at entries 0, 64, 128, 192 and 255.
  const REFERENCE: Record<ColormapName, number[][]> = {
    jet: [
      [0, 0, 128],
      [0, 128, 255],
      [130, 255, 126],
      [255, 124, 0],
      [128, 0, 0],
    ],
    turbo: [
      [48, 18, 59],
      [40, 188, 235],
      [164, 252, 60],
      [251, 126, 33],
      [122, 4, 3],
    ],
    viridis: [
      [68, 1, 84],
      [58, 82, 139],
      [32, 144, 140],
      [94, 201, 97],
      [253, 231, 36],
    ],
    inferno: [
      [0, 0, 3],
      [87, 15, 109],
      [187, 55, 84],
      [249, 142, 8],
      [252, 254, 164],
    ],
  };
  it("hold the reference tools' bytes", () => {
    for (const name of COLORMAPS) {
      const table = colormapTable(name);
      equal(table.length, 768);
      deepEqual(
        [0, 64, 128, 192, 255].map((i) => [...table.subarray(i * 3, i * 3 + 3)]),
        REFERENCE[name],
        name,
      );
    }
  });
});
