// Every error a user can cause is one of these: a stable `code` for programs (the worker sends it
// across IPC, tests match on it) and a message that names the thing and says what to do.

export type CamLensErrorCode =
  | 'MODEL_READ' // file missing, unreadable, empty
  | 'MODEL_PARSE' // not a valid ONNX protobuf (truncated, random bytes, bad lengths)
  | 'MODEL_INVALID' // parses, but the graph is broken (dangling input, cycle, duplicates)
  | 'EXTERNAL_DATA' // external tensor data missing, out of range, or outside the model folder
  | 'UNSUPPORTED_OP' // an operator CamLens cannot handle here (named, with its node)
  | 'UNKNOWN_VALUE' // a layer/value name that does not exist (with suggestions)
  | 'SHAPE_INFERENCE' // inconsistent shapes found while inferring
  | 'BAD_ARGUMENT'; // a CLI or API argument that makes no sense

export class CamLensError extends Error {
  constructor(
    readonly code: CamLensErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'CamLensError';
  }
}

export const isCamLensError = (e: unknown): e is CamLensError => e instanceof CamLensError;

/**
 * What every engine operation throws when its caller has given up: an error named 'AbortError'
 * (the worker answers it with the CANCELLED code; the batch lets it through instead of failing
 * a row) whose message says what stopped. The signal's reason rides along as `cause`.
 */
export class CancelledError extends Error {
  constructor(what: string, reason?: unknown) {
    super(`${what} was cancelled.`, { cause: reason });
    this.name = 'AbortError';
  }
}

/**
 * `signal.throwIfAborted()`, with the reason mapped to a CancelledError: the bare call throws
 * whatever the aborter passed (by default a DOMException saying only "This operation was
 * aborted"), and callers and tests rely on the AbortError name and a message naming the work.
 */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  try {
    signal?.throwIfAborted();
  } catch (reason) {
    throw new CancelledError(what, reason);
  }
}

/** Whether `e` is a cancellation (ours or a platform AbortError), which must not be reported as a failure. */
export const isCancellation = (e: unknown): boolean => (e as { name?: unknown } | null)?.name === 'AbortError';

/** Levenshtein distance; used to suggest the closest names when a user mistypes one. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

export function closestNames(wanted: string, candidates: Iterable<string>, count = 3): string[] {
  const lower = wanted.toLowerCase();
  return [...candidates]
    .map((name) => ({ name, score: name.toLowerCase().includes(lower) ? 0 : editDistance(lower, name.toLowerCase()) }))
    .sort((x, y) => x.score - y.score || x.name.length - y.name.length)
    .slice(0, count)
    .map((x) => x.name);
}
