// Several maps over one picture as one picture: the compare grid and the layer sweep strip the
// panel exports. Each tile is the picture with its map laid over by the one blend (blend.ts) at
// the tile's size, captioned underneath with the engine's bitmap font; pure, so Node tests check
// the bytes against blend's.
import { blend, type MapPlane, type Picture } from './blend';
import type { ColormapName } from './colormap';
import { drawText, GLYPH_HEIGHT } from './font';

export interface SheetTile {
  map: MapPlane;
  /** Lines under the tile (cut to its width). */
  caption: string[];
}

export interface SheetOptions {
  /** Tiles per row (default: all in one row). */
  columns?: number;
  /** The longer side of a tile's picture, in pixels (default 160); the picture's aspect is kept. */
  tileSize?: number;
  colormap: ColormapName;
  alpha: number;
  /** Lines above the grid. */
  title?: string[];
}

const GAP = 8;
const LINE = GLYPH_HEIGHT + 2;
const BACKGROUND = 255;
const INK: readonly [number, number, number] = [0, 0, 0];

/** The tiles laid out in rows over a white background: interleaved RGB, width × height. */
export function composeSheet(picture: Picture, tiles: readonly SheetTile[], options: SheetOptions): { rgb: Uint8Array; width: number; height: number } {
  if (!tiles.length) throw new Error('sheet: no tiles to compose');
  const size = options.tileSize ?? 160;
  const scale = size / Math.max(picture.width, picture.height);
  const tw = Math.max(1, Math.round(picture.width * scale));
  const th = Math.max(1, Math.round(picture.height * scale));
  const columns = Math.max(1, Math.min(options.columns ?? tiles.length, tiles.length));
  const rows = Math.ceil(tiles.length / columns);
  const captionLines = Math.max(...tiles.map((t) => t.caption.length));
  const title = options.title ?? [];
  const top = GAP + title.length * LINE;
  const cellH = th + captionLines * LINE + GAP;
  const width = GAP + columns * (tw + GAP);
  const height = top + rows * cellH;
  const rgb = new Uint8Array(width * height * 3).fill(BACKGROUND);
  title.forEach((line, i) => drawText(rgb, width, height, line, GAP, GAP + i * LINE, INK, width - 2 * GAP));
  tiles.forEach((tile, i) => {
    const x0 = GAP + (i % columns) * (tw + GAP);
    const y0 = top + Math.floor(i / columns) * cellH;
    const pixels = blend(picture, tile.map, options.colormap, options.alpha, { width: tw, height: th, channels: 3 });
    for (let y = 0; y < th; y++) rgb.set(pixels.subarray(y * tw * 3, (y + 1) * tw * 3), ((y0 + y) * width + x0) * 3);
    tile.caption.forEach((line, j) => drawText(rgb, width, height, line, x0, y0 + th + 2 + j * LINE, INK, tw));
  });
  return { rgb, width, height };
}
