// Explanation quality metrics (issue 9). `evaluateExplanation` is the one entry point that runs
// models; the rest are pure functions of maps, masks and probabilities.
export * from './localisation';
export * from './groundTruth';
export * from './faithfulness';
export * from './stability';
export * from './randomisation';
export * from './evaluate';
export { spearman, pearson, aucUniform, otsuLevel, rng } from './stats';
