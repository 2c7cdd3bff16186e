// How many onnxruntime runs a request made, and how many input rows they carried (a Score-CAM
// batch of 32 masked images is one run of 32 rows): the cost figure that does not depend on the
// machine. Every session.run of the engine reports here (gradientRun, tapRunner, probe);
// AsyncLocalStorage follows the request through every await, so concurrent requests in one
// worker keep their own counts.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface ModelRunCount {
  runs: number;
  rows: number;
}

const current = new AsyncLocalStorage<ModelRunCount>();

/** Runs `fn`, and counts the model runs made inside it. */
export async function countModelRuns<T>(fn: () => Promise<T>): Promise<{ result: T } & ModelRunCount> {
  const count = { runs: 0, rows: 0 };
  const result = await current.run(count, fn);
  return { result, ...count };
}

/**
 * Each session.run reports itself here with its first input's dims: the leading dim is the rows
 * (the batch of an [N, …] input; 1 for a scalar or a model without inputs). Outside a count it does nothing.
 */
export function recordModelRun(firstInputDims: readonly number[] | undefined): void {
  const rows = firstInputDims?.length ? firstInputDims[0] : 1;
  const count = current.getStore();
  if (!count) return;
  count.runs++;
  count.rows += rows;
}
