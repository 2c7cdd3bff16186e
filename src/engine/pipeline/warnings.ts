// Results that are probably meaningless carry a warning (DESIGN.md: never a silent wrong
// answer): an all-zero, constant or non-finite map or gradient, each with its likely cause.
// explain and batch attach them to the result; S.json, stderr and the panel's banner show them.
import type { ExplainWarning } from '../explainTypes';
import type { ModelInput } from './input';

interface Spread {
  finite: boolean;
  min: number;
  max: number;
  zero: boolean;
}

function spread(data: ArrayLike<number>): Spread {
  // The map (a few thousand values at most): its range is reported, so min and max, one pass.
  // A NaN makes both NaN (and stays); infinities show in min/max.
  let min = Infinity,
    max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const nan = min !== min;
  if (!data.length) return { finite: true, min, max, zero: true };
  const finite = !nan && min > -Infinity && max < Infinity;
  if (finite) return { finite, min, max, zero: min === 0 && max === 0 };
  // Rare: the finite values' range, as the callers report it, in a second pass.
  let fmin = Infinity,
    fmax = -Infinity,
    zero = true;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) continue;
    if (v < fmin) fmin = v;
    if (v > fmax) fmax = v;
    if (v !== 0) zero = false;
  }
  return { finite: false, min: fmin, max: fmax, zero };
}

/**
 * Whether a layer's activation or gradient is all finite, and all zero. These are read for every
 * explanation (100 k values at 224², a million at 512²), so this is part of the tail after the
 * run: a sum in four lanes decides finiteness (NaN or ±Infinity in the values makes it non-finite;
 * a non-finite sum of finite values, an overflow of float64s, is settled value by value), and
 * "all zero" stops at the first non-zero value, which is near the start for a layer that fires.
 * ResNet-50's layer4 at 224², activation and gradient: 0.12 ms against 0.40 ms for a min/max pass
 * (in isolation; 0.7–0.9 ms in a batch worker's profile).
 */
function finiteAndZero(data: ArrayLike<number>): { finite: boolean; zero: boolean } {
  const n = data.length;
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0,
    i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += data[i];
    s1 += data[i + 1];
    s2 += data[i + 2];
    s3 += data[i + 3];
  }
  for (; i < n; i++) s0 += data[i];
  let finite = Number.isFinite(s0 + s1 + s2 + s3);
  if (!finite) {
    finite = true;
    for (let k = 0; k < n && finite; k++) finite = Number.isFinite(data[k]);
  }
  let zero = true;
  for (let k = 0; k < n && zero; k++) zero = data[k] === 0;
  return { finite, zero };
}

/** Constant within float32 rounding of its magnitude. */
const isConstant = (s: Spread) => s.max - s.min <= 1e-6 * Math.max(Math.abs(s.max), Math.abs(s.min), 1e-30);

export interface MapCheck {
  layer: string;
  classIndex: number;
  /** The layer's map before ReLU and normalisation. */
  lowres: ArrayLike<number>;
  /** The layer's gradient (gradient methods). */
  gradient?: ArrayLike<number>;
  activation?: ArrayLike<number>;
}

/**
 * The warnings of one layer's map for one class; the first cause found is reported, not its
 * consequences too. The activation and gradient are read only when the map is degenerate, to name
 * why: a map that shows something needs no cause (and an ablation or score map is fine whatever
 * the gradient is), and reading them was 0.1 ms of every panel request at 224² (issue 17).
 */
export function mapWarnings(c: MapCheck): ExplainWarning[] {
  const m = spread(c.lowres);
  if (m.finite && m.max > 0 && !isConstant(m)) return [];
  const where = `class ${c.classIndex}, layer "${c.layer}"`;
  if (c.activation) {
    const a = finiteAndZero(c.activation);
    if (!a.finite) {
      return [
        {
          code: 'non-finite-activation',
          message: `${where}: the activation holds NaN or infinite values; likely cause: an overflow in the model (float16 range, a division by zero) or a bad input.`,
        },
      ];
    }
    if (a.zero) {
      return [
        {
          code: 'zero-activation',
          message: `${where}: the layer's output is zero everywhere, so the map is empty; likely cause: dead ReLUs for this input, or a value the model multiplies by 0. Try an earlier layer.`,
        },
      ];
    }
  }
  if (c.gradient) {
    const g = finiteAndZero(c.gradient);
    if (!g.finite) {
      return [
        {
          code: 'non-finite-gradient',
          message: `${where}: the gradient holds NaN or infinite values; likely cause: an overflow in the backward pass (float16 range, a log or division at 0 in the target).`,
        },
      ];
    }
    if (g.zero) {
      return [
        {
          code: 'zero-gradient',
          message: `${where}: the gradient is zero everywhere, so the map is empty; likely cause: the target does not depend on this layer through differentiable ops (a quantizer, ArgMax, a Cast to integers, a comparison, or saturated ReLU/Clip units cut it). Try a layer nearer the output or another target.`,
        },
      ];
    }
  }
  if (!m.finite) {
    return [{ code: 'non-finite-map', message: `${where}: the map holds NaN or infinite values; likely cause: overflowing activations or gradients.` }];
  }
  if (m.max <= 0) {
    return [
      {
        code: 'zero-map',
        message: `${where}: the map is zero everywhere after ReLU (nothing at this layer speaks for the target; the evidence is negative or absent); likely cause: a target the model does not predict, or a layer too close to the output. Try the top class or an earlier layer.`,
      },
    ];
  }
  if (isConstant(m)) {
    return [
      {
        code: 'constant-map',
        message: `${where}: the map is constant (${m.max.toPrecision(3)} everywhere), so it shows no location; likely cause: a layer without spatial variation (after global pooling, or a broadcast value).`,
      },
    ];
  }
  return [];
}

/** Warnings as the CLI prints them on stderr. */
export const warningLines = (input: string, warnings: readonly ExplainWarning[]) => warnings.map((w) => `warning: ${input}: ${w.message}\n`);

/** Above this many pixels, an image a model with open H/W runs at its own size gets a warning. */
export const LARGE_INPUT_PIXELS = 1024 * 1024;

/**
 * A model whose input leaves height and width open runs each image at the image's own size
 * (README: input.size, else the model's fixed dims, else the image's). For a photo that is
 * megapixels through a network trained at 224²: seconds to minutes and gigabytes, which the user
 * should hear about with the way to change it, not find out from the clock.
 */
export function inputWarnings(input: Pick<ModelInput, 'name' | 'size' | 'sizeFromImage'>): ExplainWarning[] {
  const [h, w] = input.size;
  if (!input.sizeFromImage || h * w <= LARGE_INPUT_PIXELS) return [];
  const megapixels = ((h * w) / 1e6).toFixed(1);
  return [
    {
      code: 'input-size-from-image',
      message: `The model input "${input.name}" leaves its height and width open and no "input.size" is set, so the image runs at its own size, ${w}×${h} (${megapixels} megapixels, ${Math.round((h * w) / (224 * 224))}× the pixels of 224×224): slow and memory-hungry. Set "input.size" (e.g. [224, 224]) in the model's .camlens.json config to resize it.`,
    },
  ];
}
