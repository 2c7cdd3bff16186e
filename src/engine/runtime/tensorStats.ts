// Statistics of a captured tensor: the "debug mode" read-out of a tap.
export interface TensorStats {
  shape: number[];
  dtype: string;
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  /** Fraction of exact zeros (dead ReLUs show up here). */
  zeroFraction: number;
  nanCount: number;
  infCount: number;
  /** 64 equal-width bins over [min, max] of the finite values. */
  histogram: { min: number; max: number; counts: number[] };
}

export const HISTOGRAM_BINS = 64;

export function tensorStats(data: ArrayLike<number>, shape: readonly number[], dtype = 'float32'): TensorStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let finite = 0;
  let zeros = 0;
  let nan = 0;
  let inf = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== v) {
      nan++;
      continue;
    }
    if (v === Infinity || v === -Infinity) {
      inf++;
      continue;
    }
    if (v === 0) zeros++;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    finite++;
  }
  const mean = finite ? sum / finite : NaN;
  let sq = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isFinite(v)) sq += (v - mean) * (v - mean);
  }
  const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
  if (finite) {
    const width = max - min;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isFinite(v)) continue;
      const bin = width > 0 ? Math.min(HISTOGRAM_BINS - 1, Math.floor(((v - min) / width) * HISTOGRAM_BINS)) : 0;
      counts[bin]++;
    }
  }
  return {
    shape: [...shape],
    dtype,
    count: data.length,
    min: finite ? min : NaN,
    max: finite ? max : NaN,
    mean,
    std: finite ? Math.sqrt(sq / finite) : NaN,
    zeroFraction: data.length ? zeros / data.length : 0,
    nanCount: nan,
    infCount: inf,
    histogram: { min: finite ? min : NaN, max: finite ? max : NaN, counts },
  };
}
