// Saliency (Simonyan et al. 2014; Captum's Saliency): the gradient d score / d input itself,
// signed (S.attr.npy); the map takes its magnitude (registry: abs-sum).
import type { GradientPlan } from './gradientPlan';

export function saliencyPlan(x: Float32Array): GradientPlan {
  let grad: Float32Array | undefined;
  return {
    rows: 1,
    row: () => x,
    take: (_, a) => (grad = a.grad),
    result: () => grad!,
  };
}
