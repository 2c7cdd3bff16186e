// MaxPool, AveragePool, LpPool (windowed) and the global pools.
import { DataType } from '../../types';
import type { RuleOutput, ShapeRule } from '../context';
import type { ShapeDim } from '../types';
import { readWindow, windowOutput } from './window';

export const pool: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  let shape: ShapeDim[] | undefined;
  if (x) {
    if (x.length < 3) ctx.fail(`input rank ${x.length} is below 3 ([N, C, spatial...])`);
    const spatial = x.length - 2;
    if (!ctx.hasAttr('kernel_shape')) ctx.fail('attribute "kernel_shape" is missing');
    const win = readWindow(ctx, spatial)!;
    shape = [x[0], x[1]];
    for (let i = 0; i < spatial; i++) shape.push(windowOutput(ctx, x[i + 2], win, i, spatial));
  }
  const outputs: RuleOutput[] = [{ dtype, shape }];
  // MaxPool's optional second output: flat indices of the maxima.
  if (ctx.opType === 'MaxPool' && ctx.outputCount > 1) outputs.push({ dtype: DataType.INT64, shape });
  return outputs;
};

export const globalPool: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  if (x && x.length < 3) ctx.fail(`input rank ${x.length} is below 3 ([N, C, spatial...])`);
  return { dtype: ctx.dtype(0), shape: x ? [x[0], x[1], ...x.slice(2).map(() => 1)] : undefined };
};
