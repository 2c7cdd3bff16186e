// FullGrad (Srinivas & Fleuret 2019, as pytorch-grad-cam's FullGrad computes it): the input term
// |x · ∂y/∂x| plus, for every op of the graph that adds a bias per channel, |b_c · ∂y/∂out_c|;
// each channel's map min-max normalised on its own and resized to the input, all of them summed,
// and the sum min-max normalised. Its layers are not chosen: the pipeline hands it every bias of
// the graph (pipeline/biasLayers.ts) and the input.
//
// Resizing is linear and keeps constants, so the sum of the resized normalised channels is the
// resize of their sum: each layer's channels are summed at its own resolution (lowres) and resized
// once, which is what makes FullGrad on ResNet-sized graphs cost one resize per layer, not per channel.
import { CamLensError } from '../errors';
import { BaseCam, type CamInput, type CamLowres, type CamOptions, type CombinedMaps } from './base';
import { MINMAX_EPS, minMaxInPlace, resizeBilinear, type Size } from './postprocess';
import type { Maps } from './tensor';

export class FullGrad extends BaseCam {
  readonly id = 'fullgrad';
  readonly referenceName = 'FullGrad';
  readonly needsGradients = true;

  /** Σ_c minmax(|b_c · G_c|) (or minmax(|A_c · G_c|) for the input), [N, h, w]. */
  override lowres(input: CamInput, options: CamOptions = {}): CamLowres {
    if (options.eigenSmooth)
      throw new CamLensError('BAD_ARGUMENT', 'fullgrad: --eigen-smooth is not available (FullGrad sums normalised bias terms, it has no channel weights).');
    this.validate(input);
    const [n, c, h, w] = input.activations.shape;
    const { bias } = input;
    if (bias && bias.length !== c) throw new CamLensError('BAD_ARGUMENT', `fullgrad: the bias has ${bias.length} values but the layer ${c} channels`);
    const a = input.activations.data;
    const g = input.gradients!.data;
    const hw = h * w;
    const plane = new Float64Array(hw);
    const out = new Float32Array(n * hw);
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        const o = (b * c + ch) * hw;
        let lo = Infinity;
        let hi = -Infinity;
        for (let p = 0; p < hw; p++) {
          const v = Math.abs((bias ? bias[ch] : a[o + p]) * g[o + p]);
          plane[p] = v;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        const scale = 1 / (MINMAX_EPS + (hi - lo));
        for (let p = 0; p < hw; p++) out[b * hw + p] += (plane[p] - lo) * scale;
      }
    }
    return { lowres: { data: out, shape: [n, h, w] } };
  }

  /** The layers' maps resized to the input and summed (the raw map), then min-max normalised. */
  override combine(lowres: readonly Maps[], size: Size): CombinedMaps {
    const sum = resizeBilinear(lowres[0], size).data;
    for (const layer of lowres.slice(1)) {
      const up = resizeBilinear(layer, size).data;
      for (let i = 0; i < sum.length; i++) sum[i] += up[i];
    }
    const [H, W] = size;
    const n = lowres[0].shape[0];
    const raw: Maps = { data: Float32Array.from(sum), shape: [n, H, W] };
    for (let b = 0; b < n; b++) minMaxInPlace(sum, b * H * W, H * W);
    return { final: { data: sum, shape: [n, H, W] }, raw };
  }
}
