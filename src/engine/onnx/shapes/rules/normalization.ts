// Normalisations: Y keeps X's shape; the optional statistics outputs have their own shapes.
import { DataType } from '../../types';
import type { RuleOutput, ShapeRule } from '../context';
import type { ShapeDim } from '../types';

export const batchNormalization: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  const scale = ctx.shape(1);
  if (x && x.length < 2) ctx.fail(`input rank ${x.length} is below 2 ([N, C, ...])`);
  const c = x?.[1] ?? (scale?.length === 1 ? scale[0] : null);
  if (scale && scale.length === 1 && typeof scale[0] === 'number' && typeof c === 'number' && scale[0] !== c) {
    ctx.fail(`input has ${c} channels but scale has ${scale[0]} values`);
  }
  // Training-mode outputs (running/saved mean and variance) are all per-channel vectors.
  const statsType = ctx.dtype(3) || dtype;
  const outputs: RuleOutput[] = [{ dtype, shape: x }];
  for (let i = 1; i < ctx.outputCount; i++) outputs.push({ dtype: statsType, shape: [c] });
  return outputs;
};

export const layerNormalization: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  const outputs: RuleOutput[] = [{ dtype, shape: x }];
  if (ctx.outputCount > 1) {
    let stats: ShapeDim[] | undefined;
    if (x) {
      const axis = ctx.axis(ctx.int('axis', -1), x.length);
      stats = [...x.slice(0, axis), ...x.slice(axis).map(() => 1)];
    }
    // Mean and InvStdDev are computed in stash_type (float unless asked otherwise); ORT keeps
    // double for double inputs.
    const statsType = dtype === DataType.DOUBLE ? DataType.DOUBLE : ctx.int('stash_type', DataType.FLOAT);
    outputs.push({ dtype: statsType, shape: stats }, { dtype: statsType, shape: stats });
  }
  return outputs;
};
