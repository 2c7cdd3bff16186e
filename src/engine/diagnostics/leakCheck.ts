// The leak check: run a workflow step N times after a warm-up, force a GC and sample memory and
// the live-object counters after each iteration, fit a least-squares line to every metric against
// the iteration number and call a metric a suspected leak when its slope is significantly above
// the threshold (the lower end of its confidence interval is). Pure engine code: the worker
// supplies the steps (see engine/diagnostics/scenarios.ts) and runs it in its own process.
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { heldCounts, processMemory, type HeldCounts, type ProcessMemory } from '../runtime/accounting';
import { throwIfCancelled } from '../errors';
import { fitLine, type LineFit } from './regression';
import type { HeapDiffReport, HeapStage } from './heapDiff';

export type LeakScenarioName = 'explain' | 'taps' | 'sessions';
export const LEAK_SCENARIOS: readonly LeakScenarioName[] = ['explain', 'taps', 'sessions'];

/**
 * 'inconclusive': only rss grew, and it was still slowing down at the end of the run (allocator
 * arenas and compiled code settle over hundreds of iterations); more iterations can tell.
 */
export type LeakVerdict = 'no leak' | 'suspected leak' | 'inconclusive';

/** A scenario's or a whole check's verdict from its parts: any leak, else any doubt, else clean. */
export const combineVerdicts = (verdicts: ReadonlyArray<LeakVerdict | 'not judged'>): LeakVerdict =>
  verdicts.includes('suspected leak') ? 'suspected leak' : verdicts.includes('inconclusive') ? 'inconclusive' : 'no leak';

/** One reading: the process's memory and what the worker holds. */
export interface LeakSample extends ProcessMemory, HeldCounts {}

export type LeakMetric = keyof LeakSample;

interface MetricSpec {
  metric: LeakMetric;
  unit: 'bytes' | 'objects';
  /** Capacity metrics (heapTotal) are reported without a verdict: V8 grows them in pages, ahead of need. */
  judged: boolean;
  /**
   * What the process holds from the system rather than what it retains: rss also grows while
   * glibc's arenas, V8's code space and onnxruntime's pools warm up, for hundreds of iterations,
   * growing ever slower. It is judged by the shape of its growth (see judgeSettling), after the
   * retained metrics (heap after a full GC, external and array buffers, accounted tensors and
   * sessions, live objects), which answer "is something kept" exactly.
   */
  settles?: boolean;
  /**
   * heapUsed after a full GC still grows while V8 compiles and collects type feedback (hundreds of
   * iterations; on the demo model 8–20 KiB/iteration over the first ten after a 15-step warm-up,
   * 1–2 KiB after 100). Its series cannot tell that from a leak: in 16 clean runs of 30 iterations
   * the growth of 3 did not slow down by half, 1 in 16 at 100. The heap diff decides (what the
   * program retains, compiled code and JIT feedback excluded: judgeHeapByDiff); without it,
   * growth at the end is "inconclusive", never a leak by itself.
   */
  jit?: boolean;
}

export const LEAK_METRICS: readonly MetricSpec[] = [
  { metric: 'rss', unit: 'bytes', judged: true, settles: true },
  { metric: 'heapUsed', unit: 'bytes', judged: true, settles: true, jit: true },
  { metric: 'heapTotal', unit: 'bytes', judged: false },
  { metric: 'external', unit: 'bytes', judged: true },
  { metric: 'arrayBuffers', unit: 'bytes', judged: true },
  { metric: 'sessionBytes', unit: 'bytes', judged: true },
  { metric: 'tensorBytesHeld', unit: 'bytes', judged: true },
  { metric: 'sessionsAlive', unit: 'objects', judged: true },
  { metric: 'tapHandlesAlive', unit: 'objects', judged: true },
  { metric: 'tensorsHeld', unit: 'objects', judged: true },
];

