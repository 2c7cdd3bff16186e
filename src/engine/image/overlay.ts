// Overlay and heatmap PNGs of a map over a picture (the CLI's, the worker's and the batch
// outputs). The pixels come from blend.ts, the one blend the panel draws with too.
import { blend } from './blend';
import { applyColormap, type ColormapName } from './colormap';
import type { RgbImage } from './decode';
import { encodeRgbPng } from './png';

/** `cam` is the map at the picture's size. */
export async function overlayPng(image: RgbImage, cam: Float32Array, colormap: ColormapName = 'jet', alpha = 0.5): Promise<Buffer> {
  return encodeRgbPng(blend(image, { data: cam, width: image.width, height: image.height }, colormap, alpha), image.width, image.height);
}

export async function heatmapPng(cam: Float32Array, width: number, height: number, colormap: ColormapName = 'jet'): Promise<Buffer> {
  return encodeRgbPng(applyColormap(cam, colormap), width, height);
}
