// The heatmap over the image, as pytorch-grad-cam's show_cam_on_image does it:
// out = alpha · colormap(cam) + (1 − alpha) · image, then PNG.
import { applyColormap, type ColormapName } from './colormap';
import { encodePng, type RgbImage } from './decode';

export function blendOverlay(image: RgbImage, cam: Float32Array, colormap: ColormapName = 'jet', alpha = 0.5): Uint8Array {
  if (cam.length !== image.width * image.height) {
    throw new Error(`overlay: map has ${cam.length} values, image ${image.width}x${image.height}`);
  }
  const heat = applyColormap(cam, colormap);
  const out = new Uint8Array(heat.length);
  for (let i = 0; i < heat.length; i++) out[i] = Math.round(alpha * heat[i] + (1 - alpha) * image.data[i]);
  return out;
}

export async function overlayPng(image: RgbImage, cam: Float32Array, colormap: ColormapName = 'jet', alpha = 0.5): Promise<Buffer> {
  return encodePng(blendOverlay(image, cam, colormap, alpha), image.width, image.height);
}

export async function heatmapPng(cam: Float32Array, width: number, height: number, colormap: ColormapName = 'jet'): Promise<Buffer> {
  return encodePng(applyColormap(cam, colormap), width, height);
}
