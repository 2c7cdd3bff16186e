// Time spent waiting for sessions to be built, attributed to the request that waited: an
// explanation reports it as `timings_ms.session`, apart from the run. AsyncLocalStorage follows
// the request through every await, so concurrent requests in one worker keep their own figures.
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<{ ms: number }>();

/** Runs `fn`, and reports how long it waited for session builds. */
export async function measureSessionBuilds<T>(fn: () => Promise<T>): Promise<{ result: T; sessionMs: number }> {
  const meter = { ms: 0 };
  const result = await current.run(meter, fn);
  return { result, sessionMs: meter.ms };
}

/** The session cache reports each wait for a build here. */
export function recordSessionBuild(ms: number): void {
  const meter = current.getStore();
  if (meter) meter.ms += ms;
}

/** Session time recorded so far in the current measurement (0 outside one). */
export const sessionMsSoFar = (): number => current.getStore()?.ms ?? 0;
