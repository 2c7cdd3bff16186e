// One target, one gradient run: a TargetSpec (engine/targets) becomes the gradient model's target
// value and the cotangent that picks its scalar, and the run reports which element it explained.
// Classes, top-1, detections and VALUE@… targets all come through here.
import { CamLensError } from '../errors';
import type { LoadedModel } from '../model';
import { runWithTaps, type PlainTensor, type TapRunResult } from '../runtime/tapRunner';
import { elementCotangent, sumCotangent } from '../targets/cotangents';
import { flatIndex, unravelIndex, type ExplainedTarget, type TargetSpec } from '../targets/spec';
import { runGradient, type GradientRun, type GradientRunContext } from './gradientRun';
import type { GradientExtras } from './gradientModel';
import { topIndices } from './predictions';

export interface TargetRunBase extends GradientExtras {
  layers: readonly string[];
  softmax: boolean;
}

/** A target that is not a class of the score output: a VALUE@… target or a detection's class score. */
export interface ValueTarget {
  spec: TargetSpec;
  /** The value's shape when known (saves a forward run). */
  dims?: number[];
  classIndex: number;
  label: string;
  /** Gradient-free methods: the score, read from a forward run the caller made. */
  score?: number;
  /**
   * A scalar that is no one element (a predicted region, a cosine similarity, a CTC
   * log-likelihood): its gradient with respect to `spec.value` at this input, computed by the
   * caller from a forward run, is fed as the cotangent, and `target` is what S.json reports.
   */
  fed?: { cotangent: PlainTensor; target: ExplainedTarget };
}

export interface TargetRun {
  run: GradientRun;
  target: ExplainedTarget;
}

/** One forward run of the model on `input` (the explain-taps slot), reading `taps` too. */
export function forwardRun(model: LoadedModel, ctx: GradientRunContext, input: PlainTensor, taps: readonly string[] = []): Promise<TapRunResult> {
  const options = { taps, stats: false, provider: ctx.provider, purpose: 'explain-taps', signal: ctx.signal };
  return runWithTaps(model, ctx.sessions, { [model.graph.inputs[0]]: input }, options);
}

/**
 * The shape of `value` for input `input`: the static one when the model states it, else from
 * one forward run (a fed cotangent must have the value's exact shape).
 */
export async function valueDims(model: LoadedModel, ctx: GradientRunContext, value: string, input: PlainTensor): Promise<number[]> {
  const shape = model.shapes.get(value)?.shape;
  if (shape && shape.every((d): d is number => typeof d === 'number')) return [...shape];
  return [...(await readValue(model, ctx, value, input)).dims];
}

/** `value` (a graph output or any internal value) for input `input`, from one forward run. */
export async function readValue(model: LoadedModel, ctx: GradientRunContext, value: string, input: PlainTensor): Promise<PlainTensor> {
  if (!model.graph.allValues().includes(value))
    throw new CamLensError('UNKNOWN_VALUE', `No value named "${value}" in the model; \`camlens layers\` lists them.`);
  const isOutput = model.graph.outputs.includes(value);
  const forward = await forwardRun(model, ctx, input, isOutput ? [] : [value]);
  const t = isOutput ? forward.outputs[value] : forward.taps[0]?.tensor;
  if (!t) throw new CamLensError('UNKNOWN_VALUE', `The value "${value}" could not be read from the model.`);
  return t;
}

/**
 * Runs the gradient of one scalar of `spec.value`. `dims`: the value's shape when the caller
 * knows it (a class count, a detector's output), saving the forward run that would find it.
 */
export async function runTarget(
  model: LoadedModel,
  ctx: GradientRunContext,
  base: TargetRunBase,
  input: PlainTensor,
  spec: TargetSpec,
  dims?: readonly number[],
  fed?: ValueTarget['fed'],
): Promise<TargetRun> {
  if (!model.graph.allValues().includes(spec.value)) {
    // autodiff names the closest values; it is asked only once the name is known to be wrong.
    throw new CamLensError('UNKNOWN_VALUE', `No value named "${spec.value}" in the model; \`camlens layers\` lists them.`);
  }
  const gradientSpec = (top1InGraph: boolean) => ({ ...base, output: spec.value, top1InGraph });
  // A fed cotangent is d(scalar)/d(the raw value): never through an added softmax.
  if (fed) return { run: await runGradient(model, ctx, { ...gradientSpec(false), softmax: false }, input, { cotangent: fed.cotangent }), target: fed.target };
  const { select } = spec;
  if (select.kind === 'max') {
    const run = await runGradient(model, ctx, gradientSpec(true), input);
    // The in-graph one-hot marks the largest element of each row; this is the first of row 0.
    const rowLength = run.scoreDims.length > 1 ? run.scores.length / run.scoreDims[0] : run.scores.length;
    const flat = topIndices(run.scores.subarray(0, rowLength), 1)[0];
    return { run, target: { value: spec.value, index: unravelIndex(flat, run.scoreDims), score: run.scores[flat] } };
  }
  const shape = dims ? [...dims] : await valueDims(model, ctx, spec.value, input);
  if (select.kind === 'index') {
    const flat = flatIndex(spec.value, shape, select.index);
    const run = await runGradient(model, ctx, gradientSpec(false), input, { cotangent: elementCotangent(spec.value, shape, select.index) });
    return { run, target: { value: spec.value, index: [...select.index], score: run.scores[flat] } };
  }
  const run = await runGradient(model, ctx, gradientSpec(false), input, { cotangent: sumCotangent(shape) });
  let sum = 0;
  for (let i = 0; i < run.scores.length; i++) sum += run.scores[i];
  return { run, target: { value: spec.value, index: [], score: sum, reduce: 'sum' } };
}
