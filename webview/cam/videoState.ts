// The video part of the CAM panel without the DOM: which frame a key selects, the frame label,
// the temporal-weight bars, and one frame's picture and map out of the clip's arrays (pixels.ts
// draws them). Pure, so node tests can check it.
import type { MapPlane, Picture } from '../../src/engine/image/blend';
import type { DrawnView, ExplainView } from '../../src/panel/protocol';

/** Frames of a view: T for a clip, 1 for an image. */
export const frameCount = (view: Pick<ExplainView, 'video'>): number => view.video?.count ?? 1;

export const clampFrame = (t: number, count: number): number => Math.max(0, Math.min(count - 1, Math.round(Number.isFinite(t) ? t : 0)));

/**
 * The frame a key moves to from `current`, or undefined when the key is not a frame key. The
 * strip's thumbnails take the keys of the frame slider (a range input), so both behave alike:
 * Left/Down back, Right/Up forward, PageUp/PageDown by a tenth of the clip, Home/End the ends.
 */
export function frameForKey(key: string, current: number, count: number): number | undefined {
  const page = Math.max(1, Math.round(count / 10));
  switch (key) {
    case 'ArrowLeft':
    case 'ArrowDown':
      return clampFrame(current - 1, count);
    case 'ArrowRight':
    case 'ArrowUp':
      return clampFrame(current + 1, count);
    case 'PageUp':
      return clampFrame(current + page, count);
    case 'PageDown':
      return clampFrame(current - page, count);
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return undefined;
  }
}

/** The next frame while playing (loops). */
export const nextFrame = (t: number, count: number): number => (t + 1) % count;

export const percent = (w: number): string => `${(w * 100).toFixed(1)}%`;

/** "Frame 3 / 8 · weight 12.5%": frames counted from 1, as people count them. */
export function frameLabel(t: number, count: number, weight: number | undefined): string {
  return `Frame ${t + 1} / ${count}${weight === undefined ? '' : ` · weight ${percent(weight)}`}`;
}

/** Bar heights in [0, 1]: each frame's weight over the largest (all 0 when every weight is 0). */
export function weightBars(weights: readonly number[]): number[] {
  const max = Math.max(0, ...weights);
  return weights.map((w) => (max > 0 ? Math.max(0, w) / max : 0));
}

/** Frame t's RGB and map: views into the clip's [T, H, W, 3] frames and [T, h, w] map. */
export function frameSlice(view: Pick<DrawnView, 'image' | 'cam' | 'video'>, t: number): { image: Picture; cam: MapPlane } {
  const { image, cam, video } = view;
  if (!video) return { image, cam };
  const k = clampFrame(t, video.count);
  const px = image.width * image.height * 3;
  const hw = cam.width * cam.height;
  return {
    image: { data: video.frames.subarray(k * px, (k + 1) * px), width: image.width, height: image.height },
    cam: { data: cam.data.subarray(k * hw, (k + 1) * hw), width: cam.width, height: cam.height },
  };
}

/** A thumbnail's size: the longer side `side` px, the aspect kept, at least 1 px. */
export function thumbnailSize(width: number, height: number, side: number): { width: number; height: number } {
  const s = side / Math.max(width, height);
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}
