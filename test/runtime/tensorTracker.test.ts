// The worker's tensor counter (engine/runtime/tensorTracker.ts), which the leak check judges: a
// tensor is counted from its registration until the collector frees it, and not a reading longer.
import { describe, it } from 'node:test';
import { equal, ok } from 'node:assert/strict';
import { bufferBytes, trackTensors } from '../../src/engine/runtime/tensorTracker';
import { heldCounts } from '../../src/engine/runtime/accounting';
import { forcedGc, settle } from '../../src/engine/diagnostics/leakCheck';

/** A result shaped like a tap run's: two views on one buffer, one on another, a small scalar. */
const result = () => {
  const shared = new Float32Array(1024);
  return {
    outputs: { y: { data: shared.subarray(0, 512) } },
    taps: [{ tensor: { data: shared } }, { tensor: { data: new Float32Array(4096) } }],
    n: new Float32Array(2),
  };
};

describe('tensor tracker', () => {
  it('counts each buffer once, not views or scalars', () => {
    const before = heldCounts().tensorsHeld;
    const r = result();
    equal(trackTensors(r), 2);
    equal(trackTensors(r), 0, 'already registered');
    equal(heldCounts().tensorsHeld, before + 2);
    equal(bufferBytes(r).buffers, 3);
    equal(bufferBytes(r).bytes, 4096 + 16384 + 8);
  });

  it('has un-counted every tensor freed by the collection when settle() returns', async () => {
    ok(forcedGc(), 'a forced GC is available');
    await settle();
    const before = heldCounts().tensorsHeld;
    // Many rounds, each freeing the previous round's result: a reading that lags behind the
    // finalizers, or a helper that keeps the last result reachable, shows as +2 here.
    // Registered in a plain function: an async function's suspended frame can keep its last
    // temporaries, which would hold the result here (not the tracker's doing).
    const trackOne = () => void trackTensors(result());
    for (let round = 0; round < 200; round++) {
      trackOne();
      await settle();
      equal(heldCounts().tensorsHeld, before, `round ${round}`);
    }
  });
});
