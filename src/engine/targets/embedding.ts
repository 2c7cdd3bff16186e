// Similarity to a concept (pytorch-grad-cam's SimilarityToConceptTarget): the target is the
// cosine similarity of a value's batch row 0, flattened, to a reference embedding. Its gradient
// with respect to the value, r/(|v||r|) − cos·v/|v|², is fed as the cotangent.
import { CamLensError } from '../errors';

export interface CosineTarget {
  score: number;
  /** d cos / d v, for the `v.length` elements of row 0. */
  gradient: Float64Array;
}

export function cosineTarget(value: string, v: ArrayLike<number>, reference: ArrayLike<number>, referenceName: string): CosineTarget {
  if (v.length !== reference.length)
    throw new CamLensError(
      'BAD_ARGUMENT',
      `The reference embedding ${referenceName} has ${reference.length} elements; "${value}" has ${v.length} per input row: they must match (the same model and value).`,
    );
  let dot = 0;
  let vv = 0;
  let rr = 0;
  for (let i = 0; i < v.length; i++) {
    dot += v[i] * reference[i];
    vv += v[i] * v[i];
    rr += reference[i] * reference[i];
  }
  if (!(rr > 0) || !Number.isFinite(rr))
    throw new CamLensError('BAD_ARGUMENT', `The reference embedding ${referenceName} is zero or not finite: no direction to compare with.`);
  if (!(vv > 0) || !Number.isFinite(vv))
    throw new CamLensError('BAD_ARGUMENT', `"${value}" is zero or not finite for this input: its cosine similarity is undefined.`);
  const nv = Math.sqrt(vv);
  const nr = Math.sqrt(rr);
  const score = dot / (nv * nr);
  const gradient = Float64Array.from({ length: v.length }, (_, i) => reference[i] / (nv * nr) - (score * v[i]) / vv);
  return { score, gradient };
}
