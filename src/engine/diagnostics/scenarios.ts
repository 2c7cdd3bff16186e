// The leak-check scenarios (explain / taps / sessions) over the worker's own operations, and the
// report that combines them. The worker passes its operations in (`LeakCheckOps`) so the check
// exercises exactly the code paths a user's requests take: the same session cache, tap state
// and counters.
import { CamLensError, throwIfCancelled } from '../errors';
import type { ProviderOptions } from '../runtime/providers';
import {
  combineVerdicts,
  judgeHeapByDiff,
  LEAK_SCENARIOS,
  runLeakScenario,
  settle,
  type LeakScenario,
  type LeakScenarioName,
  type LeakVerdict,
  type ScenarioReport,
} from './leakCheck';
import { bufferBytes, trackTensors } from '../runtime/tensorTracker';
import { LeakHeapSnapshots } from './leakHeapSnapshots';
import type { CamMethodName, ExplainParams } from '../explainTypes';

export type PlantedLeak = 'tensors' | 'heap' | 'native';

export interface LeakCheckParams {
  modelPath: string;
  /** An image (or .npy) the explain scenario explains. */
  input: string;
  scenario?: LeakScenarioName | 'all';
  /**
   * Measured iterations per scenario. Default: sized to `budgetSeconds` from the time of one
   * iteration, between 12 and 100 (a session build on ResNet-18 takes a second; 100 of them per
   * scenario made the default check take many minutes).
   */
  iterations?: number;
  /** Iterations run first and discarded (caches filling, JIT; default 10, fewer when iterations are sized to the budget). */
  warmup?: number;
  /** Wall time the default-sized check aims at, all scenarios together (default 75 s). */
  budgetSeconds?: number;
  /** A byte metric growing significantly faster than this per iteration is a suspected leak (default 1024). */
  thresholdBytes?: number;
  /** Confidence of the slope intervals (default 0.95). */
  confidence?: number;
  method?: CamMethodName;
  /** Preprocessing config for the explain scenario (as --config elsewhere; default: the model's sidecar or ImageNet). */
  configPath?: string;
  provider?: ProviderOptions;
  /** Include each scenario's measured series (default true). */
  series?: boolean;
  /**
   * Self-test: a planted leak the check must flag (with a slope close to `planted.bytesPerIteration`).
   * true or 'tensors': every output tensor of every iteration is kept; 'heap': `plantBytes` of
   * JavaScript objects per iteration; 'native': a `plantBytes` Buffer per iteration (external memory).
   */
  plantLeak?: boolean | PlantedLeak;
  /** Bytes a 'heap' or 'native' planted leak keeps per iteration (default 1024). */
  plantBytes?: number;
  /**
   * Heap snapshots at baseline, after the run and after a forced GC, diffed per object type with
   * retainer paths (memlab-style) after all measured iterations (default false here; the CLI and
   * the VS Code command ask for it).
   */
  heapDiff?: boolean;
  /** Keep the heap snapshots in this folder instead of a temporary one that is deleted. */
  keepHeapSnapshots?: string;
  /** Retainer paths for this many of the top grown types (default 5). */
  heapDiffPaths?: number;
}

export interface LeakCheckReport {
  model: string;
  input: string;
  provider: string;
  thresholdBytes: number;
  confidence: number;
  verdict: LeakVerdict;
  scenarios: ScenarioReport[];
  startedAt: string;
  ms: number;
}

/** What the worker lends the scenarios. */
export interface LeakCheckOps {
  explain(params: ExplainParams, signal?: AbortSignal): Promise<{ ep: string }>;
  /** Values worth tapping in this model (at least one). */
  tapValues(modelPath: string): string[];
  registerTap(modelPath: string, value: string): number;
  removeTap(handleId: number): void;
  /** One forward run with the model's registered taps (tensors returned). */
  run(modelPath: string, provider: ProviderOptions | undefined, signal?: AbortSignal): Promise<{ provider: string }>;
  /** Releases every session of the model. */
  releaseModel(modelPath: string): Promise<void>;
  /** Waits for what a step left running in the background (session builds ahead of need, cache writes). */
  quiesce?(): Promise<void>;
}

export interface LeakCheckContext {
  signal?: AbortSignal;
  progress?: (done: number, total: number, message?: string) => void;
}

