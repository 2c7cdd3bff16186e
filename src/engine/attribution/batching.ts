// The model runs behind every input-space attribution. Each method is a stream of rows (path
// points, noisy copies, occluded or masked inputs), each a whole model input, whose gradient or
// score it consumes in order; here rows are stacked `batchSize` at a time into one run. Rows are
// planar [C, H, W] whatever the model's layout: methods never see NHWC.
import { throwIfCancelled } from '../errors';
import type { LoadedModel } from '../model';
import { fromPlanar, toPlanar, type ImageTensor, type Layout } from '../metrics/perturb';
import { batchable } from '../pipeline/channelScores';
import { runGradient, type GradientRunContext } from '../pipeline/gradientRun';
import { softmax } from '../pipeline/predictions';
import { forwardRun } from '../pipeline/targetRun';
import type { ProviderAttempt } from '../runtime/providers';

export interface AttributionContext {
  model: LoadedModel;
  run: GradientRunContext;
  progress?: (done: number, total: number, message?: string) => void;
  /** The output holding the class scores [N, K] and K. */
  output: string;
  classCount: number;
  /** Explain softmax(scores) instead of the logits (--softmax). */
  softmax: boolean;
  layout: Layout;
  /** The input's geometry: c channels of h × w. */
  c: number;
  h: number;
  w: number;
  /** Rows per model run (1 when the model's batch dim is fixed). */
  batchSize: number;
  /** Filled as runs are made: where they ran (explain() counts them: runtime/modelRunCount.ts). */
  provider?: string;
  fallbacks?: readonly ProviderAttempt[];
}

/** Rows consumed in order: `row(i)` is asked for each row of a run before any of its answers is given to `take`. */
export interface RowStream<T> {
  rows: number;
  row(i: number): Float32Array;
  take(i: number, answer: T): void;
}

/** A row's gradient d score / d input (planar, owned by the receiver) and its score. */
export interface RowGradient {
  grad: Float32Array;
  score: number;
}

export function attributionContext(
  model: LoadedModel,
  run: GradientRunContext,
  options: { output: string; classCount: number; softmax: boolean; layout: Layout; dims: readonly number[]; batchSize: number },
  progress?: AttributionContext['progress'],
): AttributionContext {
  const [, a, b, d] = options.dims;
  const [c, h, w] = options.layout === 'NCHW' ? [a, b, d] : [d, a, b];
  const batchSize = batchable(model, model.graph.inputs[0]) ? options.batchSize : 1;
  return {
    model,
    run,
    progress,
    output: options.output,
    classCount: options.classCount,
    softmax: options.softmax,
    layout: options.layout,
    c,
    h,
    w,
    batchSize,
  };
}

const rowTensor = (ctx: AttributionContext, n: number): ImageTensor => ({
  data: new Float32Array(n * ctx.c * ctx.h * ctx.w),
  dims: ctx.layout === 'NCHW' ? [n, ctx.c, ctx.h, ctx.w] : [n, ctx.h, ctx.w, ctx.c],
  layout: ctx.layout,
});

/** Stacks rows [start, start + n) into one model input in the model's layout. */
function stack(ctx: AttributionContext, stream: RowStream<unknown>, start: number, n: number): ImageTensor {
  const t = rowTensor(ctx, n);
  const one = rowTensor(ctx, 1);
  const size = one.data.length;
  for (let j = 0; j < n; j++) t.data.set(fromPlanar(stream.row(start + j), one), j * size);
  return t;
}

async function inBatches(ctx: AttributionContext, stream: RowStream<unknown>, label: string, run: (start: number, n: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < stream.rows; start += ctx.batchSize) {
    throwIfCancelled(ctx.run.signal, `The ${label}`);
    const n = Math.min(ctx.batchSize, stream.rows - start);
    await run(start, n);
    ctx.progress?.(start + n, stream.rows, `${label}: ${start + n}/${stream.rows}`);
  }
}

/** d score(classIndex) / d input for every row of `stream`, from the gradient model whose only wrt is the graph input. */
export async function streamGradients(ctx: AttributionContext, classIndex: number, stream: RowStream<RowGradient>, label: string): Promise<void> {
  const inputName = ctx.model.graph.inputs[0];
  const spec = { output: ctx.output, layers: [inputName], softmax: ctx.softmax, top1InGraph: false };
  const one = rowTensor(ctx, 1);
  const size = one.data.length;
  await inBatches(ctx, stream, label, async (start, n) => {
    const input = stack(ctx, stream, start, n);
    const r = await runGradient(
      ctx.model,
      ctx.run,
      spec,
      { dtype: 'float32', dims: input.dims, data: input.data },
      {
        classes: Array<number>(n).fill(classIndex),
        classCount: ctx.classCount,
      },
    );
    ctx.provider ??= r.provider;
    ctx.fallbacks ??= r.fallbacks;
    const grads = r.gradients[inputName].data as Float32Array;
    for (let j = 0; j < n; j++) {
      // toPlanar returns its argument for NCHW: copy, the run's buffer is reused by the next rows' views.
      const row = Float32Array.from(grads.subarray(j * size, (j + 1) * size));
      stream.take(start + j, { grad: ctx.layout === 'NCHW' ? row : toPlanar({ ...one, data: row }), score: r.scores[j * ctx.classCount + classIndex] });
    }
  });
}

/** The score of class `classIndex` (softmax'd with --softmax) for every row of `stream`: forward runs only. */
export async function streamScores(ctx: AttributionContext, classIndex: number, stream: RowStream<number>, label: string): Promise<void> {
  await inBatches(ctx, stream, label, async (start, n) => {
    const input = stack(ctx, stream, start, n);
    const r = await forwardRun(ctx.model, ctx.run, { dtype: 'float32', dims: input.dims, data: input.data });
    ctx.provider ??= r.provider;
    ctx.fallbacks ??= r.fallbacks;
    const scores = r.outputs[ctx.output].data as Float32Array;
    const k = ctx.classCount;
    for (let j = 0; j < n; j++) {
      const row = scores.subarray(j * k, (j + 1) * k);
      stream.take(start + j, ctx.softmax ? softmax(row)[classIndex] : row[classIndex]);
    }
  });
}

/** The scores of a few whole inputs (the input and its baseline): one run. */
export async function scoresOf(ctx: AttributionContext, classIndex: number, rows: readonly Float32Array[]): Promise<number[]> {
  const out = new Array<number>(rows.length);
  await streamScores(ctx, classIndex, { rows: rows.length, row: (i) => rows[i], take: (i, s) => (out[i] = s) }, 'reference scores');
  return out;
}
