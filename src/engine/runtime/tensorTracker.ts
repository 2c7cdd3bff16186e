// "Tensors held by the worker": every tensor buffer the worker hands out (request results,
// leak-check scenario outputs) is registered here and counted until the garbage collector frees
// it. A tensor that stays counted after a forced GC is one something still references: the
// signature of the classic CAM leak (hooks or caches keeping activations alive).
import { counters } from './accounting';

const tracked = new WeakSet<ArrayBufferLike>();
const registry = new FinalizationRegistry<number>((bytes) => {
  counters.tensorsHeld--;
  counters.tensorBytesHeld -= bytes;
});

/** Buffers smaller than this are not tensors worth counting (scalars, shapes, small PNG headers). */
const MIN_BYTES = 256;

/**
 * Calls `onView` for every typed-array view reachable from `value` through plain objects, arrays
 * and maps, `depth` levels deep. A plain function with its own `seen`, emptied before it returns:
 * V8 may keep the context of a closure it is compiling alive for a while, and a closure's `seen`
 * then held the last result's tensors after the caller dropped them (the leak check read that as
 * a leaked tensor).
 */
function forEachView(value: unknown, depth: number, onView: (view: ArrayBufferView) => void): void {
  const seen = new Set<unknown>();
  visitViews(value, 0, depth, seen, onView);
  seen.clear();
}

function visitViews(v: unknown, level: number, depth: number, seen: Set<unknown>, onView: (view: ArrayBufferView) => void): void {
  if (v === null || typeof v !== 'object' || seen.has(v)) return;
  seen.add(v);
  if (ArrayBuffer.isView(v)) {
    onView(v);
    return;
  }
  if (level >= depth) return;
  const items = Array.isArray(v) ? v : v instanceof Map ? [...v.values()] : Object.values(v as Record<string, unknown>);
  for (const item of items) visitViews(item, level + 1, depth, seen, onView);
}

/**
 * Registers every typed-array buffer reachable from `value` (plain objects and arrays, a few
 * levels deep) that is not registered yet; returns how many were added. Buffers, not views, are
 * counted: two views on one buffer hold its bytes once.
 */
export function trackTensors(value: unknown, depth = 6): number {
  let added = 0;
  forEachView(value, depth, (view) => {
    const buffer = view.buffer;
    if (buffer.byteLength < MIN_BYTES || tracked.has(buffer)) return;
    tracked.add(buffer);
    counters.tensorsHeld++;
    counters.tensorBytesHeld += buffer.byteLength;
    registry.register(buffer, buffer.byteLength);
    added++;
  });
  return added;
}

/** The unique buffers reachable from `value` and their total bytes (what retaining it costs). */
export function bufferBytes(value: unknown, depth = 6): { buffers: number; bytes: number } {
  const buffers = new Set<ArrayBufferLike>();
  forEachView(value, depth, (view) => buffers.add(view.buffer));
  let bytes = 0;
  for (const b of buffers) bytes += b.byteLength;
  return { buffers: buffers.size, bytes };
}
