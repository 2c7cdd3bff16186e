// The seam through which batch rows get metrics "when requested" (issue 9). The batch engine
// defines it and the caller passes a provider in (BatchContext.metrics: the worker passes the
// metrics module's); the batched explain calls it once per image × map after the map is made, in
// the worker (where the model and the preprocessed input live). A request for metrics without a
// provider fails with a clear error rather than silently leaving columns out.
import type { LoadedModel } from '../model';
import type { ModelInput } from '../pipeline/input';
import type { SessionCache } from '../runtime/sessions';
import type { BatchBaseParams } from './types';
import type { CamMethodName, Prediction } from '../explainTypes';

export interface BatchMetricsContext {
  model: LoadedModel;
  sessions: SessionCache;
  params: BatchBaseParams;
  /** The image file and its preprocessed input (tensor [1, ...], size, rgb). */
  file: string;
  input: ModelInput;
  method: CamMethodName;
  classIndex: number;
  /** Final map [H*W] in [0,1] at the input size. */
  cam: Float32Array;
  predictions: Prediction[];
  signal?: AbortSignal;
}

export interface BatchMetricsProvider {
  /** Metric names this provider knows (for error messages and --help). */
  readonly names: readonly string[];
  compute(names: readonly string[], ctx: BatchMetricsContext): Promise<Record<string, number>>;
}
