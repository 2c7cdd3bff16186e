// Input × Gradient (Shrikumar et al. 2016; Captum's InputXGradient): x ⊙ d score / d x, the
// first-order Taylor term of the score at x against a zero input.
import type { GradientPlan } from './gradientPlan';

export function inputXGradientPlan(x: Float32Array): GradientPlan {
  let out: Float32Array | undefined;
  return {
    rows: 1,
    row: () => x,
    take: (_, a) => (out = Float32Array.from(a.grad, (g, i) => g * x[i])),
    result: () => out!,
  };
}
