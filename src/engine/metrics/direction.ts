// Which way each metric points: the panel's metrics table, its compare grid and the CLI's
// comparison table mark the better explanation with it. Pure: the webview bundles it.

/** Metrics where a lower value is the better explanation (deletion: the score falls fast). */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set(['deletion_auc', 'max_sensitivity', 'confidence_drop', 'road_morf', 'sanity_spearman']);

/** +1 when a higher value of `metric` is better, -1 when a lower one is. */
export const betterDirection = (metric: string): 1 | -1 => (LOWER_IS_BETTER.has(metric) ? -1 : 1);
