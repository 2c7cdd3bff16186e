// Where a layer's positions lie on the input: the grid of a spatial map, and the grid of a token
// sequence [N, T, C] read from the map it was flattened from (a ViT's patch embedding, a text
// recogniser's 1×40 column strip) or from the input size and one patch stride. Never from T
// alone: 40 tokens are a 1×40 strip just as well as 4 register tokens and a 6×6 grid.
import { CamLensError } from '../errors';
import type { LoadedModel } from '../model';
import type { ShapeDim } from '../onnx/shapes/types';
import { isFloatType } from '../onnx/tensor';
import type { TokenGrid } from '../cam/layout';

/** Leading non-patch tokens (class, distillation, registers) a grid may have in front. */
export const MAX_EXTRA_TOKENS = 8;

export interface SpatialGrid {
  h: ShapeDim;
  w: ShapeDim;
  channels: ShapeDim;
  layout: 'NCHW' | 'NHWC';
  /** [input H / h, input W / w] when both sizes are static. */
  stride?: [number, number];
}

/** [H, W] of the model's image input ([N, C, H, W] or [N, H, W, C] with 1, 3 or 4 channels), when static. */
export function staticInputSize(model: LoadedModel): [number, number] | undefined {
  const shape = model.shapes.get(model.graph.inputs[0])?.shape;
  if (shape?.length !== 4 && shape?.length !== 5) return undefined;
  const channelsFirst = typeof shape[1] === 'number' && shape[1] <= 4;
  const [h, w] = shape.length === 5 ? [shape[3], shape[4]] : channelsFirst ? [shape[2], shape[3]] : [shape[1], shape[2]];
  return typeof h === 'number' && typeof w === 'number' ? [h, w] : undefined;
}

const round = (x: number) => (Math.abs(x - Math.round(x)) < 1e-9 ? Math.round(x) : Math.round(x * 100) / 100);

/**
 * The spatial grid of a 4-D (or 5-D video) float value, or undefined when it is not a map over
 * the image: at least one spatial side > 1 and, with a static input, neither side larger than
 * the input's. NCHW is read first; NHWC when NCHW does not fit (Swin stages, TF exports).
 */
export function spatialGridOf(model: LoadedModel, value: string): SpatialGrid | undefined {
  const type = model.shapes.get(value);
  const shape = type?.shape;
  if (!shape || !isFloatType(type.dtype) || (shape.length !== 4 && shape.length !== 5)) return undefined;
  const input = staticInputSize(model);
  const fits = (h: ShapeDim, w: ShapeDim) => {
    const n = (d: ShapeDim) => (typeof d === 'number' ? d : undefined);
    if (n(h) === 0 || n(w) === 0) return false;
    if ((n(h) ?? 2) <= 1 && (n(w) ?? 2) <= 1) return false;
    return !input || ((n(h) ?? 0) <= input[0] && (n(w) ?? 0) <= input[1]);
  };
  const grid = (h: ShapeDim, w: ShapeDim, channels: ShapeDim, layout: SpatialGrid['layout']): SpatialGrid => ({
    h,
    w,
    channels,
    layout,
    ...(input && typeof h === 'number' && typeof w === 'number' ? { stride: [round(input[0] / h), round(input[1] / w)] as [number, number] } : {}),
  });
  if (shape.length === 5) return fits(shape[3], shape[4]) ? grid(shape[3], shape[4], shape[1], 'NCHW') : undefined;
  // [N, C, 1, 1] and [N, 1, 1, C] are pooled vectors, whichever way they are read.
  const one = (d: ShapeDim) => d === 1;
  if ((one(shape[2]) && one(shape[3])) || (one(shape[1]) && one(shape[2]))) return undefined;
  if (fits(shape[2], shape[3])) return grid(shape[2], shape[3], shape[1], 'NCHW');
  if (fits(shape[1], shape[2])) return grid(shape[1], shape[2], shape[3], 'NHWC');
  return undefined;
}

export interface TokenSource extends TokenGrid {
  /** The map the tokens come from, as `"name" [shape]`. */
  source: string;
  stride?: [number, number];
}

/**
 * The grid of a token sequence [N, T, C] with a static T: the nearest spatial map it is computed
 * from whose h·w is T less up to MAX_EXTRA_TOKENS leading tokens.
 */
export function tokenSourceGrid(model: LoadedModel, value: string): TokenSource | undefined {
  const shape = model.shapes.get(value)?.shape;
  const tokens = shape?.length === 3 ? shape[1] : undefined;
  if (typeof tokens !== 'number') return undefined;
  const { graph } = model;
  const seen = new Set<string>([value]);
  let frontier = [value];
  while (frontier.length) {
    const next: string[] = [];
    for (const v of frontier) {
      const producer = graph.producerOf(v);
      if (!producer) continue;
      for (const u of producer.inputs) {
        if (!u || seen.has(u) || graph.initializers.has(u)) continue;
        seen.add(u);
        next.push(u);
        const g = spatialGridOf(model, u);
        if (g && typeof g.h === 'number' && typeof g.w === 'number') {
          const extra = tokens - g.h * g.w;
          if (extra >= 0 && extra <= MAX_EXTRA_TOKENS) {
            return { extraTokens: extra, h: g.h, w: g.w, source: `"${u}" [${model.shapes.get(u)!.shape!.join(', ')}]`, stride: g.stride };
          }
        }
      }
    }
    frontier = next;
  }
  return undefined;
}

/**
 * The grid of `layer`'s `tokens` tokens when the model ran on an input of `inputSize` [H, W]:
 * from the map the tokens come from (scaled by its stride when the input is not the declared
 * size), else one square patch stride s with (H/s)·(W/s) patches after up to
 * MAX_EXTRA_TOKENS leading tokens. An error rather than a guess when neither fits.
 */
export function tokenGridAt(model: LoadedModel, layer: string, tokens: number, inputSize: readonly [number, number]): TokenGrid {
  const [H, W] = inputSize;
  const source = tokenSourceGrid(model, layer);
  if (source) {
    const [h, w] = source.stride ? [Math.round(H / source.stride[0]), Math.round(W / source.stride[1])] : [source.h, source.w];
    const extra = tokens - h * w;
    if (extra >= 0 && extra <= MAX_EXTRA_TOKENS) return { extraTokens: extra, h, w };
  }
  for (let extra = 0; extra <= Math.min(MAX_EXTRA_TOKENS, tokens - 1); extra++) {
    for (let s = 1; s <= Math.min(H, W); s++) {
      if (H % s === 0 && W % s === 0 && (H / s) * (W / s) === tokens - extra) return { extraTokens: extra, h: H / s, w: W / s };
    }
  }
  throw new CamLensError(
    'BAD_ARGUMENT',
    `Layer "${layer}" holds ${tokens} tokens, which neither come from a spatial map of the model (flattened to tokens) nor form a patch grid of the ${H}x${W} input with one stride (after up to ${MAX_EXTRA_TOKENS} leading tokens); choose a spatial layer (see \`camlens layers\`).`,
  );
}
