// FinerCAM's runs (the registry's `target: 'finer'`): one forward run gives the logits, which pick
// the classes (given, or top-k) and their comparison classes; then one gradient run per class with
// the contrast target's cotangent (targets/finer.ts) fed at the logits.
import { CamLensError } from '../errors';
import type { LoadedModel } from '../model';
import type { ExplainedTarget } from '../targets/spec';
import { FINER_DEFAULT_ALPHA, finerCotangent, similarClasses } from '../targets/finer';
import { checkClassIndex, runGradient, type GradientRun, type GradientRunContext } from './gradientRun';
import { topIndices } from './predictions';
import { forwardRun } from './targetRun';
import type { PlainTensor } from '../runtime/tapRunner';

export interface FinerOptions {
  /** The comparison classes; default: the 3 whose logits are closest to each target's. */
  classes?: readonly number[];
  alpha?: number;
}

export interface FinerRun {
  run: GradientRun;
  target: ExplainedTarget;
  classIndex: number;
  comparisons: number[];
}

export async function runFinerTargets(
  model: LoadedModel,
  ctx: GradientRunContext,
  spec: { output: string; layers: readonly string[] },
  input: PlainTensor,
  classes: readonly number[] | undefined,
  topk: number,
  options: FinerOptions,
): Promise<{ scores: Float32Array; runs: FinerRun[] }> {
  const forward = await forwardRun(model, ctx, input);
  const logits = forward.outputs[spec.output];
  if (logits.dims.length !== 2) {
    throw new CamLensError('BAD_ARGUMENT', `finercam contrasts classes of [N, K] scores; the output "${spec.output}" has shape [${logits.dims.join(', ')}].`);
  }
  const scores = Float32Array.from(logits.data as ArrayLike<number>);
  const classCount = logits.dims[1];
  classes?.forEach((c) => checkClassIndex(c, classCount));
  options.classes?.forEach((c) => checkClassIndex(c, classCount));
  const alpha = options.alpha ?? FINER_DEFAULT_ALPHA;
  const row0 = scores.subarray(0, classCount);
  const runs: FinerRun[] = [];
  for (const c of classes ?? topIndices(row0, topk)) {
    const comparisons = options.classes ? [...options.classes] : similarClasses(row0, c);
    if (comparisons.length === 0) throw new CamLensError('BAD_ARGUMENT', `finercam needs a class to compare with; the model has ${classCount} class.`);
    const cotangent: PlainTensor = { dtype: 'float32', dims: [...logits.dims], data: finerCotangent(scores, classCount, c, comparisons, alpha) };
    const run = await runGradient(model, ctx, { output: spec.output, layers: spec.layers, softmax: false, top1InGraph: false }, input, { cotangent });
    runs.push({ run, classIndex: c, comparisons, target: { value: spec.output, index: [0, c], score: scores[c] } });
  }
  return { scores, runs };
}
