// Named rule sets: a variant replaces a few entries of the one table (rules/index.ts) and keeps
// every other rule, so a modified backward pass is never a fork of the table.
//
// 'guided' is guided backpropagation as pytorch-grad-cam's GuidedBackpropReLUModel builds it: it
// swaps torch.nn.ReLU modules only, so only Relu nodes are guided here. Clip (ReLU6, a Hardtanh
// in torch) and LeakyRelu keep their true derivatives, as they do there. An exported graph does
// not say whether a Relu came from an nn.ReLU module or from F.relu; every Relu is guided.
import type { GradientRule } from '../rule';
import { GuidedRelu } from './activations';

export const RULE_SETS = ['standard', 'guided'] as const;
export type RuleSetName = (typeof RULE_SETS)[number];

export const RULE_VARIANTS: Readonly<Record<RuleSetName, Readonly<Record<string, GradientRule>>>> = {
  standard: {},
  guided: { Relu: GuidedRelu },
};