function scenarioFor(name: LeakScenarioName, p: LeakCheckParams, ops: LeakCheckOps, ctx: LeakCheckContext, seen: { provider: string }): LeakScenario {
  const kept: unknown[] = [];
  const plant = p.plantLeak === true ? 'tensors' : p.plantLeak || undefined;
  const bytes = p.plantBytes ?? 1024;
  let plantedBytes = 0;
  const keep = (result: unknown) => {
    trackTensors(result);
    if (plant === 'tensors') kept.push(result);
    else if (plant === 'heap') {
      // small objects, as a forgotten cache or listener list would hold them (~32 bytes each)
      const objects = Array.from({ length: Math.max(1, Math.round(bytes / 32)) }, (_, k) => ({ k, v: k + 0.5 }));
      kept.push(objects);
      plantedBytes += bytes;
    } else if (plant === 'native') {
      kept.push(Buffer.alloc(bytes, 1));
      plantedBytes += bytes;
    }
  };
  const common = {
    name,
    finish: () => {
      kept.length = 0;
      plantedBytes = 0;
    },
    ...(plant ? { plantedBytes: () => (plant === 'tensors' ? bufferBytes(kept, 8).bytes : plantedBytes) } : {}),
  };
  switch (name) {
    case 'explain':
      return {
        ...common,
        step: async () => {
          const r = await ops.explain(
            { modelPath: p.modelPath, input: p.input, method: p.method, provider: p.provider, ...(p.configPath ? { configPath: p.configPath } : {}) },
            ctx.signal,
          );
          seen.provider = r.ep;
          keep(r);
        },
      };
    case 'taps': {
      const values = ops.tapValues(p.modelPath);
      return {
        ...common,
        step: async (i) => {
          const id = ops.registerTap(p.modelPath, values[i % values.length]);
          try {
            const r = await ops.run(p.modelPath, p.provider, ctx.signal);
            seen.provider = r.provider;
            keep(r);
          } finally {
            ops.removeTap(id);
          }
        },
      };
    }
    case 'sessions':
      return {
        ...common,
        step: async () => {
          try {
            const r = await ops.run(p.modelPath, p.provider, ctx.signal);
            seen.provider = r.provider;
            keep(r);
          } finally {
            // What the run started ahead of need (the shared tap session) is built first, so that
            // the release drops it too: else it arrived after the release and outlived the step.
            await ops.quiesce?.();
            await ops.releaseModel(p.modelPath);
          }
        },
      };
  }
}

export function checkLeakParams(p: LeakCheckParams): Required<
  Pick<LeakCheckParams, 'iterations' | 'warmup' | 'thresholdBytes' | 'confidence' | 'budgetSeconds'>
> & {
  scenarios: LeakScenarioName[];
  /** Iterations not given: each scenario is sized to its share of the budget. */
  sized: boolean;
} {
  const bad = (m: string) => new CamLensError('BAD_ARGUMENT', `leak check: ${m}`);
  if (typeof p.modelPath !== 'string' || !p.modelPath) throw bad('a model path is required.');
  if (typeof p.input !== 'string' || !p.input) throw bad('an input image is required (the explain scenario explains it).');
  const scenario = p.scenario ?? 'all';
  if (scenario !== 'all' && !LEAK_SCENARIOS.includes(scenario)) throw bad(`unknown scenario "${scenario}"; choose ${[...LEAK_SCENARIOS, 'all'].join(', ')}.`);
  const iterations = p.iterations ?? 100;
  const warmup = p.warmup ?? 10;
  const thresholdBytes = p.thresholdBytes ?? 1024;
  const confidence = p.confidence ?? 0.95;
  if (!Number.isInteger(iterations) || iterations < 3) throw bad(`iterations must be an integer ≥ 3 (a line needs 3 points), got ${iterations}.`);
  if (!Number.isInteger(warmup) || warmup < 0) throw bad(`warm-up must be a non-negative integer, got ${warmup}.`);
  if (!(thresholdBytes >= 0) || !Number.isFinite(thresholdBytes)) throw bad(`the threshold must be a non-negative number of bytes, got ${thresholdBytes}.`);
  if (!(confidence > 0 && confidence < 1)) throw bad(`confidence must be in (0, 1), got ${confidence}.`);
  if (p.keepHeapSnapshots !== undefined && (typeof p.keepHeapSnapshots !== 'string' || !p.keepHeapSnapshots))
    throw bad('the folder to keep heap snapshots in must be a non-empty path.');
  if (p.plantLeak !== undefined && ![true, false, 'tensors', 'heap', 'native'].includes(p.plantLeak))
    throw bad(`plantLeak must be tensors, heap or native, got ${String(p.plantLeak)}.`);
  if (p.plantBytes !== undefined && !(Number.isInteger(p.plantBytes) && p.plantBytes > 0 && p.plantBytes <= 64 * 1024 * 1024))
    throw bad(`plantBytes must be an integer from 1 to 64 MiB, got ${p.plantBytes}.`);
  if (p.heapDiffPaths !== undefined && !(Number.isInteger(p.heapDiffPaths) && p.heapDiffPaths >= 0))
    throw bad(`heapDiffPaths must be a non-negative integer, got ${p.heapDiffPaths}.`);
  const budgetSeconds = p.budgetSeconds ?? 75;
  if (!(budgetSeconds > 0 && budgetSeconds <= 86_400)) throw bad(`the time budget must be between 0 and 86400 seconds, got ${budgetSeconds}.`);
  return {
    iterations,
    warmup,
    thresholdBytes,
    confidence,
    budgetSeconds,
    sized: p.iterations === undefined,
    scenarios: scenario === 'all' ? [...LEAK_SCENARIOS] : [scenario],
  };
}

