// Overlay and heatmap PNGs of a map over a picture (the CLI's, the worker's and the batch
// outputs). The pixels come from blend.ts, the one blend the panel draws with too.
import { blend } from './blend';
import { applyColormap, type ColormapName } from './colormap';
import type { RgbImage } from './decode';
import { mapToOriginal, type ImageGeometry } from './geometry';
import { encodeRgbPng } from './png';

/** `cam` is the map at the picture's size. */
export async function overlayPng(image: RgbImage, cam: Float32Array, colormap: ColormapName = 'jet', alpha = 0.5): Promise<Buffer> {
  return encodeRgbPng(blend(image, { data: cam, width: image.width, height: image.height }, colormap, alpha), image.width, image.height);
}

export async function heatmapPng(cam: Float32Array, width: number, height: number, colormap: ColormapName = 'jet'): Promise<Buffer> {
  return encodeRgbPng(applyColormap(cam, colormap), width, height);
}

/**
 * An input-sized map on the original picture: the map resampled through the preprocessing's
 * geometry (S.cam_image.npy; NaN where a centre crop cut the picture away, which the blend
 * draws as the colormap's 0) and, unless `png` is false, its overlay PNG at the picture's size.
 */
export async function overlayOnOriginal(
  original: { picture: RgbImage; geometry: ImageGeometry },
  cam: Float32Array,
  colormap: ColormapName = 'jet',
  alpha = 0.5,
  png = true,
): Promise<{ camImage: { data: Float32Array; width: number; height: number }; png?: Buffer }> {
  const { picture, geometry } = original;
  const camImage = { data: mapToOriginal(geometry, cam), width: picture.width, height: picture.height };
  return { camImage, ...(png ? { png: await overlayPng(picture, camImage.data, colormap, alpha) } : {}) };
}
