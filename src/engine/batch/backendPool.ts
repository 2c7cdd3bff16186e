// A batch spread over several workers (the CLI's --workers): each request goes to the worker
// with the fewest requests in flight, so the runner's lanes keep every worker busy. On a CPU,
// two single-threaded workers beat one two-threaded worker: onnxruntime's run holds its
// worker's thread, and while one worker decodes, draws overlays and writes files between its
// runs, the other one's run has the core that would otherwise sit idle (issue 17's note).
import type { BatchBackend } from './types';

export function pooledBackend(backends: readonly BatchBackend[]): BatchBackend {
  if (!backends.length) throw new Error('pooledBackend: no backend');
  if (backends.length === 1) return backends[0];
  const inFlight = backends.map(() => 0);
  return async (params, signal) => {
    const i = inFlight.indexOf(Math.min(...inFlight));
    inFlight[i]++;
    try {
      return await backends[i](params, signal);
    } finally {
      inFlight[i]--;
    }
  };
}
