// Reverse-mode autodiff: see gradient.ts.
export { buildGradientGraph, type GradientGraph, type GradientRequest } from './gradient';
export { GRADIENT_RULES, RULE_SETS, RULE_VARIANTS, rulesFor, type RuleSetName } from './rules';
export type { GradientRule, RuleContext } from './rule';
export { appendHessianVectorProducts, type HessianVectorGraph, type HessianVectorRequest } from './hessian';
