import * as fs from 'node:fs';
import * as path from 'node:path';
import { CamLensError } from '../../engine/errors';
import { LEAK_SCENARIOS } from '../../engine/diagnostics/leakCheck';
import type { PlantedLeak } from '../../engine/diagnostics/scenarios';
import { WorkerClient } from '../../worker/client';
import { CAM_METHODS, type CamMethodName, type LeakCheckParams, type LeakScenarioName } from '../../worker/protocol';
import { usageError, type CliIO, type Command } from '../command';
import { formatLeakReport } from '../diagnosticsReports';
import { intOption, LIMITS, numberOption } from '../options';
import { providerCliOptions, providerFromArgs, providerHelp, asCliError } from '../worker';

/** Exit code when the check ran and found a suspected leak (0: none; 1: error; 2: usage). */
export const LEAK_EXIT_CODE = 3;

/** A worker with --expose-gc, so every iteration is measured after a full collection. */
export function startDiagnosticsWorker(): { worker: WorkerClient; abort: AbortController; done(): Promise<void> } {
  const worker = new WorkerClient({ workerPath: path.join(__dirname, 'worker.js'), defaultTimeoutMs: 0, execArgv: ['--expose-gc'] });
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  return {
    worker,
    abort,
    done: async () => {
      process.off('SIGINT', onSigint);
      await worker.dispose();
    },
  };
}

/** Bytes: a plain number, or with a unit (B, KB/KiB, MB/MiB; k = 1024). */
export function parseBytes(flag: string, text: unknown): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$/i.exec(String(text));
  if (!m) throw usageError(`${flag}: expected a number of bytes (e.g. 1024, 1KiB, 2MiB), got "${text}".`);
  const unit = (m[2] ?? 'b').toLowerCase()[0];
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1);
}

function plantFromArgs(values: Record<string, unknown>): PlantedLeak | undefined {
  const kind = values.plant as string | undefined;
  if (kind !== undefined && kind !== 'tensors' && kind !== 'heap' && kind !== 'native')
    throw usageError(`--plant: expected tensors, heap or native, got "${kind}".`);
  return (kind as PlantedLeak | undefined) ?? (values['self-test'] ? 'tensors' : undefined);
}

