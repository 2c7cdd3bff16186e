// Occlusion (Zeiler & Fergus 2014; Captum's Occlusion): a `window` × `window` patch of every
// channel is replaced by the baseline's pixels, sliding by `stride`; each pixel's attribution is
// the mean over the patches covering it of f(x) − f(x occluded). Unlike Captum, a last patch flush
// with the right/bottom edge is added when the stride does not land there, so no pixel is left
// without a patch (Captum leaves such a border at 0). Every channel gets the same value.
import { METHOD_OPTION_SPECS } from '../cam/methodOptions';
import { streamScores, type AttributionContext } from './batching';

export const DEFAULT_OCCLUSION_WINDOW: number = METHOD_OPTION_SPECS.window.default;
export const DEFAULT_OCCLUSION_STRIDE: number = METHOD_OPTION_SPECS.stride.default;

/** Patch origins along a side of length n: 0, s, 2s, … and n − window when the steps miss it. */
export function patchOrigins(n: number, window: number, stride: number): number[] {
  const last = Math.max(0, n - window);
  const out: number[] = [];
  for (let p = 0; p <= last; p += stride) out.push(p);
  if (out[out.length - 1] !== last) out.push(last);
  return out;
}

export async function occlusion(
  ctx: AttributionContext,
  x: Float32Array,
  classIndex: number,
  fx: number,
  baseline: Float32Array,
  options: { window?: number; stride?: number } = {},
): Promise<{ attr: Float32Array; patches: number }> {
  const { c, h, w } = ctx;
  const win = options.window ?? DEFAULT_OCCLUSION_WINDOW;
  const stride = options.stride ?? DEFAULT_OCCLUSION_STRIDE;
  const [wh, ww] = [Math.min(win, h), Math.min(win, w)];
  const ys = patchOrigins(h, wh, stride);
  const xs = patchOrigins(w, ww, stride);
  const patches = ys.flatMap((y) => xs.map((x0) => [y, x0] as const));
  const sum = new Float64Array(h * w);
  const count = new Uint32Array(h * w);
  const each = (i: number, visit: (p: number) => void) => {
    const [y0, x0] = patches[i];
    for (let y = y0; y < y0 + wh; y++) for (let xx = x0; xx < x0 + ww; xx++) visit(y * w + xx);
  };
  await streamScores(
    ctx,
    classIndex,
    {
      rows: patches.length,
      row: (i) => {
        const out = Float32Array.from(x);
        each(i, (p) => {
          for (let ch = 0; ch < c; ch++) out[ch * h * w + p] = baseline[ch * h * w + p];
        });
        return out;
      },
      take: (i, score) =>
        each(i, (p) => {
          sum[p] += fx - score;
          count[p]++;
        }),
    },
    'Occlusion',
  );
  const attr = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) attr[ch * h * w + p] = sum[p] / count[p];
  return { attr, patches: patches.length };
}