/**
 * Iterations and warm-up for a scenario whose one iteration took `msPerIteration`, within its share
 * of the budget: three quarters for the measured run, the rest for warm-up and the heap diff run.
 */
export function sizeToBudget(msPerIteration: number, budgetMs: number, warmupCap: number): { iterations: number; warmup: number; heapDiffIterations: number } {
  const per = Math.max(msPerIteration, 1);
  const iterations = Math.min(100, Math.max(12, Math.floor((0.75 * budgetMs) / per)));
  const warmup = Math.min(warmupCap, Math.max(2, Math.round((0.1 * budgetMs) / per)));
  return { iterations, warmup, heapDiffIterations: Math.min(iterations, 20) };
}

export async function runLeakCheck(p: LeakCheckParams, ops: LeakCheckOps, ctx: LeakCheckContext = {}): Promise<LeakCheckReport> {
  const checked = checkLeakParams(p);
  const started = Date.now();
  const t0 = performance.now();
  const seen = { provider: p.provider?.provider ?? 'auto' };
  const reports: ScenarioReport[] = [];
  const perScenario = checked.warmup + checked.iterations;
  const total = perScenario * checked.scenarios.length;
  const snapshots = p.heapDiff || p.keepHeapSnapshots ? new LeakHeapSnapshots(p.keepHeapSnapshots) : undefined;
  try {
    for (const [k, name] of checked.scenarios.entries()) {
      const scenario = scenarioFor(name, p, ops, ctx, seen);
      let sizing = {};
      if (checked.sized) {
        // The second of two timed iterations sizes the run (the first also loads the model and
        // builds its session: 1.4 s against 44 ms for ResNet-18's explain); both are warm-up.
        let ms = 0;
        for (let i = 0; i < 2; i++) {
          const t = performance.now();
          await scenario.step(i);
          await ops.quiesce?.();
          await settle();
          ms = performance.now() - t;
        }
        const s = sizeToBudget(ms, (checked.budgetSeconds * 1000) / checked.scenarios.length, checked.warmup);
        sizing = { ...s, warmup: Math.max(0, s.warmup - 2) };
      }
      const report = await runLeakScenario(scenario, {
        ...checked,
        ...sizing,
        signal: ctx.signal,
        ...(ops.quiesce ? { quiesce: () => ops.quiesce!() } : {}),
        progress: (done, _n, message) => ctx.progress?.(k * perScenario + done, total, message),
        ...(snapshots ? { heapSnapshot: (stage) => snapshots.take(name, stage) } : {}),
      });
      if (p.series === false) report.series = [];
      reports.push(report);
    }
    // Only now, with every reading taken, parse and diff the snapshots.
    if (snapshots && p.heapDiff) {
      const check = () => throwIfCancelled(ctx.signal, 'The leak check');
      for (const report of reports) {
        ctx.progress?.(total, total, `heap diff: ${report.scenario}`);
        report.heapDiff = snapshots.diff(report.scenario, { paths: p.heapDiffPaths, check });
        judgeHeapByDiff(report, checked.thresholdBytes);
      }
    }
  } finally {
    snapshots?.dispose();
  }
  // Collect what the scenarios (and a planted leak) dropped, so telemetry after the check is clean.
  await settle();
  return {
    model: p.modelPath,
    input: p.input,
    provider: seen.provider,
    thresholdBytes: checked.thresholdBytes,
    confidence: checked.confidence,
    verdict: combineVerdicts(reports.map((r) => r.verdict)),
    scenarios: reports,
    startedAt: new Date(started).toISOString(),
    ms: performance.now() - t0,
  };
}
