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
 * Registers every typed-array buffer reachable from `value` (plain objects and arrays, a few
 * levels deep) that is not registered yet; returns how many were added. Buffers, not views, are
 * counted: two views on one buffer hold its bytes once.
 */
export function trackTensors(value: unknown, depth = 6): number {
  let added = 0;
  const seen = new Set<unknown>();
  const visit = (v: unknown, level: number) => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      const buffer = v.buffer;
      if (buffer.byteLength < MIN_BYTES || tracked.has(buffer)) return;
      tracked.add(buffer);
      counters.tensorsHeld++;
      counters.tensorBytesHeld += buffer.byteLength;
      registry.register(buffer, buffer.byteLength);
      added++;
      return;
    }
    if (level >= depth) return;
    const items = Array.isArray(v) ? v : v instanceof Map ? [...v.values()] : Object.values(v as Record<string, unknown>);
    for (const item of items) visit(item, level + 1);
  };
  visit(value, 0);
  return added;
}

/** The unique buffers reachable from `value` and their total bytes (what retaining it costs). */
export function bufferBytes(value: unknown, depth = 6): { buffers: number; bytes: number } {
  const buffers = new Set<ArrayBufferLike>();
  const seen = new Set<unknown>();
  const visit = (v: unknown, level: number) => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      buffers.add(v.buffer);
      return;
    }
    if (level >= depth) return;
    const items = Array.isArray(v) ? v : v instanceof Map ? [...v.values()] : Object.values(v as Record<string, unknown>);
    for (const item of items) visit(item, level + 1);
  };
  visit(value, 0);
  let bytes = 0;
  for (const b of buffers) bytes += b.byteLength;
  return { buffers: buffers.size, bytes };
}
