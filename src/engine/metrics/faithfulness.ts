// Faithfulness without ground truth. Every metric is planned as a list of perturbed inputs;
// the caller scores all of them in as few batched model runs as it can, then `finish` turns the
// target-class probabilities into numbers. Definitions:
//   deletion / insertion (RISE, Petsiuk et al. 2018): remove (insert) the most salient pixels in
//     `steps` equal steps, replacing them with (taking them from) a baseline; AUC of the
//     probability curve over the removed fraction in [0, 1] (trapezoid).
//   confidence change (pytorch-grad-cam CamMultImageConfidenceChange): p(x·map) − p(x);
//     confidence_drop = max(0, −change) (DropInConfidence), confidence_increase = change > 0.
//   region confidence: p(x with only the thresholded map region kept, the rest = mean baseline).
//   ROAD (Rong et al. 2022, pytorch-grad-cam's ROADMostRelevantFirst / LeastRelevantFirst): at
//     percentile q, MoRF imputes the pixels with map ≥ q-th percentile, LeRF those with map ≤ the
//     (100 − q)-th; score p(imputed) − p(x), averaged over the percentiles; road_combined =
//     (LeRF − MoRF) / 2 (pytorch-grad-cam's ROADCombined).
import { binarise, describeThreshold, DEFAULT_THRESHOLD, type ThresholdSpec } from './localisation';
import {
  baselinePlanar,
  defaultBlurSigma,
  fromPlanar,
  geometry,
  mixPlanar,
  multiplyPlanar,
  noisyLinearImpute,
  toPlanar,
  type BaselineKind,
  type ImageTensor,
} from './perturb';
import { aucUniform, mean, percentile, rankDescending, rng } from './stats';

export interface FaithfulnessOptions {
  /** Deletion/insertion steps (default 20: 21 points). */
  steps?: number;
  deletionBaseline?: BaselineKind;
  insertionBaseline?: BaselineKind;
  blurSigma?: number;
  /** Curves (deletion/insertion); default true. */
  curves?: boolean;
  /** Confidence change and region confidence; default true. */
  confidence?: boolean;
  /** Threshold of the region kept for region_confidence. */
  threshold?: ThresholdSpec;
  /** ROAD at these percentiles (none by default: it is the slowest metric). */
  roadPercentiles?: number[];
  roadNoise?: number;
  seed?: number;
}

export interface FaithfulnessOutcome {
  scores: Record<string, number>;
  curves: { deletion?: number[]; insertion?: number[] };
  notes: Record<string, string | number>;
}

export interface FaithfulnessPlan {
  /** Perturbed inputs in the tensor's own layout; index 0 is the unperturbed input. */
  images: Float32Array[];
  finish(probabilities: ArrayLike<number>): FaithfulnessOutcome;
}

export const DEFAULT_STEPS = 20;
export const DEFAULT_ROAD_PERCENTILES = [10, 20, 30, 40, 50, 60, 70, 80, 90];

export function planFaithfulness(input: ImageTensor, map: ArrayLike<number>, options: FaithfulnessOptions = {}): FaithfulnessPlan {
  const { c, h, w } = geometry(input);
  const hw = h * w;
  const x = toPlanar(input);
  const images: Float32Array[] = [input.data];
  const add = (planar: Float32Array) => {
    images.push(fromPlanar(planar, input));
    return images.length - 1;
  };
  const notes: Record<string, string | number> = {};
  const steps = Math.max(1, options.steps ?? DEFAULT_STEPS);
  const sigma = options.blurSigma ?? defaultBlurSigma(h, w);
  const baselines = new Map<BaselineKind, Float32Array>();
  const baseline = (k: BaselineKind) => baselines.get(k) ?? baselines.set(k, baselinePlanar(k, x, c, h, w, sigma)).get(k)!;
  const order = rankDescending(map);

  let deletion: number[] | undefined, insertion: number[] | undefined;
  if (options.curves !== false) {
    const del = options.deletionBaseline ?? 'mean';
    const ins = options.insertionBaseline ?? 'blur';
    notes.steps = steps;
    notes.deletion_baseline = del;
    notes.insertion_baseline = ins;
    if (del === 'blur' || ins === 'blur') notes.blur_sigma = Math.round(sigma * 1000) / 1000;
    deletion = [];
    insertion = [];
    const chosen = new Uint8Array(hw);
    let filled = 0;
    for (let s = 0; s <= steps; s++) {
      const upto = Math.round((s * hw) / steps);
      while (filled < upto) chosen[order[filled++]] = 1;
      deletion.push(add(mixPlanar(x, baseline(del), chosen, c)));
      insertion.push(add(mixPlanar(baseline(ins), x, chosen, c)));
    }
  }

  let mult: number | undefined, region: number | undefined;
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  if (options.confidence !== false) {
    mult = add(multiplyPlanar(x, map, c));
    region = add(mixPlanar(baseline('mean'), x, binarise(map, threshold).mask, c));
    notes.region_threshold = describeThreshold(threshold);
  }

  const road: Array<{ q: number; morf: number; lerf: number }> = [];
  if (options.roadPercentiles?.length) {
    const noise = options.roadNoise ?? 0.01;
    const uniform = rng(options.seed ?? 0);
    notes.road_percentiles = options.roadPercentiles.join(',');
    notes.road_noise = noise;
    for (const q of options.roadPercentiles) {
      const hi = percentile(map, q);
      const lo = percentile(map, 100 - q);
      const morfMask = Uint8Array.from({ length: hw }, (_, i) => (map[i] >= hi ? 1 : 0));
      const lerfMask = Uint8Array.from({ length: hw }, (_, i) => (map[i] <= lo ? 1 : 0));
      road.push({
        q,
        morf: add(noisyLinearImpute(x, c, h, w, morfMask, noise, uniform)),
        lerf: add(noisyLinearImpute(x, c, h, w, lerfMask, noise, uniform)),
      });
    }
  }

  return {
    images,
    finish(p) {
      const scores: Record<string, number> = {};
      const curves: FaithfulnessOutcome['curves'] = {};
      const base = p[0];
      if (deletion && insertion) {
        curves.deletion = deletion.map((i) => p[i]);
        curves.insertion = insertion.map((i) => p[i]);
        scores.deletion_auc = aucUniform(curves.deletion);
        scores.insertion_auc = aucUniform(curves.insertion);
      }
      if (mult !== undefined && region !== undefined) {
        const change = p[mult] - base;
        scores.confidence_change = change;
        scores.confidence_drop = Math.max(0, -change);
        scores.confidence_increase = change > 0 ? 1 : 0;
        scores.region_confidence = p[region];
      }
      if (road.length) {
        const morf = mean(road.map((r) => p[r.morf] - base));
        const lerf = mean(road.map((r) => p[r.lerf] - base));
        scores.road_morf = morf;
        scores.road_lerf = lerf;
        scores.road_combined = (lerf - morf) / 2;
      }
      return { scores, curves, notes };
    },
  };
}
