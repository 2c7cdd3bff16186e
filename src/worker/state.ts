// What the worker holds between requests: the session cache and each model's tap set.
import { loadModel, type LoadedModel } from '../engine/model';
import { releaseInputs } from '../engine/pipeline/inputCache';
import { counters } from '../engine/runtime/accounting';
import { userDiskCache } from '../engine/runtime/diskCache';
import { SessionCache } from '../engine/runtime/sessions';
import { TapSet, type TapHandle } from '../engine/surgery/taps';

export const sessions = new SessionCache(Number(process.env.CAMLENS_SESSION_BUDGET_BYTES) || 2 * 1024 ** 3, userDiskCache());

interface ModelTaps {
  model: LoadedModel;
  taps: TapSet;
}

const tapSets = new Map<string, ModelTaps>();
const handles = new Map<number, { modelPath: string; handle: TapHandle }>();

/** The model and its tap set; a model file that changed on disk gets a fresh tap set check. */
export function modelWithTaps(modelPath: string): ModelTaps {
  const model = loadModel(modelPath);
  let entry = tapSets.get(modelPath);
  if (!entry || entry.model !== model) {
    const previous = entry?.taps.values() ?? [];
    entry = { model, taps: new TapSet(model.graph) };
    tapSets.set(modelPath, entry);
    // Keep the taps that still exist in the reloaded model; drop their stale handles.
    for (const [id, h] of handles) {
      if (h.modelPath !== modelPath) continue;
      handles.delete(id);
      counters.tapHandlesAlive--;
      if (previous.includes(h.handle.value) && model.graph.kindOf(h.handle.value)) {
        const fresh = entry.taps.register(h.handle.value);
        handles.set(fresh.id, { modelPath, handle: fresh });
        counters.tapHandlesAlive++;
      }
    }
  }
  return entry;
}

export function registerTap(modelPath: string, value: string): TapHandle {
  const { taps } = modelWithTaps(modelPath);
  const handle = taps.register(value);
  handles.set(handle.id, { modelPath, handle });
  counters.tapHandlesAlive++;
  return handle;
}

export function removeTap(handleId: number): { removed: boolean; modelPath?: string } {
  const h = handles.get(handleId);
  if (!h) return { removed: false };
  h.handle.remove();
  handles.delete(handleId);
  counters.tapHandlesAlive--;
  return { removed: true, modelPath: h.modelPath };
}

export function listTaps(modelPath: string): Array<{ handleId: number; value: string }> {
  return [...handles.entries()].filter(([, h]) => h.modelPath === modelPath).map(([handleId, h]) => ({ handleId, value: h.handle.value }));
}

export async function releaseEverything(): Promise<number> {
  const n = sessions.list().length;
  releaseInputs();
  await sessions.releaseAll();
  return n;
}
