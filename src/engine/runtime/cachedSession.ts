// Sessions whose slow part is cached on disk, so that the second cold start skips it. On the CPU
// provider the slow part is onnxruntime's graph optimisation: the optimised model it saves
// (`optimizedModelFilePath`) is what the next process loads. That model is specific
// to this onnxruntime version, these session options and this CPU (NCHWc blocking follows the
// instruction set), so all of them are in its key. Other providers optimise for their device
// at load; for them only the model bytes we built (a gradient graph) are cached. Without a disk
// key (a model made in memory) or a cache, sessions are built as before.
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterReply } from './deferredWrites';
import { DiskCache } from './diskCache';
import { createSessionWith, type CreatedSession, type ProviderOptions } from './providers';

export interface SessionSource {
  /** The model bytes; called only when the disk cache cannot answer. */
  build(): Uint8Array | Promise<Uint8Array>;
  /** What build() makes, identified across processes (model content hash + variant); undefined = not cached on disk. */
  diskKey?: string;
}

export interface OpenedSession extends CreatedSession {
  /** Size of the model the session was made from. */
  bytes: number;
  /** Whether the disk cache answered (the optimised model, or the built graph). */
  fromDisk: boolean;
}

export async function openSession(source: SessionSource, options: ProviderOptions, disk: DiskCache | undefined): Promise<OpenedSession> {
  let built: Promise<Uint8Array> | undefined;
  const buildOnce = () => (built ??= Promise.resolve(source.build()));
  let bytes = 0;
  let fromDisk = false;
  const created = await createSessionWith(async (provider, sessionOptions) => {
    if (!disk || !source.diskKey) {
      const model = await buildOnce();
      bytes = model.byteLength;
      return ort.InferenceSession.create(model, sessionOptions);
    }
    if (provider === 'cpu') {
      const key = optimisedModelKey(source.diskKey, sessionOptions);
      // Optimisations stay on: a few (NCHWc kernels' choices) are not in the saved model, and re-running
      // the others on an optimised graph is quick (ResNet-18: 0.1-0.35 s against 1-3 s from the export).
      const cached = await openFromDisk(disk, key, sessionOptions, 'rebuild');
      if (cached) {
        ({ bytes } = cached);
        fromDisk = true;
        return cached.session;
      }
      const model = await buildOnce();
      bytes = model.byteLength;
      return buildAndSaveOptimised(disk, key, model, sessionOptions);
    }
    const graphKey = DiskCache.key({ kind: 'built-graph', source: source.diskKey });
    const cached = await openFromDisk(disk, graphKey, sessionOptions, 'throw');
    if (cached) {
      ({ bytes } = cached);
      fromDisk = true;
      return cached.session;
    }
    const model = await buildOnce();
    afterReply(() => disk.write(graphKey, model, {}));
    bytes = model.byteLength;
    return ort.InferenceSession.create(model, sessionOptions);
  }, options);
  return { ...created, bytes, fromDisk };
}

/** The key of onnxruntime's optimised model of `diskKey` under these options, in this onnxruntime on this CPU. */
export function optimisedModelKey(diskKey: string, sessionOptions: ort.InferenceSession.SessionOptions): string {
  return DiskCache.key({
    kind: 'ort-optimised',
    source: diskKey,
    options: sessionOptions,
    onnxruntime: ort.env.versions.common,
    cpu: os.cpus()[0]?.model ?? '',
    arch: process.arch,
    platform: process.platform,
  });
}

/**
 * The cached model file (the optimised model, or the built graph) as a session, or undefined.
 * onnxruntime opens the file by path (never read into JS) while a worker thread checks its
 * checksum; a mismatch drops the session and the entry. A file that is intact but does not load
 * is rebuilt ('rebuild': an optimised model an onnxruntime may fail to read back) or the error.
 */
async function openFromDisk(
  disk: DiskCache,
  key: string,
  sessionOptions: ort.InferenceSession.SessionOptions,
  unloadable: 'rebuild' | 'throw',
): Promise<{ session: ort.InferenceSession; bytes: number } | undefined> {
  const cached = disk.lookup(key);
  if (!cached) return undefined;
  const opening = ort.InferenceSession.create(cached.path, sessionOptions).then(
    (session) => ({ session }),
    (error: unknown) => ({ error }),
  );
  const [opened, intact] = await Promise.all([opening, cached.intact]);
  if ('session' in opened) {
    if (intact) return { session: opened.session, bytes: cached.size };
    await opened.session.release();
  } else if (intact && unloadable === 'throw') {
    throw opened.error; // the provider failed, not the file: the same graph built again would fail the same way
  }
  // A corrupt entry (or evicted before it opened, or an optimised model this onnxruntime cannot load): rebuilt, never used.
  disk.remove(key);
  return undefined;
}

async function buildAndSaveOptimised(
  disk: DiskCache,
  key: string,
  model: Uint8Array,
  sessionOptions: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  let temp: string;
  try {
    temp = disk.tempPath(key);
  } catch {
    return ort.InferenceSession.create(model, sessionOptions); // no cache folder (read-only home): no caching
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, { ...sessionOptions, optimizedModelFilePath: temp });
  } catch {
    fs.rmSync(temp, { force: true });
    // Saving may be what failed (a model over protobuf's 2 GB); a model that cannot load fails again here.
    return ort.InferenceSession.create(model, sessionOptions);
  }
  afterReply(() => {
    if (fs.existsSync(temp)) disk.commit(key, temp, {});
  });
  return session;
}
