// Adapters from the layouts layers really produce to the [N, C, h, w] the CAM math reads.
// Same adapters for activations and gradients (the gradient has the activation's layout).
import { CamLensError } from '../errors';
import { checkTensor, type FeatureMaps, type Float32Tensor } from './tensor';

export interface TokenGrid {
  /** Leading tokens that are not patches (class token, distillation token, registers). */
  extraTokens: number;
  h: number;
  w: number;
}

/**
 * How a token sequence of `tokens` entries maps to a patch grid: N = k + s² with the k
 * non-patch tokens in front (ViT's class token: k = 1, `vit_reshape_transform`). The smallest
 * k ≤ maxExtra that leaves a square wins, so 196 → 14×14 and 197 → class token + 14×14.
 * Give `grid` for non-square grids (then k = tokens − h·w).
 */
export function tokenGrid(tokens: number, options: { grid?: readonly [number, number]; extraTokens?: number; maxExtra?: number } = {}): TokenGrid {
  if (options.grid) {
    const [h, w] = options.grid;
    const k = tokens - h * w;
    if (k < 0 || (options.extraTokens !== undefined && k !== options.extraTokens)) {
      throw new CamLensError(
        'BAD_ARGUMENT',
        `${tokens} tokens do not fit a ${h}x${w} grid` + (options.extraTokens !== undefined ? ` plus ${options.extraTokens} extra token(s)` : ''),
      );
    }
    return { extraTokens: k, h, w };
  }
  const candidates = options.extraTokens !== undefined ? [options.extraTokens] : range(0, Math.min(options.maxExtra ?? 8, tokens - 1) + 1);
  for (const k of candidates) {
    const s = Math.round(Math.sqrt(tokens - k));
    if (s > 0 && s * s === tokens - k) return { extraTokens: k, h: s, w: s };
  }
  throw new CamLensError(
    'BAD_ARGUMENT',
    `a sequence of ${tokens} tokens is not a square patch grid` +
      (options.extraTokens !== undefined ? ` after ${options.extraTokens} extra token(s)` : ' (with up to 8 leading class/register tokens)') +
      '; give the grid size explicitly',
  );
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/** Tokens [N, T, C] → [N, C, h, w], dropping the leading non-patch tokens (row-major patches). */
export function tokensToNchw(t: Float32Tensor, options: Parameters<typeof tokenGrid>[1] = {}): FeatureMaps {
  checkTensor(t, 3, 'token activations');
  const [n, tokens, c] = t.shape;
  const { extraTokens, h, w } = tokenGrid(tokens, options);
  const hw = h * w;
  const out = new Float32Array(n * c * hw);
  const src = t.data;
  for (let b = 0; b < n; b++) {
    const srcBase = (b * tokens + extraTokens) * c;
    const dstBase = b * c * hw;
    for (let p = 0; p < hw; p++) {
      const s = srcBase + p * c;
      for (let ch = 0; ch < c; ch++) out[dstBase + ch * hw + p] = src[s + ch];
    }
  }
  return { data: out, shape: [n, c, h, w] };
}

/** Channels-last [N, H, W, C] (Swin stages, TF exports) → [N, C, H, W]. */
export function nhwcToNchw(t: Float32Tensor): FeatureMaps {
  checkTensor(t, 4, 'NHWC activations');
  const [n, h, w, c] = t.shape;
  const hw = h * w;
  const out = new Float32Array(t.data.length);
  const src = t.data;
  for (let b = 0; b < n; b++) {
    const base = b * hw * c;
    for (let p = 0; p < hw; p++) {
      const s = base + p * c;
      for (let ch = 0; ch < c; ch++) out[base + ch * hw + p] = src[s + ch];
    }
  }
  return { data: out, shape: [n, c, h, w] };
}

/** Inverse of nhwcToNchw, for writing results back in a model's channels-last layout. */
export function nchwToNhwc(t: FeatureMaps): Float32Tensor {
  const [n, c, h, w] = t.shape;
  const hw = h * w;
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < n; b++) {
    const base = b * hw * c;
    for (let ch = 0; ch < c; ch++) {
      const s = base + ch * hw;
      for (let p = 0; p < hw; p++) out[base + p * c + ch] = t.data[s + p];
    }
  }
  return { data: out, shape: [n, h, w, c] };
}

/**
 * Video features [B, C, T, H, W] → [B·T, C, H, W]: one map per frame, frame-major within each
 * clip (image index = b·T + t).
 */
export function videoToFrames(t: Float32Tensor): FeatureMaps {
  checkTensor(t, 5, 'video activations');
  const [b, c, frames, h, w] = t.shape;
  const hw = h * w;
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < b; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let f = 0; f < frames; f++) {
        const s = ((i * c + ch) * frames + f) * hw;
        const d = ((i * frames + f) * c + ch) * hw;
        out.set(t.data.subarray(s, s + hw), d);
      }
    }
  }
  return { data: out, shape: [b * frames, c, h, w] };
}

export type ActivationLayout = 'NCHW' | 'NHWC' | 'tokens' | 'NCTHW';

/** Any supported layout → [N, C, h, w]. */
export function toFeatureMaps(t: Float32Tensor, layout: ActivationLayout, tokenOptions?: Parameters<typeof tokenGrid>[1]): FeatureMaps {
  switch (layout) {
    case 'NCHW':
      checkTensor(t, 4, 'NCHW activations');
      return t as FeatureMaps;
    case 'NHWC':
      return nhwcToNchw(t);
    case 'tokens':
      return tokensToNchw(t, tokenOptions);
    case 'NCTHW':
      return videoToFrames(t);
  }
}

/** The channel axis of a layout in the model's own tensor (AblationCAM overwrites along it). */
export function channelAxis(layout: ActivationLayout): number {
  return layout === 'NCHW' || layout === 'NCTHW' ? 1 : layout === 'NHWC' ? 3 : 2;
}
