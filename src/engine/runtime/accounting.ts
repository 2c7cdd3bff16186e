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

/** What process.memoryUsage() reports. */
export interface ProcessMemory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** What the worker holds now: the counters the leak check judges and telemetry charts. */
export type HeldCounts = Pick<Counters, 'sessionsAlive' | 'sessionBytes' | 'tapHandlesAlive' | 'tensorsHeld' | 'tensorBytesHeld'>;

export interface MemorySample extends ProcessMemory {
  time: number;
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

export function processMemory(): ProcessMemory {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}

export function heldCounts(): HeldCounts {
  const c = counters;
  return {
    sessionsAlive: c.sessionsAlive,
    sessionBytes: c.sessionBytes,
    tapHandlesAlive: c.tapHandlesAlive,
    tensorsHeld: c.tensorsHeld,
    tensorBytesHeld: c.tensorBytesHeld,
  };
}

export function sampleMemory(): MemorySample {
  return { time: Date.now(), ...processMemory() };
}

export function snapshotCounters(): Counters {
  return { ...counters };
}
