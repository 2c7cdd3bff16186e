// The heatmap over the image, as pytorch-grad-cam's show_cam_on_image does it:
// out = alpha · colormap(cam) + (1 − alpha) · image, then PNG.
import { applyColormap, colormapTable, type ColormapName } from './colormap';
import type { RgbImage } from './decode';
import { encodeRgbPng } from './png';

/**
 * round(alpha·colour + (1 − alpha)·pixel) for every colour channel of the colormap (256 × 3) and
 * every pixel value (256): 196,608 bytes, the same float64 arithmetic as the direct formula. The
 * last one is kept: explanations repeat the same colormap and alpha.
 */
let lastBlend: { colormap: ColormapName; alpha: number; table: Uint8Array } | undefined;

function blendTable(colormap: ColormapName, alpha: number): Uint8Array {
  if (lastBlend?.colormap === colormap && Object.is(lastBlend.alpha, alpha)) return lastBlend.table;
  const colours = colormapTable(colormap);
  const table = new Uint8Array(colours.length * 256);
  for (let c = 0; c < colours.length; c++) {
    const heat = alpha * colours[c];
    for (let v = 0; v < 256; v++) table[c * 256 + v] = Math.round(heat + (1 - alpha) * v);
  }
  lastBlend = { colormap, alpha, table };
  return table;
}

export function blendOverlay(image: RgbImage, cam: Float32Array, colormap: ColormapName = 'jet', alpha = 0.5): Uint8Array {
  if (cam.length !== image.width * image.height) {
    throw new Error(`overlay: map has ${cam.length} values, image ${image.width}x${image.height}`);
  }
  // Table lookups only: this runs on every explanation, on every pixel.
  const table = blendTable(colormap, alpha);
  const src = image.data;
  const out = new Uint8Array(cam.length * 3);
  for (let i = 0, j = 0; i < cam.length; i++, j += 3) {
    const v = cam[i];
    // v·255 of a float32 v is never within an ulp below k + 0.5, so this is Math.round(v·255).
    const k = (v > 0 ? (v < 1 ? (v * 255 + 0.5) | 0 : 255) : 0) * 768;
    out[j] = table[k + src[j]];
    out[j + 1] = table[k + 256 + src[j + 1]];
    out[j + 2] = table[k + 512 + src[j + 2]];
  }
  return out;
}

export async function overlayPng(image: RgbImage, cam: Float32Array, colormap: ColormapName = 'jet', alpha = 0.5): Promise<Buffer> {
  return encodeRgbPng(blendOverlay(image, cam, colormap, alpha), image.width, image.height);
}

export async function heatmapPng(cam: Float32Array, width: number, height: number, colormap: ColormapName = 'jet'): Promise<Buffer> {
  return encodeRgbPng(applyColormap(cam, colormap), width, height);
}
