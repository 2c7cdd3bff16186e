// Localisation metrics: how well a map [H·W] (values in [0, 1], higher = more relevant) agrees
// with a ground-truth mask [H·W] (1 = object). Definitions follow Quantus (PointingGame,
// RelevanceMassAccuracy, TopKIntersection) and the Score-CAM paper's energy-based pointing game.
import { CamLensError } from '../errors';
import { otsuLevel, rankDescending, toByte } from './stats';

export type ThresholdSpec = { kind: 'fixed'; value: number } | { kind: 'topk'; percent: number } | { kind: 'otsu' };

export const DEFAULT_THRESHOLD: ThresholdSpec = { kind: 'fixed', value: 0.5 };

/** "fixed:0.5", "topk:20", "otsu" → a spec (the CLI's --threshold). */
export function parseThreshold(text: string): ThresholdSpec {
  const [kind, arg] = text.split(':');
  const n = Number(arg);
  if (kind === 'otsu' && arg === undefined) return { kind: 'otsu' };
  if (kind === 'fixed' && arg !== undefined && n >= 0 && n <= 1) return { kind: 'fixed', value: n };
  if (kind === 'topk' && arg !== undefined && n > 0 && n <= 100) return { kind: 'topk', percent: n };
  throw new CamLensError('BAD_ARGUMENT', `Threshold "${text}" not understood: use fixed:<0..1>, topk:<percent> or otsu.`, { usage: true });
}

export const describeThreshold = (t: ThresholdSpec): string => (t.kind === 'fixed' ? `fixed:${t.value}` : t.kind === 'topk' ? `topk:${t.percent}` : 'otsu');

/** The binary map (1 = salient) for a threshold; also the value the cut was made at. */
export function binarise(map: ArrayLike<number>, spec: ThresholdSpec): { mask: Uint8Array; cut: number } {
  const out = new Uint8Array(map.length);
  if (spec.kind === 'fixed') {
    for (let i = 0; i < map.length; i++) out[i] = map[i] >= spec.value ? 1 : 0;
    return { mask: out, cut: spec.value };
  }
  if (spec.kind === 'otsu') {
    const level = otsuLevel(map);
    for (let i = 0; i < map.length; i++) out[i] = toByte(map[i]) > level ? 1 : 0;
    return { mask: out, cut: (level + 1) / 255 };
  }
  const k = Math.max(1, Math.round((spec.percent / 100) * map.length));
  const order = rankDescending(map);
  for (let i = 0; i < k; i++) out[order[i]] = 1;
  return { mask: out, cut: map[order[k - 1]] };
}

function checkSizes(map: ArrayLike<number>, gt: Uint8Array): void {
  if (map.length !== gt.length) throw new CamLensError('BAD_ARGUMENT', `The map has ${map.length} pixels but the ground truth ${gt.length}.`);
}

/** Intersection over union of two binary masks; 0 when both are empty. */
export function iou(a: Uint8Array, b: Uint8Array): number {
  checkSizes(a, b);
  let inter = 0,
    union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] > 0,
      y = b[i] > 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union ? inter / union : 0;
}

/**
 * Pointing game: 1 when the map's maximum (first one in row-major order) lies in the object, or
 * within `tolerance` pixels of it (TorchRay uses 15 px at 224; Quantus 0).
 */
export function pointingGame(map: ArrayLike<number>, gt: Uint8Array, width: number, tolerance = 0): number {
  checkSizes(map, gt);
  let best = 0;
  for (let i = 1; i < map.length; i++) if (map[i] > map[best]) best = i;
  if (gt[best]) return 1;
  if (tolerance <= 0) return 0;
  const bx = best % width,
    by = Math.floor(best / width);
  const height = map.length / width;
  const r = Math.ceil(tolerance);
  for (let y = Math.max(0, by - r); y <= Math.min(height - 1, by + r); y++) {
    for (let x = Math.max(0, bx - r); x <= Math.min(width - 1, bx + r); x++) {
      if (gt[y * width + x] && (x - bx) ** 2 + (y - by) ** 2 <= tolerance * tolerance) return 1;
    }
  }
  return 0;
}

/** Energy-based pointing game / relevance mass accuracy: share of the map's mass inside the object. */
export function energyInMask(map: ArrayLike<number>, gt: Uint8Array): number {
  checkSizes(map, gt);
  let inside = 0,
    total = 0;
  for (let i = 0; i < map.length; i++) {
    const v = Math.max(0, map[i]);
    total += v;
    if (gt[i]) inside += v;
  }
  return total > 0 ? inside / total : 0;
}

/** Top-K intersection: share of the map's k most relevant pixels that lie in the object. */
export function topKIntersection(map: ArrayLike<number>, gt: Uint8Array, k: number): number {
  checkSizes(map, gt);
  const kk = Math.max(1, Math.min(map.length, Math.round(k)));
  const order = rankDescending(map);
  let hits = 0;
  for (let i = 0; i < kk; i++) if (gt[order[i]]) hits++;
  return hits / kk;
}

/** Quantus' default k is 1000 pixels; on small inputs we cap it at a quarter of the image. */
export const defaultTopK = (pixels: number): number => Math.min(1000, Math.max(1, Math.round(pixels / 4)));

export interface LocalisationOptions {
  threshold?: ThresholdSpec;
  topK?: number;
  pointingTolerance?: number;
}

export interface LocalisationScores {
  iou: number;
  pointing_game: number;
  energy_in_mask: number;
  topk_intersection: number;
}

export function localisation(
  map: ArrayLike<number>,
  gt: Uint8Array,
  width: number,
  options: LocalisationOptions = {},
): { scores: LocalisationScores; threshold: string; topK: number } {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const topK = options.topK ?? defaultTopK(map.length);
  return {
    scores: {
      iou: iou(binarise(map, threshold).mask, gt),
      pointing_game: pointingGame(map, gt, width, options.pointingTolerance ?? 0),
      energy_in_mask: energyInMask(map, gt),
      topk_intersection: topKIntersection(map, gt, topK),
    },
    threshold: describeThreshold(threshold),
    topK,
  };
}
