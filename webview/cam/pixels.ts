// The CAM panel's canvas pixels without the DOM: the picture, and the overlay blended by the
// engine's blend (the CLI's and "Save overlay"'s), so the panel shows what a saved overlay holds.
// Node tests compare these bytes with the CLI's overlay PNGs.
import { blend, type MapPlane, type Picture } from '../../src/engine/image/blend';
import type { ColormapName, ViewMode } from '../../src/panel/protocol';

/** How the panel shows a map (the webview's ViewSettings without the zoom). */
export interface Look {
  colormap: ColormapName;
  alpha: number;
  mode: ViewMode;
}

/** The opacity of the heatmap in the overlay canvas: the heatmap view is the colormap alone. */
export const shownAlpha = (look: Look): number => (look.mode === 'heatmap' ? 1 : look.alpha);

/** RGBA of the overlay canvas at `width` × `height` (nearest sampling of the picture and the map). */
export function overlayRgba(image: Picture, cam: MapPlane, look: Look, width = image.width, height = image.height): Uint8Array {
  return blend(image, cam, look.colormap, shownAlpha(look), { width, height, channels: 4 });
}

/** RGBA of the plain picture (the side-by-side view's left canvas). */
export function pictureRgba(image: Picture): Uint8Array {
  const n = image.width * image.height;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = image.data[i * 3];
    out[i * 4 + 1] = image.data[i * 3 + 1];
    out[i * 4 + 2] = image.data[i * 3 + 2];
    out[i * 4 + 3] = 255;
  }
  return out;
}
