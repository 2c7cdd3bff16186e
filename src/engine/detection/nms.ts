// Class-wise greedy non-maximum suppression, as ultralytics runs it after a raw YOLO head
// (torchvision.ops.nms over boxes offset per class): highest score first; a box is dropped when
// it overlaps a kept box of its class by more than `iou`.
import type { Box } from './yolo';

export function boxArea(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

export function boxIou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (boxArea(a) + boxArea(b) - inter);
}

export interface NmsOptions {
  iou: number;
  /** Candidates considered, best first (ultralytics' max_nms). */
  maxCandidates?: number;
  /** Boxes kept (ultralytics' max_det). */
  maxDetections?: number;
}

/** The kept items, best score first (ties in input order). */
export function nonMaxSuppression<T extends { box: Box; class: number; score: number }>(items: readonly T[], o: NmsOptions): T[] {
  const order = items
    .map((_, i) => i)
    .sort((i, j) => items[j].score - items[i].score || i - j)
    .slice(0, o.maxCandidates ?? 30000);
  const kept: T[] = [];
  const limit = o.maxDetections ?? 300;
  for (const i of order) {
    const c = items[i];
    if (kept.some((k) => k.class === c.class && boxIou(k.box, c.box) > o.iou)) continue;
    kept.push(c);
    if (kept.length >= limit) break;
  }
  return kept;
}
