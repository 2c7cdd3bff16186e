// The one forward + backward run of the gradient model (pipeline/gradientModel.ts), shared by
// explain() and the batch: it leases the session, feeds the target's cotangent and hands back the
// scores and every CAM layer's activation and gradient. A single explanation and a batch lease the
// same slot and variant, so they share one session.
import { CamLensError, throwIfCancelled } from '../errors';
import type { LoadedModel } from '../model';
import type { ProviderAttempt, ProviderOptions } from '../runtime/providers';
import type { SessionCache } from '../runtime/sessions';
import type { DiskCache } from '../runtime/diskCache';
import { recordModelRun } from '../runtime/modelRunCount';
import { lazySessionDiskKey } from '../runtime/modelIdentity';
import { DataType } from '../onnx/types';
import { elemTypeOf, modelKeyOf, toOrt, toPlain, type PlainTensor } from '../runtime/tapRunner';
import { oneHotRows } from '../targets/cotangents';
import { buildGradientModel, gradientVariantKey, type GradientModel, type GradientModelSpec } from './gradientModel';

export interface GradientRunContext {
  sessions: SessionCache;
  provider?: ProviderOptions;
  signal?: AbortSignal;
}

/**
 * What the fed cotangent says (only for a spec with `top1InGraph: false`): one class per input
 * row (a one-hot row each over `classCount` classes), or the cotangent itself (region targets).
 */
export type GradientTarget = { classes: readonly number[]; classCount: number } | { cotangent: PlainTensor };

export interface GradientRun {
  /** The target value's elements, flattened (softmax'd when the spec asks): [N, K] class scores, or any value. */
  scores: Float32Array;
  /** The target value's shape. */
  scoreDims: number[];
  activations: Record<string, PlainTensor>;
  gradients: Record<string, PlainTensor>;
  /** layer → H·A, when the spec asks for Hessian-vector products. */
  hessianVectorProducts?: Record<string, PlainTensor>;
  /** d target / d input (model layout), when the spec asks for it. */
  inputGradient?: PlainTensor;
  provider: string;
  fallbacks: readonly ProviderAttempt[];
}

/**
 * Output names of the gradient models built so far (or read from the disk cache), by model and
 * variant. A session whose names are unknown (its names' cache entry evicted alone) has them
 * rebuilt below.
 */
const builtNames = new Map<string, Omit<GradientModel, 'bytes'>>();

export async function runGradient(
  model: LoadedModel,
  ctx: GradientRunContext,
  spec: GradientModelSpec,
  input: PlainTensor,
  target?: GradientTarget,
): Promise<GradientRun> {
  throwIfCancelled(ctx.signal, 'The gradient run');
  const modelKey = modelKeyOf(model);
  const variantKey = gradientVariantKey(spec);
  const key = `${modelKey}\n${variantKey}`;
  const disk = ctx.sessions.disk;
  // The gradient graph's output names are cached on disk with it: a session opened from the
  // disk cache skips building the graph, and the names are all the run needs of it.
  const diskKey = lazySessionDiskKey(model, disk, variantKey);
  if (!builtNames.has(key)) {
    const known = diskKey();
    const names = known ? disk?.details<Omit<GradientModel, 'bytes'>>(known) : undefined;
    if (names) builtNames.set(key, names);
  }
  const lease = await ctx.sessions.acquire({
    modelKey,
    purpose: spec.top1InGraph ? 'explain-top1' : 'explain',
    variantKey,
    options: ctx.provider ?? {},
    get diskKey() {
      return diskKey();
    },
    build: () => {
      const { bytes, ...names } = buildGradientModel(model, spec);
      builtNames.set(key, names);
      const known = diskKey();
      if (known) saveDetails(disk!, known, names);
      return bytes;
    },
  });
  try {
    let names = builtNames.get(key);
    if (!names) {
      const { bytes: _unused, ...rebuilt } = buildGradientModel(model, spec);
      builtNames.set(key, (names = rebuilt));
    }
    const inputName = model.graph.inputs[0];
    const feeds: Record<string, ReturnType<typeof toOrt>> = { [inputName]: toOrt(input, elemTypeOf(model, inputName)) };
    if (names.cotangent) {
      // A fed-cotangent graph without a target is a caller's mistake, not a user's.
      if (!target) throw new Error('a gradient model with a fed cotangent needs a target');
      // The cotangent has the target's element type (the scores' output; a softmax keeps it).
      const cotangent = 'cotangent' in target ? target.cotangent : oneHotRows(target.classes, target.classCount);
      feeds[names.cotangent] = toOrt(cotangent, elemTypeOf(model, spec.output) || DataType.FLOAT);
    }
    const out = await lease.session.run(feeds);
    recordModelRun(input.dims);
    const activations: Record<string, PlainTensor> = {};
    const gradients: Record<string, PlainTensor> = {};
    for (const layer of spec.layers) {
      activations[layer] = asFloat32Tensor(toPlain(out[names.activations[layer]]));
      gradients[layer] = asFloat32Tensor(toPlain(out[names.gradients[layer]]));
    }
    const hvpNames = names.hessianVectorProducts;
    const hessianVectorProducts = hvpNames ? Object.fromEntries(spec.layers.map((l) => [l, asFloat32Tensor(toPlain(out[hvpNames[l]]))])) : undefined;
    const scores = out[names.scores];
    return {
      scores: asFloat32(toPlain(scores).data),
      scoreDims: [...scores.dims],
      activations,
      gradients,
      ...(hessianVectorProducts ? { hessianVectorProducts } : {}),
      ...(names.inputGradient ? { inputGradient: asFloat32Tensor(toPlain(out[names.inputGradient])) } : {}),
      provider: lease.provider,
      fallbacks: lease.fallbacks,
    };
  } finally {
    lease.release();
  }
}

export { oneHotRows };

/** A failed cache write costs the next process a graph build, not this request its answer. */
function saveDetails(disk: DiskCache, key: string, details: unknown): void {
  try {
    disk.write(key, undefined, details);
  } catch {
    // see above
  }
}

/** Scores as float32 whatever the model's float type (float64 scores are narrowed; CamLens ranks and soft-maxes in float32). */
const asFloat32 = (data: PlainTensor['data']): Float32Array => (data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>));

/** A float64 layer (a float64 model) narrowed to the float32 the CAM methods compute in. */
const asFloat32Tensor = (t: PlainTensor): PlainTensor => (t.data instanceof Float64Array ? { dtype: 'float32', dims: t.dims, data: asFloat32(t.data) } : t);

/**
 * The number of classes of `output` (its last dim) when the model states it, else undefined:
 * a top-1 run needs no count, and the batch checks each row's class only where it is known.
 */
export function staticClassCount(model: LoadedModel, output: string): number | undefined {
  const shape = model.shapes.get(output)?.shape;
  const k = shape?.[shape.length - 1];
  return typeof k === 'number' ? k : undefined;
}

/** The class count where a fixed class must be fed (one-hot): an error that names the output when it is not known. */
export function requireClassCount(model: LoadedModel, output: string): number {
  const k = staticClassCount(model, output);
  if (k === undefined)
    throw new CamLensError('BAD_ARGUMENT', `The number of classes of output "${output}" is not known statically; explain the top-1 class instead.`);
  return k;
}

/** A BAD_ARGUMENT error when class `c` is not one of the model's `k` classes. */
export function checkClassIndex(c: number, k: number): void {
  if (!Number.isInteger(c) || c < 0 || c >= k) throw new CamLensError('BAD_ARGUMENT', `Class ${c} is out of range: the model has ${k} classes (0–${k - 1}).`);
}
