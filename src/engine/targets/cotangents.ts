// The cotangents that select a target's scalar: d(score)/d(value). The gradient model computes
// d(sum(value · cotangent))/d(layer), so the scalar is chosen by what is fed here.
import type { PlainTensor } from '../runtime/tapRunner';
import { flatIndex } from './spec';

/** 1 at `index` of a value of shape `dims`, 0 elsewhere (one element as the target). */
export function elementCotangent(value: string, dims: readonly number[], index: readonly number[]): PlainTensor {
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  data[flatIndex(value, dims, index)] = 1;
  return { dtype: 'float32', dims: [...dims], data };
}

/** All ones: the sum of the value's elements as the target. */
export function sumCotangent(dims: readonly number[]): PlainTensor {
  return { dtype: 'float32', dims: [...dims], data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(1) };
}

/** [rows, k]: row r is one-hot at classes[r] (element [r, classes[r]] of each row at once). */
export function oneHotRows(classes: readonly number[], k: number): PlainTensor {
  const data = new Float32Array(classes.length * k);
  classes.forEach((c, row) => {
    data[row * k + c] = 1;
  });
  return { dtype: 'float32', dims: [classes.length, k], data };
}
