// The one cancellation error of the engine: an AbortError (the worker answers CANCELLED, the
// batch lets it through) that names the work and keeps the aborter's reason.
import { equal, ok, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledError, isCancellation, throwIfCancelled } from '../../src/engine/errors';

describe('cancellation', () => {
  it('does nothing without a signal or before the abort', () => {
    throwIfCancelled(undefined, 'The explanation');
    throwIfCancelled(new AbortController().signal, 'The explanation');
  });

  it("throws an AbortError naming the work, with the signal's reason as its cause", () => {
    const controller = new AbortController();
    controller.abort();
    throws(
      () => throwIfCancelled(controller.signal, 'The batch'),
      (e: unknown) =>
        e instanceof CancelledError && e.name === 'AbortError' && e.message === 'The batch was cancelled.' && (e.cause as Error).name === 'AbortError',
    );
    const withReason = new AbortController();
    const reason = new Error('the user closed the panel');
    withReason.abort(reason);
    throws(
      () => throwIfCancelled(withReason.signal, 'The run'),
      (e: unknown) => e instanceof CancelledError && e.cause === reason,
    );
  });

  it("tells cancellations (ours and the platform's) from failures", () => {
    ok(isCancellation(new CancelledError('The run')));
    ok(isCancellation(new DOMException('stopped', 'AbortError')));
    equal(isCancellation(new Error('The run failed')), false);
    equal(isCancellation(undefined), false);
  });
});
