// Metrics for batch export rows: the batch runner asks through its metrics hook
// (batch/metricsHook.ts), and this provider answers with the same numbers `camlens evaluate`
// gives (metric families by name, random-map baselines as random_<key>).
import type { BatchMetricsProvider } from '../batch/metricsHook';
import { evaluateExplanation, METRIC_FAMILIES, type MetricFamily } from './evaluate';

export const batchMetricsProvider: BatchMetricsProvider = {
  names: METRIC_FAMILIES,
  async compute(names, ctx) {
    const result = await evaluateExplanation(
      {
        ...ctx.params,
        input: ctx.file,
        method: ctx.method,
        classIndex: ctx.classIndex,
        metrics: names.length ? (names as MetricFamily[]) : undefined,
      },
      { sessions: ctx.sessions, signal: ctx.signal },
    );
    return result.metrics;
  },
};
