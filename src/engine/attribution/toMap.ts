// An attribution [C, H, W] → the [H, W] map every method hands back: the reduction the method's
// registry entry names (cam/registry.ts, AttributionToMap says why each), then the usual min-max
// normalisation to [0, 1]. The attribution is at the model's input size already, so there is no
// upsampling here; the overlay maps it back onto the original picture as for every method.
import { minMaxInPlace } from '../cam/postprocess';

/**
 * How an input-space attribution [C, H, W] becomes the [H, W] map (the registry names it per method):
 * 'abs-sum' |a| summed over channels (gradients: their sign flips with the input's colour, the
 * magnitude is the evidence); 'positive-mean' the channel mean, ReLU (occlusion: only score drops
 * are evidence for the class); 'mean' the channel mean as is (RISE: an expected score, offset-free).
 */
export type AttributionToMap = 'abs-sum' | 'positive-mean' | 'mean';

export function attributionToMap(attr: Float32Array, c: number, h: number, w: number, how: AttributionToMap): { raw: Float32Array; final: Float32Array } {
  const hw = h * w;
  const raw = new Float32Array(hw);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < hw; p++) raw[p] += how === 'abs-sum' ? Math.abs(attr[ch * hw + p]) : attr[ch * hw + p] / c;
  if (how === 'positive-mean') for (let p = 0; p < hw; p++) raw[p] = Math.max(0, raw[p]);
  const final = Float32Array.from(raw);
  minMaxInPlace(final);
  return { raw, final };
}
