// Deep Feature Factorization (Collins et al. 2018), as pytorch-grad-cam's `dff`: the layer's
// activations as a [C, N·h·w] matrix (NaN → 0), each channel shifted by its minimum so it is
// non-negative, factorised by NMF into K concepts: W [C, K] (plus the shifts back: each concept's
// embedding, a C-vector) and H [K, h·w] (each concept's map). The pipeline scores every
// embedding with the model's head (pipeline/conceptRuns.ts) to name the concepts.
//
// S.cam.npy is one map, so DFF's final map is the concept that best explains the target class:
// the one whose head output gives the target class the highest softmax probability (ties: the
// lower concept index). Every concept's map is in the explanation's `concepts`.
import { CamLensError } from '../errors';
import { BaseCam, type CamInput } from './base';
import { METHOD_OPTION_SPECS } from './methodOptions';
import { nmf } from './nmf';
import type { ConceptFactorization, FeatureMaps } from './tensor';

/** pytorch-grad-cam's DFF example (`run_dff_on_image`): 5 concepts, their 2 best classes. */
export const DFF_DEFAULT_CONCEPTS: number = METHOD_OPTION_SPECS.concepts.default;
export const DFF_TOP_CLASSES = 2;

/** The concepts of one image's activations [1, C, h, w]. */
export function factorizeActivations(activations: FeatureMaps, concepts: number): ConceptFactorization {
  const [n, c, h, w] = activations.shape;
  if (n !== 1) throw new CamLensError('BAD_ARGUMENT', `DFF factorises one image's activations; got ${n}`);
  const hw = h * w;
  if (!Number.isInteger(concepts) || concepts < 1 || concepts > Math.min(c, hw)) {
    throw new CamLensError('BAD_ARGUMENT', `--concepts: expected 1 to ${Math.min(c, hw)} (the layer has ${c} channels and ${hw} positions), got ${concepts}.`);
  }
  const a = activations.data;
  const x = new Float32Array(c * hw);
  const offset = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    let min = Infinity;
    for (let p = 0; p < hw; p++) {
      const v = a[ch * hw + p];
      min = Math.min(min, v === v ? v : 0);
    }
    offset[ch] = min;
    for (let p = 0; p < hw; p++) {
      const v = a[ch * hw + p];
      x[ch * hw + p] = (v === v ? v : 0) - min;
    }
  }
  const f = nmf(x, c, hw, concepts, { seed: 0 });
  const embeddings = new Float32Array(concepts * c);
  for (let ch = 0; ch < c; ch++) for (let k = 0; k < concepts; k++) embeddings[k * c + ch] = f.w[ch * concepts + k] + offset[ch];
  return { count: concepts, channels: c, embeddings, maps: f.h, h, w, iterations: f.iterations, converged: f.converged };
}

/** The concept that gives class scores `classProbs[k]` (one per concept) its best value. */
export function bestConcept(classProbs: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < classProbs.length; k++) if (classProbs[k] > classProbs[best]) best = k;
  return best;
}

export class DeepFeatureFactorization extends BaseCam {
  readonly id = 'dff';
  readonly referenceName = 'DeepFeatureFactorization';
  readonly needsGradients = false;

  /** The map of the concept that best explains the target class (see the top of the file). */
  protected override camImage(input: CamInput): Float32Array {
    if (!input.concepts) throw new CamLensError('BAD_ARGUMENT', 'DFF needs the factorised concepts and their class scores (pipeline/conceptRuns.ts).');
    const { factorization: f, classProbs } = input.concepts;
    const k = bestConcept(classProbs);
    return f.maps.slice(k * f.h * f.w, (k + 1) * f.h * f.w);
  }
}