export interface MetricReport {
  metric: LeakMetric;
  unit: 'bytes' | 'objects';
  /** Before the warm-up. */
  before: number;
  /** First and last measured iterations (after the warm-up). */
  first: number;
  last: number;
  /** last - first. */
  growth: number;
  /** Per iteration, with its confidence interval. */
  slope: number;
  ci: [number, number];
  r2: number;
  slopeStdErr: number;
  /** Slope over the second half of the measured iterations alone. */
  lateSlope: number;
  /** Slopes above this (per iteration) count as growth. */
  threshold: number;
  verdict: LeakVerdict | 'not judged';
  /** One sentence with the numbers. */
  summary: string;
}

export interface ScenarioReport {
  scenario: string;
  iterations: number;
  warmup: number;
  gcForced: boolean;
  msPerIteration: number;
  verdict: LeakVerdict;
  metrics: MetricReport[];
  /** The measured series (one entry per measured iteration), for charts. */
  series: LeakSample[];
  /** Self-test only: what the planted leak retained per iteration (fitted like the metrics). */
  planted?: { bytesPerIteration: number };
  /** Heap snapshots diffed (baseline → after the run → after a forced GC), when asked for. */
  heapDiff?: HeapDiffReport;
  /** Iterations between the heap diff's baseline and after-run snapshots. */
  heapDiffSteps?: number;
}

export interface LeakCheckOptions {
  iterations: number;
  warmup: number;
  /** Bytes per iteration above which a byte metric's growth is a leak (default 1024). */
  thresholdBytes?: number;
  /** Objects per iteration above which a counter's growth is a leak (default 0). */
  thresholdObjects?: number;
  confidence?: number;
  signal?: AbortSignal;
  /**
   * Waits for the work a step left running in the background (the worker's session builds ahead
   * of need, its deferred cache writes). A reading taken while it runs counts its memory, or the
   * session it is about to keep, as the step's: with a cold disk cache, 3 of 4 clean tiny-model
   * checks said "suspected leak" (a session or a tensor more, once, mid-run).
   */
  quiesce?: () => Promise<void>;
  progress?: (done: number, total: number, message?: string) => void;
  /**
   * Takes a heap snapshot at each stage of a second run of the (by then warm) scenario, after the
   * measured readings: 'baseline', then `heapDiffIterations` more steps, 'afterRun', one more
   * forced GC and 'final', all before the scenario's finish() (which drops a planted leak).
   * Writing a snapshot raises rss by tens of MB for a while; in a run of its own it cannot tilt
   * the measured slopes.
   */
  heapSnapshot?: (stage: HeapStage) => Promise<void> | void;
  /** Steps between the baseline and after-run snapshots (default min(iterations, 100)). */
  heapDiffIterations?: number;
}

export interface LeakScenario {
  name: string;
  step(iteration: number): Promise<void>;
  /** Called once after the last iteration (e.g. to drop planted references). */
  finish?(): Promise<void> | void;
  /** Self-test only: cumulative bytes the planted leak holds after each iteration. */
  plantedBytes?(): number;
}

let gcFn: (() => void) | null | undefined;

/**
 * A full garbage collection, when one can be had: `global.gc` (worker started with --expose-gc)
 * or, failing that, the same function obtained at run time through the V8 flag.
 */
