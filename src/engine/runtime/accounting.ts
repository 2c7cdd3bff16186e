// Live counters of what the worker holds. The memory-leak diagnostics read these: a leak is a
// counter or a byte count that grows with every iteration of a workflow.
export interface Counters {
  sessionsAlive: number;
  sessionBytes: number;
  tapHandlesAlive: number;
  tensorsHeld: number;
  tensorBytesHeld: number;
  requestsInFlight: number;
  sessionsCreated: number;
  sessionsReleased: number;
}

export interface MemorySample {
  time: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export const counters: Counters = {
  sessionsAlive: 0,
  sessionBytes: 0,
  tapHandlesAlive: 0,
  tensorsHeld: 0,
  tensorBytesHeld: 0,
  requestsInFlight: 0,
  sessionsCreated: 0,
  sessionsReleased: 0,
};

export function sampleMemory(): MemorySample {
  const m = process.memoryUsage();
  return { time: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}

export function snapshotCounters(): Counters {
  return { ...counters };
}
