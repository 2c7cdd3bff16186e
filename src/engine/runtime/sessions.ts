// onnxruntime sessions, cached and released deterministically. For each (model, provider
// choice) one session lives at a time: changing the tap set builds the new session and then
// releases the old one. Models beyond a byte budget are released least-recently-used first.
// A session in use by a running request is released only when that request is done.
import type * as ort from 'onnxruntime-node';
import { counters } from './accounting';
import { openSession } from './cachedSession';
import type { DiskCache } from './diskCache';
import type { ProviderAttempt, ProviderChoice, ProviderOptions } from './providers';
import { recordSessionBuild } from './sessionTiming';

export interface SessionSpec {
  /** Identity of the model (e.g. path + mtime). */
  modelKey: string;
  /**
   * What the session is for ('taps', 'explain', 'tail'...): each purpose has its own slot, so an
   * explanation does not evict the tapped session the layer tree uses.
   */
  purpose?: string;
  /** Identity of the variant (tap set, gradient target...): a different key swaps the session. */
  variantKey: string;
  options: ProviderOptions;
  /** Makes the model bytes to load; called only when no matching session is cached (in memory or on disk). */
  build(): Uint8Array | Promise<Uint8Array>;
  /**
   * What build() makes, identified across processes (runtime/modelIdentity.ts): with it and a
   * disk cache, the session's optimised model is cached on disk (runtime/cachedSession.ts).
   */
  diskKey?: string;
}

export interface SessionLease {
  readonly session: ort.InferenceSession;
  readonly provider: Exclude<ProviderChoice, 'auto'>;
  readonly fallbacks: readonly ProviderAttempt[];
  readonly bytes: number;
  /** Must be called when the caller is done running the session. */
  release(): void;
}

interface Entry {
  slot: string;
  variantKey: string;
  session: ort.InferenceSession;
  provider: Exclude<ProviderChoice, 'auto'>;
  fallbacks: ProviderAttempt[];
  bytes: number;
  users: number;
  retired: boolean;
  lastUsed: number;
}

export interface SessionInfo {
  modelKey: string;
  purpose: string;
  variantKey: string;
  provider: string;
  bytes: number;
  users: number;
}

export class SessionCache {
  private readonly live = new Map<string, Entry>();
  private readonly creating = new Map<string, Promise<Entry>>();
  private clock = 0;

  /** `disk`: where optimised models are cached between processes (none: every process builds its sessions). */
  constructor(
    public budgetBytes = 2 * 1024 ** 3,
    readonly disk?: DiskCache,
  ) {}

  async acquire(spec: SessionSpec): Promise<SessionLease> {
    const slot = `${spec.modelKey}\u0000${spec.purpose ?? 'taps'}\u0000${spec.options.provider ?? 'auto'}\u0000${spec.options.deviceId ?? 0}\u0000${spec.options.intraOpThreads ?? 0}`;
    let entry = this.live.get(slot);
    if (!entry || entry.variantKey !== spec.variantKey) {
      const t0 = performance.now();
      entry = await this.create(slot, spec);
      recordSessionBuild(performance.now() - t0);
    }
    entry.users++;
    entry.lastUsed = ++this.clock;
    const e = entry;
    let released = false;
    return {
      session: e.session,
      provider: e.provider,
      fallbacks: e.fallbacks,
      bytes: e.bytes,
      release: () => {
        if (released) return;
        released = true;
        e.users--;
        if (e.retired && e.users === 0) void this.dispose(e);
      },
    };
  }

  /** Releases every session not in use now, and the others as soon as they are free. */
  async releaseAll(): Promise<void> {
    const entries = [...this.live.values()];
    this.live.clear();
    await Promise.all(entries.map((e) => this.retire(e)));
  }

  /** Releases the sessions of one model. */
  async releaseModel(modelKey: string): Promise<void> {
    const entries = [...this.live.values()].filter((e) => e.slot.startsWith(`${modelKey}\u0000`));
    for (const e of entries) this.live.delete(e.slot);
    await Promise.all(entries.map((e) => this.retire(e)));
  }

  list(): SessionInfo[] {
    return [...this.live.values()].map((e) => ({
      modelKey: e.slot.split('\u0000')[0],
      purpose: e.slot.split('\u0000')[1],
      variantKey: e.variantKey,
      provider: e.provider,
      bytes: e.bytes,
      users: e.users,
    }));
  }

  private create(slot: string, spec: SessionSpec): Promise<Entry> {
    const key = `${slot}\u0000${spec.variantKey}`;
    let pending = this.creating.get(key);
    if (!pending) {
      pending = (async () => {
        const created = await openSession(spec, spec.options, this.disk);
        counters.sessionsAlive++;
        counters.sessionsCreated++;
        counters.sessionBytes += created.bytes;
        const entry: Entry = {
          slot,
          variantKey: spec.variantKey,
          session: created.session,
          provider: created.provider,
          fallbacks: created.fallbacks,
          bytes: created.bytes,
          users: 0,
          retired: false,
          lastUsed: ++this.clock,
        };
        const previous = this.live.get(slot);
        this.live.set(slot, entry);
        if (previous && previous !== entry) await this.retire(previous);
        await this.enforceBudget(entry);
        return entry;
      })().finally(() => this.creating.delete(key));
      this.creating.set(key, pending);
    }
    return pending;
  }

  private async enforceBudget(keep: Entry): Promise<void> {
    let total = [...this.live.values()].reduce((sum, e) => sum + e.bytes, 0);
    const byAge = [...this.live.values()].filter((e) => e !== keep).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of byAge) {
      if (total <= this.budgetBytes) break;
      this.live.delete(e.slot);
      total -= e.bytes;
      await this.retire(e);
    }
  }

  private async retire(e: Entry): Promise<void> {
    if (e.retired) return;
    e.retired = true;
    if (e.users === 0) await this.dispose(e);
  }

  private async dispose(e: Entry): Promise<void> {
    counters.sessionsAlive--;
    counters.sessionsReleased++;
    counters.sessionBytes -= e.bytes;
    await e.session.release();
  }
}
