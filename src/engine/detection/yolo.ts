// YOLO-family raw heads (NMS left outside the model, as ultralytics exports them): which output
// layouts are recognised, and the decode of one image's output into scored candidate boxes.
// Boxes here are in model-input pixels; mapping them to the original image is image/geometry's.
import type { Box } from '../image/geometry';

export type { Box };

/**
 * - `yolov8`: [1, 4+K, A], per anchor (cx, cy, w, h) then K class scores (v8, v11).
 * - `yolov5`: [1, A, 5+K], per anchor (cx, cy, w, h, objectness) then K class scores (v5, v7);
 *   a box's score is objectness × class score.
 */
export type YoloLayout = 'yolov8' | 'yolov5';
export const YOLO_LAYOUTS: readonly YoloLayout[] = ['yolov8', 'yolov5'];

/**
 * The layout of an output of shape `dims`, when it is one. Anchors outnumber the per-anchor
 * fields in every real head (8400 against 84), which tells the two apart.
 */
export function yoloLayoutOf(dims: readonly (number | string | null)[] | undefined): YoloLayout | undefined {
  if (!dims || dims.length !== 3 || dims[0] !== 1) return undefined;
  const [, a, b] = dims;
  if (typeof a !== 'number' || typeof b !== 'number') return undefined;
  if (a >= 5 && b > a) return 'yolov8';
  if (b >= 6 && a > b) return 'yolov5';
  return undefined;
}

export interface Candidate {
  /** [x0, y0, x1, y1] in model-input pixels. */
  box: Box;
  class: number;
  score: number;
  anchor: number;
  /** The index in the output of the class score this box came from (the element to explain). */
  index: number[];
}

/** Number of classes and anchors of an output of `dims` in `layout`. */
export function yoloCounts(dims: readonly number[], layout: YoloLayout): { classes: number; anchors: number } {
  return layout === 'yolov8' ? { classes: dims[1] - 4, anchors: dims[2] } : { classes: dims[2] - 5, anchors: dims[1] };
}

const xyxy = (cx: number, cy: number, w: number, h: number): Box => [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];

/**
 * The anchors whose best class scores above `conf` (ultralytics' single-label decode: each
 * anchor keeps its best class; with objectness, obj must pass `conf` and so must obj × class).
 */
export function decodeYolo(data: ArrayLike<number>, dims: readonly number[], layout: YoloLayout, conf: number): Candidate[] {
  const { classes: k, anchors: n } = yoloCounts(dims, layout);
  const out: Candidate[] = [];
  if (layout === 'yolov8') {
    for (let a = 0; a < n; a++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (data[(4 + c) * n + a] > data[(4 + best) * n + a]) best = c;
      const score = data[(4 + best) * n + a];
      if (!(score > conf)) continue;
      out.push({ box: xyxy(data[a], data[n + a], data[2 * n + a], data[3 * n + a]), class: best, score, anchor: a, index: [0, 4 + best, a] });
    }
    return out;
  }
  const stride = 5 + k;
  for (let a = 0; a < n; a++) {
    const row = a * stride;
    const obj = data[row + 4];
    if (!(obj > conf)) continue;
    let best = 0;
    for (let c = 1; c < k; c++) if (data[row + 5 + c] > data[row + 5 + best]) best = c;
    const score = obj * data[row + 5 + best];
    if (!(score > conf)) continue;
    out.push({ box: xyxy(data[row], data[row + 1], data[row + 2], data[row + 3]), class: best, score, anchor: a, index: [0, a, 5 + best] });
  }
  return out;
}
