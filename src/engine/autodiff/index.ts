// Reverse-mode autodiff: see gradient.ts.
export { buildGradientGraph, type GradientGraph, type GradientRequest } from './gradient';
export { GRADIENT_RULES } from './rules';
export type { GradientRule, RuleContext } from './rule';