export const leakCheckCommand: Command = {
  name: 'leak-check',
  summary: 'Run a workflow many times in the worker and test whether memory or live objects grow per iteration.',
  usage:
    'camlens leak-check <model.onnx> <image> [--scenario explain|taps|sessions|all] [--iterations N] [--warmup N] [--threshold BYTES] [--no-heap-diff] [--keep-snapshots DIR] [--json]',
  details: [
    'Scenarios: explain (one full explanation), taps (register a tap, run, remove it),',
    'sessions (open a session, run, release it); all (default) runs the three in turn.',
    'After the warm-up, each iteration ends with a full GC and a reading of rss, heapUsed,',
    'heapTotal, external, arrayBuffers and the live sessions / tap handles / tensors; a',
    'least-squares line per metric gives its slope per iteration with a confidence interval',
    'and R². What the worker retains (external and array-buffer memory, accounted tensors and',
    'sessions, live objects) is a suspected leak when the whole interval lies above the threshold',
    '(counters: above 0 objects/iteration) and the growth persists over the second half. rss and',
    "the heap also grow while allocators and V8's compiled code warm up, ever slower: flat over",
    'the last third of the run is no leak, still growing is "inconclusive" (never a leak by',
    'itself); the heap diff judges the heap. heapTotal is not judged.',
    'The heap diff (memlab-style) takes V8 heap snapshots after the warm-up, after the run and',
    'after one more forced GC, and lists the object types whose count and retained size grew,',
    'with the retainer path (GC roots → …) of one new instance for the top few types.',
    '',
    'Options:',
    `  --scenario NAME    ${[...LEAK_SCENARIOS, 'all'].join(', ')} (default all)`,
    '  --iterations N     measured iterations per scenario (default: sized to the budget from the',
    '                     time of one iteration, 12 to 100)',
    '  --warmup N         iterations run first and discarded (default 10, fewer for slow iterations)',
    '  --budget SECONDS   wall time a default-sized check aims at, all scenarios together (default 75)',
    '  --threshold BYTES  growth per iteration that counts as a leak (default 1KiB; 1024, 1KiB, 2MiB)',
    '  --confidence P     confidence of the intervals (default 0.95)',
    '  --method NAME      CAM method of the explain scenario (default gradcam)',
    '  --json             print the JSON report (with the measured series)',
    '  --report FILE      also write the JSON report to FILE',
    '  --config FILE      preprocessing config of the explain scenario (as for explain)',
    '  --self-test        plant a leak (keep every output tensor) that the check must flag',
    '  --plant KIND       plant a leak of another kind: tensors, heap (JS objects) or native (Buffers)',
    '  --plant-bytes N    bytes a heap or native planted leak keeps per iteration (default 1KiB)',
    '  --heap-diff        diff heap snapshots per scenario (the default)',
    '  --no-heap-diff     skip the snapshots (faster; no heap diff in the report)',
    '  --keep-snapshots DIR  keep the .heapsnapshot files in DIR (open them in DevTools)',
    providerHelp,
    '',
    `Exit status: 0 no leak or inconclusive (printed), ${LEAK_EXIT_CODE} suspected leak, 1 error, 2 usage error.`,
  ].join('\n'),
  options: {
    scenario: { type: 'string' },
    iterations: { type: 'string' },
    warmup: { type: 'string' },
    threshold: { type: 'string' },
    confidence: { type: 'string' },
    method: { type: 'string' },
    json: { type: 'boolean' },
    report: { type: 'string' },
    'self-test': { type: 'boolean' },
    plant: { type: 'string' },
    budget: { type: 'string' },
    'plant-bytes': { type: 'string' },
    config: { type: 'string' },
    'heap-diff': { type: 'boolean' },
    'no-heap-diff': { type: 'boolean' },
    'keep-snapshots': { type: 'string' },
    ...providerCliOptions,
  },
  async run(positionals, values, io) {
    if (positionals.length !== 2) throw usageError(`leak-check: expected a model and an image, got ${positionals.length} arguments.\nUsage: ${this.usage}`);
    const [modelPath, input] = positionals;
    const scenario = (values.scenario as string | undefined) ?? 'all';
    if (scenario !== 'all' && !LEAK_SCENARIOS.includes(scenario as LeakScenarioName))
      throw usageError(`--scenario: "${scenario}" is not one of ${[...LEAK_SCENARIOS, 'all'].join(', ')}.`);
    const method = values.method as string | undefined;
    if (method !== undefined && !CAM_METHODS.includes(method as CamMethodName))
      throw usageError(`--method: "${method}" is not one of ${CAM_METHODS.join(', ')}.`);
    const confidence = numberOption('--confidence', values.confidence, { min: 0, max: 1, minExclusive: true, maxExclusive: true });
    if (values['heap-diff'] && values['no-heap-diff']) throw usageError('leak-check: --heap-diff and --no-heap-diff contradict each other.');
    const keep = values['keep-snapshots'] as string | undefined;
    if (keep !== undefined && !keep) throw usageError('--keep-snapshots: expected a folder.');
    const params: LeakCheckParams = {
      modelPath,
      input,
      scenario: scenario as LeakScenarioName | 'all',
      iterations: intOption('--iterations', values.iterations, LIMITS.iterations),
      warmup: intOption('--warmup', values.warmup, LIMITS.warmup),
      budgetSeconds: numberOption('--budget', values.budget, { min: 0, max: 86_400, minExclusive: true }),
      thresholdBytes: values.threshold === undefined ? undefined : parseBytes('--threshold', values.threshold),
      confidence,
      method: method as CamMethodName | undefined,
      provider: providerFromArgs(values),
      series: Boolean(values.json || values.report),
      plantLeak: plantFromArgs(values),
      ...(values['plant-bytes'] !== undefined ? { plantBytes: parseBytes('--plant-bytes', values['plant-bytes']) } : {}),
      ...(typeof values.config === 'string' ? { configPath: path.resolve(values.config) } : {}),
      heapDiff: !values['no-heap-diff'],
      ...(keep ? { keepHeapSnapshots: path.resolve(keep) } : {}),
    };
    const { worker, abort, done } = startDiagnosticsWorker();
    try {
      const report = await worker.request('leakCheck', params, { signal: abort.signal, onProgress: progressPrinter(io) });
      clearProgress(io);
      if (typeof values.report === 'string') fs.writeFileSync(values.report, JSON.stringify(report, null, 1) + '\n');
      io.out(values.json ? JSON.stringify(report, null, 1) + '\n' : formatLeakReport(report));
      return report.verdict === 'suspected leak' ? LEAK_EXIT_CODE : 0;
    } catch (e) {
      clearProgress(io);
      const err = e as { code?: string; message: string };
      if (err.code === 'CANCELLED') throw new CamLensError('BAD_ARGUMENT', 'leak-check: cancelled.');
      throw asCliError(e);
    } finally {
      await done();
    }
  },
};

function progressPrinter(io: CliIO): (done: number, total: number, message?: string) => void {
  if (!process.stderr.isTTY) return () => undefined;
  let last = 0;
  return (done, total, message) => {
    const now = Date.now();
    if (now - last < 200 && done < total) return;
    last = now;
    io.err(`\r\x1b[K${done}/${total} ${message ?? ''}`);
  };
}

function clearProgress(io: CliIO): void {
  if (process.stderr.isTTY) io.err('\r\x1b[K');
}
