// A gradient method as rows of d score / d input to ask for and a way to combine their answers.
// Plain methods run one plan; SmoothGrad / VarGrad (noiseTunnel.ts) run one plan per noisy copy
// of the input through the same batched stream, so any gradient method can be smoothed.
import { streamGradients, type AttributionContext, type RowGradient, type RowStream } from './batching';

export interface GradientPlan extends RowStream<RowGradient> {
  /** The attribution [C, H, W] once every row was taken. */
  result(): Float32Array;
}

export async function runPlan(ctx: AttributionContext, classIndex: number, plan: GradientPlan, label: string): Promise<Float32Array> {
  await streamGradients(ctx, classIndex, plan, label);
  return plan.result();
}
