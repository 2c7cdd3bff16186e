import { equal, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rng } from '../helpers/models';
import { applyColormap, type ColormapName } from '../../src/engine/image/colormap';
import { blendOverlay } from '../../src/engine/image/overlay';

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
        const got = blendOverlay({ data: image, width: 64, height: 64 }, cam, colormap, alpha);
        const want = direct(image, cam, colormap, alpha);
        let diff = 0;
        for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) diff++;
        equal(diff, 0, `${colormap} alpha ${alpha}: ${diff} bytes differ`);
      }
    }
  });

  it('refuses a map whose size is not the image size', () => {
    throws(() => blendOverlay({ data: new Uint8Array(12), width: 2, height: 2 }, new Float32Array(3)), /map has 3 values/);
  });
});
