// The heatmap over the picture, as pytorch-grad-cam's show_cam_on_image does it:
// out = round(alpha · colormap(cam) + (1 − alpha) · pixel). The one blend of CamLens: the CLI's
// and the worker's overlay PNGs, the video frames, the panel's canvas and its thumbnails all
// call it, so what the panel shows is what a saved overlay holds. Pure (no DOM, no Node): the
// webview bundles it. alpha 1 is the heatmap alone, alpha 0 the picture alone.
import { colormapIndex, colormapTable, type ColormapName } from './colormap';

/** Interleaved 8-bit RGB, row-major. */
export interface Picture {
  data: Uint8Array;
  width: number;
  height: number;
}

/** One map plane, row-major; values in [0, 1] (others are clamped, NaN is 0). */
export interface MapPlane {
  data: Float32Array;
  width: number;
  height: number;
}

/** What to draw into: its size (nearest sampling of the picture and the map) and 3 (RGB) or 4 (RGBA) channels. */
export interface BlendTarget {
  width: number;
  height: number;
  channels: 3 | 4;
}

/**
 * round(alpha·colour + (1 − alpha)·pixel) for every colour channel of the colormap (256 × 3) and
 * every pixel value (256): 196,608 bytes, the same float64 arithmetic as the direct formula. The
 * last one is kept: explanations repeat the same colormap and alpha, and a panel redraws with them.
 */
let lastTable: { colormap: ColormapName; alpha: number; table: Uint8Array } | undefined;

function blendTable(colormap: ColormapName, alpha: number): Uint8Array {
  if (lastTable?.colormap === colormap && Object.is(lastTable.alpha, alpha)) return lastTable.table;
  const colours = colormapTable(colormap);
  const table = new Uint8Array(colours.length * 256);
  for (let c = 0; c < colours.length; c++) {
    const heat = alpha * colours[c];
    for (let v = 0; v < 256; v++) table[c * 256 + v] = Math.round(heat + (1 - alpha) * v);
  }
  lastTable = { colormap, alpha, table };
  return table;
}

export function blend(image: Picture, cam: MapPlane, colormap: ColormapName, alpha: number, target?: BlendTarget): Uint8Array {
  if (cam.data.length !== cam.width * cam.height) {
    throw new Error(`blend: map has ${cam.data.length} values, not ${cam.width}x${cam.height}`);
  }
  if (image.data.length < image.width * image.height * 3) {
    throw new Error(`blend: picture has ${image.data.length} bytes, not ${image.width}x${image.height} RGB`);
  }
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`blend: alpha must be in [0, 1], got ${alpha}`);
  const width = target?.width ?? image.width;
  const height = target?.height ?? image.height;
  const channels = target?.channels ?? 3;
  // Table lookups only: this runs on every explanation, and on every redraw of the panel.
  const table = blendTable(colormap, alpha);
  const src = image.data;
  const out = new Uint8Array(width * height * channels);
  const same = width === image.width && height === image.height && width === cam.width && height === cam.height;
  if (same && channels === 3) {
    for (let i = 0, j = 0; i < cam.data.length; i++, j += 3) {
      const k = colormapIndex(cam.data[i]) * 768;
      out[j] = table[k + src[j]];
      out[j + 1] = table[k + 256 + src[j + 1]];
      out[j + 2] = table[k + 512 + src[j + 2]];
    }
    return out;
  }
  for (let y = 0; y < height; y++) {
    const iy = Math.min(image.height - 1, Math.floor((y * image.height) / height));
    const cy = Math.min(cam.height - 1, Math.floor((y * cam.height) / height));
    for (let x = 0; x < width; x++) {
      const ix = Math.min(image.width - 1, Math.floor((x * image.width) / width));
      const cx = Math.min(cam.width - 1, Math.floor((x * cam.width) / width));
      const k = colormapIndex(cam.data[cy * cam.width + cx]) * 768;
      const p = (iy * image.width + ix) * 3;
      const o = (y * width + x) * channels;
      out[o] = table[k + src[p]];
      out[o + 1] = table[k + 256 + src[p + 1]];
      out[o + 2] = table[k + 512 + src[p + 2]];
      if (channels === 4) out[o + 3] = 255;
    }
  }
  return out;
}

/** One overlay per frame: `cam` holds T maps of width × height, frame-major ([T, h, w]). */
export function blendFrames(frames: readonly Picture[], cam: Float32Array, width: number, height: number, colormap: ColormapName, alpha: number): Uint8Array[] {
  const hw = width * height;
  if (cam.length !== hw * frames.length)
    throw new Error(`blend: ${frames.length} frames need ${frames.length}x${width}x${height} map values, got ${cam.length}`);
  return frames.map((f, t) => blend(f, { data: cam.subarray(t * hw, (t + 1) * hw), width, height }, colormap, alpha));
}

/** Pictures of one size laid left to right: one [H, W·T] RGB image (a clip's strip). */
export function stripRgb(frames: readonly Uint8Array[], width: number, height: number): Uint8Array {
  const T = frames.length;
  const out = new Uint8Array(height * width * T * 3);
  const row = width * 3;
  frames.forEach((f, t) => {
    for (let y = 0; y < height; y++) out.set(f.subarray(y * row, (y + 1) * row), (y * T + t) * row);
  });
  return out;
}