export function forcedGc(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return (gcFn = g);
  try {
    setFlagsFromString('--expose-gc');
    const fromContext = runInNewContext('gc') as unknown;
    gcFn = typeof fromContext === 'function' ? (fromContext as () => void) : null;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Collects garbage and lets finalizers (the tensor counters) run before the next reading. */
export async function settle(): Promise<boolean> {
  const gc = forcedGc();
  if (!gc) {
    await tick();
    return false;
  }
  // One full collection (tens of milliseconds even on a small heap), then a turn of the event
  // loop so FinalizationRegistry callbacks (the tensor counters) run before the reading.
  gc();
  await tick();
  return true;
}

export function readLeakSample(): LeakSample {
  return { ...processMemory(), ...heldCounts() };
}

export async function runLeakScenario(scenario: LeakScenario, options: LeakCheckOptions): Promise<ScenarioReport> {
  const { iterations, warmup } = options;
  if (!Number.isInteger(iterations) || iterations < 3) throw new RangeError(`iterations must be an integer ≥ 3, got ${iterations}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`warmup must be a non-negative integer, got ${warmup}`);
  const total = warmup + iterations;
  const gcForced = await settle();
  const before = readLeakSample();
  // Readings go into arrays allocated up front: a growing array of sample objects would itself
  // be a (small) heap growth per iteration, in heapUsed and in the heap diff.
  const keys = Object.keys(before) as LeakMetric[];
  const readings = new Float64Array(iterations * keys.length);
  const planted = scenario.plantedBytes ? new Float64Array(iterations) : undefined;
  let measuredMs = 0;
  let heapDiffSteps: number | undefined;
  try {
    for (let i = 0; i < total; i++) {
      throwIfCancelled(options.signal, 'The leak check');
      const t0 = performance.now();
      await scenario.step(i);
      const t1 = performance.now();
      await options.quiesce?.();
      await settle();
      if (i >= warmup) {
        measuredMs += t1 - t0;
        const sample = readLeakSample();
        const row = (i - warmup) * keys.length;
        for (let k = 0; k < keys.length; k++) readings[row + k] = sample[keys[k]];
        if (planted) planted[i - warmup] = scenario.plantedBytes!();
      }
      options.progress?.(
        i + 1,
        total,
        `${scenario.name}: ${i < warmup ? 'warm-up' : 'iteration'} ${i < warmup ? i + 1 : i + 1 - warmup}/${i < warmup ? warmup : iterations}`,
      );
    }
    if (options.heapSnapshot) {
      const steps = options.heapDiffIterations ?? Math.min(iterations, 100);
      heapDiffSteps = steps;
      await options.heapSnapshot('baseline');
      for (let j = 0; j < steps; j++) {
        throwIfCancelled(options.signal, 'The leak check');
        await scenario.step(total + j);
        await options.quiesce?.();
        await settle();
        options.progress?.(total, total, `${scenario.name}: heap diff ${j + 1}/${steps}`);
      }
      await options.heapSnapshot('afterRun');
      await settle();
      await options.heapSnapshot('final');
    }
  } finally {
    await scenario.finish?.();
  }
  const series: LeakSample[] = Array.from(
    { length: iterations },
    (_, j) => Object.fromEntries(keys.map((key, k) => [key, readings[j * keys.length + k]])) as unknown as LeakSample,
  );
  const metrics = LEAK_METRICS.map((spec) =>
    judgeMetric(
      spec,
      before[spec.metric],
      series.map((s) => s[spec.metric]),
      options,
    ),
  );
  const x = series.map((_, i) => i);
  return {
    scenario: scenario.name,
    iterations,
    warmup,
    gcForced,
    msPerIteration: measuredMs / iterations,
    ...(heapDiffSteps ? { heapDiffSteps } : {}),
    verdict: combineVerdicts(metrics.map((m) => m.verdict)),
    metrics,
    series,
    ...(planted ? { planted: { bytesPerIteration: fitLine(x, [...planted]).slope } } : {}),
  };
}

export function judgeMetric(
  spec: MetricSpec,
  before: number,
  values: number[],
  options: Pick<LeakCheckOptions, 'thresholdBytes' | 'thresholdObjects' | 'confidence'>,
): MetricReport {
  const fit: LineFit = fitLine(
    values.map((_, i) => i),
    values,
    options.confidence ?? 0.95,
  );
  const threshold = spec.unit === 'bytes' ? (options.thresholdBytes ?? 1024) : (options.thresholdObjects ?? 0);
  const first = values[0];
  const last = values[values.length - 1];
  const growth = last - first;
  // Significantly above the threshold: the whole confidence interval is. A counter must also
  // have actually grown (a constant series has a zero-width interval at 0). And the growth must
  // persist: a leak grows as fast in the second half of the run as over all of it, whereas the
  // allocator and JIT warming up (rss, heapUsed) grow ever slower and then stop.
  const half = values.slice(Math.floor(values.length / 2));
  // Byte metrics carry transient buffers present in some readings and not others (external
  // alternates by a 61 KiB PNG buffer between explanations): their slopes are Theil–Sen's, which
  // such readings cannot tilt; the least-squares interval must still allow the threshold. Counters
  // are exact, and least squares with its interval is the right test for them.
  const robust = spec.unit === 'bytes';
  const lateSlope = robust
    ? robustSlope(half)
    : half.length >= 3
      ? fitLine(
          half.map((_, i) => i),
          half,
        ).slope
      : fit.slope;
  // Growth of the threshold itself counts ("1 KiB/iteration and more"); no growth never does.
  const atLeastThreshold = (slope: number) => slope >= threshold && slope > 0;
  const significant = robust ? atLeastThreshold(robustSlope(values)) && fit.ci[1] >= threshold : atLeastThreshold(fit.ci[0]) && growth >= 1;
  const settling = spec.settles && significant ? judgeSettling(values, threshold) : undefined;
  // A retained-bytes leak raises the floor of the readings in every part of the run; transient
  // buffers only add to some readings, and a buffer kept once (a cache filled, a result held)
  // raises it in one step. A step of 307 KiB half-way through 100 iterations has a Theil–Sen slope
  // of several KiB/iteration, so the slope tests alone flagged a clean ResNet-18 run in 10.
  const floorsRising = !robust || spec.settles || floorRisesThroughout(values);
  const leaking = significant && atLeastThreshold(lateSlope) && floorsRising;
  const verdict: LeakVerdict | 'not judged' = !spec.judged ? 'not judged' : settling ? settling.verdict : leaking ? 'suspected leak' : 'no leak';
  const u = (v: number) => (spec.unit === 'bytes' ? formatBytes(v) : `${round(v, 3)}`);
  const unit = spec.unit === 'bytes' ? '/iteration' : ' objects/iteration';
  const pct = Math.round(fit.confidence * 100);
  const summary =
    `${spec.metric}: slope ${u(fit.slope)}${unit} (${pct}% CI ${u(fit.ci[0])} … ${u(fit.ci[1])}), R² ${round(fit.r2, 3)}, ` +
    `growth ${u(growth)} over ${values.length} iterations; ${verdict}` +
    (settling && verdict === 'inconclusive'
      ? ` (not settled: ${u(settling.early)}${unit} over the first third, ${u(settling.late)} over the last; ` +
        (spec.jit
          ? `V8's compiled code and type feedback grow for hundreds of iterations: the heap diff (left out with --no-heap-diff) tells them from what the program keeps)`
          : `allocators and compiled code can take hundreds of iterations to settle, so run more iterations (--iterations 1000) to tell; the retained metrics above are the judges of what is kept)`)
      : settling && verdict === 'no leak'
        ? ` (settled: ${u(settling.late)}${unit} over the last third)`
        : verdict === 'suspected leak'
          ? ` (the CI lies above the threshold ${u(threshold)}${unit})`
          : verdict === 'no leak' && significant && !floorsRising
            ? ` (a step, not a trend: the lowest reading did not rise in every quarter of the run)`
            : verdict === 'no leak' && significant
              ? ` (growth did not persist: ${u(lateSlope)}${unit} over the second half, warm-up)`
              : verdict === 'no leak' && fit.slope > threshold
                ? ` (slope above ${u(threshold)}${unit} but not significantly)`
                : '');
  return {
    metric: spec.metric,
    unit: spec.unit,
    before,
    first,
    last,
    growth,
    slope: fit.slope,
    ci: fit.ci,
    r2: fit.r2,
    slopeStdErr: fit.slopeStdErr,
    lateSlope,
    threshold,
    verdict,
    summary,
  };
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

export function formatBytes(v: number): string {
  const a = Math.abs(v);
  if (a >= 2 ** 30) return `${round(v / 2 ** 30, 2)} GiB`;
  if (a >= 2 ** 20) return `${round(v / 2 ** 20, 2)} MiB`;
  if (a >= 2 ** 10) return `${round(v / 2 ** 10, 2)} KiB`;
  return `${round(v, 1)} B`;
}

/**
 * Whether the lowest reading rises from each part of the run to the next (`parts` equal parts;
 * runs too short to split say yes, leaving the verdict to the slopes).
 */
export function floorRisesThroughout(values: readonly number[], parts = 4): boolean {
  const size = Math.floor(values.length / parts);
  if (size < 2) return true;
  const floors = Array.from({ length: parts }, (_, k) => Math.min(...values.slice(k * size, k === parts - 1 ? values.length : (k + 1) * size)));
  return floors.every((f, k) => k === 0 || f > floors[k - 1]);
}

/** Theil–Sen slope (median of pairwise slopes): one step in rss (a GC, a snapshot) cannot tilt it. */
export function robustSlope(values: ArrayLike<number>): number {
  const slopes: number[] = [];
  for (let i = 0; i < values.length; i++) for (let j = i + 1; j < values.length; j++) slopes.push((values[j] - values[i]) / (j - i));
  if (!slopes.length) return 0;
  slopes.sort((a, b) => a - b);
  const mid = slopes.length >> 1;
  return slopes.length % 2 ? slopes[mid] : (slopes[mid - 1] + slopes[mid]) / 2;
}

/**
 * A settling metric's verdict from the shape of its growth over thirds of the run: flat by the
 * end (last third under the threshold) is no leak; still growing at the end is inconclusive (it
 * has not settled, and nothing in the series says whether it will: the retained metrics and the
 * heap diff are the judges of what is kept).
 */
export function judgeSettling(values: readonly number[], threshold: number): { verdict: LeakVerdict; early: number; late: number } {
  const third = Math.max(3, Math.floor(values.length / 3));
  const early = robustSlope(values.slice(0, third));
  const late = robustSlope(values.slice(values.length - third));
  return { verdict: late < threshold ? 'no leak' : 'inconclusive', early, late };
}

/**
 * heapUsed's verdict from the heap diff of the scenario (snapshots before and after `steps` more
 * iterations): the growth of what the program holds — every non-internal type's self size, less
 * the share of its new instances held only by compiled code — per iteration, against the
 * threshold. The series alone cannot tell JIT warm-up from a slow leak in a short run.
 */
export function judgeHeapByDiff(report: ScenarioReport, threshold: number): void {
  const diff = report.heapDiff;
  const steps = report.heapDiffSteps;
  const metric = report.metrics.find((m) => m.metric === 'heapUsed');
  if (!diff || !steps || !metric || metric.verdict === 'not judged') return;
  let programBytes = 0;
  for (const g of diff.grown) {
    if (g.internal) continue;
    const held = g.newObjects > 0 ? 1 - g.newHeldByCode / g.newObjects : 1;
    programBytes += Math.max(0, g.selfSize[2] - g.selfSize[0]) * held;
  }
  const perIteration = programBytes / steps;
  const verdict: LeakVerdict = perIteration >= threshold && perIteration > 0 ? 'suspected leak' : 'no leak';
  metric.summary = `${metric.summary.replace(/; (no leak|suspected leak|inconclusive)( \(.*\))?$/, '')}; ${verdict} (heap diff over ${steps} more iterations: the program retains ${formatBytes(perIteration)}/iteration outside compiled code and JIT feedback)`;
  metric.verdict = verdict;
  report.verdict = combineVerdicts(report.metrics.map((m) => m.verdict));
}
