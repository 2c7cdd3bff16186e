// `camlens evaluate`: explain each image and score the explanation (localisation against ground
// truth, faithfulness, stability, sanity), each beside a random-map baseline. Writes
// summary.csv (a row per image) and summary.json ({images: [...], mean: {...}}) with --out,
// prints the JSON with --json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAtomic } from '../../engine/batch/atomicFileWriter';
import { checkOutputFolder, makeOutputFolder } from '../../engine/batch/outputFolder';
import { csvCell } from '../../engine/csv';
import { CamLensError } from '../../engine/errors';
import { DEFAULT_METRICS, METRIC_FAMILIES, type EvaluateParams, type EvaluateResult, type MetricFamily } from '../../engine/metrics/evaluate';
import { parseThreshold } from '../../engine/metrics/localisation';
import { usageError, type CliIO, type Command } from '../command';
import { intOption, LIMITS, numberOption } from '../options';
import { asCliError, startWorker } from '../worker';
import { CAM_METHODS, type CamMethodName, type CompareResult } from '../../worker/protocol';
import { explainHelp, explainOptions, explainParamsFromArgs } from './explain';
import { comparisonTable } from './evaluateTable';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif', '.avif', '.jfif', '.npy']);
const isMask = (f: string) => /(\.|_)mask\.[^.]+$/i.test(f);

/** Images named directly, plus the images in named folders (masks excluded), in name order. */
export function expandInputs(inputs: string[]): string[] {
  return inputs.flatMap((p) => {
    if (!fs.existsSync(p)) throw new CamLensError('BAD_ARGUMENT', `evaluate: ${p} does not exist.`);
    if (!fs.statSync(p).isDirectory()) return [p];
    return fs
      .readdirSync(p)
      .filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase()) && !isMask(f))
      .sort()
      .map((f) => path.join(p, f));
  });
}

/** Column order of summary.csv: the issue's keys first, then the rest, then the random baselines. */
export const METRIC_ORDER = [
  'iou',
  'pointing_game',
  'energy_in_mask',
  'topk_intersection',
  'deletion_auc',
  'insertion_auc',
  'confidence_drop',
  'confidence_change',
  'confidence_increase',
  'region_confidence',
  'road_morf',
  'road_lerf',
  'road_combined',
  'stability',
  'max_sensitivity',
  'sanity_spearman',
];

export function metricColumns(rows: ReadonlyArray<Record<string, number>>): string[] {
  const present = new Set(rows.flatMap((r) => Object.keys(r)));
  const known = [...METRIC_ORDER, ...METRIC_ORDER.map((k) => `random_${k}`)];
  return [...known.filter((k) => present.has(k)), ...[...present].filter((k) => !known.includes(k)).sort()];
}

export function meanMetrics(rows: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const mean: Record<string, number> = {};
  for (const k of metricColumns(rows)) {
    const vs = rows.map((r) => r[k]).filter((v) => typeof v === 'number' && Number.isFinite(v));
    if (vs.length) mean[k] = vs.reduce((a, b) => a + b, 0) / vs.length;
  }
  return mean;
}

const evaluateCell = (v: string | number) => csvCell(v, (n) => (Number.isInteger(n) ? String(n) : n.toPrecision(6)));

export function summaryCsv(results: readonly EvaluateResult[]): string {
  const cols = metricColumns(results.map((r) => r.metrics));
  const head = ['image', 'method', 'class', 'label', ...cols];
  const lines = results.map((r) => [r.input, r.method, r.classIndex, r.label, ...cols.map((c) => r.metrics[c] ?? '')].map(evaluateCell).join(','));
  return [head.join(','), ...lines].join('\n') + '\n';
}

export function summaryJson(results: readonly EvaluateResult[]) {
  return {
    images: results.map((r) => ({
      image: r.input,
      model: r.model,
      method: r.method,
      layers: r.layers,
      class: r.classIndex,
      label: r.label,
      ep: r.ep,
      ...r.metrics,
      ground_truth: r.groundTruth,
      details: r.details,
      curves: r.curves,
      model_runs: r.modelRuns,
      timings_ms: Object.fromEntries(Object.entries(r.timings_ms).map(([k, v]) => [k, Math.round(v * 10) / 10])),
    })),
    mean: meanMetrics(results.map((r) => r.metrics)),
  };
}

function parseFamilies(text: unknown): MetricFamily[] | undefined {
  if (text === undefined) return undefined;
  const aliases: Record<string, MetricFamily> = {
    insertion: 'deletion',
    faithfulness: 'deletion',
    localization: 'localisation',
    pointing: 'localisation',
    iou: 'localisation',
    randomisation: 'sanity',
    randomization: 'sanity',
  };
  const names = String(text)
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (names.includes('all')) return [...METRIC_FAMILIES];
  return [
    ...new Set(
      names.map((n) => {
        const f = (aliases[n] ?? n) as MetricFamily;
        if (!METRIC_FAMILIES.includes(f)) throw usageError(`--metrics: "${n}" is not one of ${METRIC_FAMILIES.join(', ')}, all.`);
        return f;
      }),
    ),
  ];
}

export function evaluateOptionsFromArgs(
  values: Record<string, unknown>,
): Omit<EvaluateParams, keyof ReturnType<typeof explainParamsFromArgs>> & Partial<EvaluateParams> {
  const baseline = (flag: string) => {
    const v = values[flag] as string | undefined;
    if (v !== undefined && v !== 'blur' && v !== 'mean') throw usageError(`--${flag}: expected blur or mean, got "${v}".`);
    return v as 'blur' | 'mean' | undefined;
  };
  const num = (flag: string, max: number) => numberOption(`--${flag}`, values[flag], { min: 0, max });
  if (values.threshold !== undefined) parseThreshold(String(values.threshold));
  const road = values['road-percentiles'] === undefined ? undefined : String(values['road-percentiles']).split(',').map(Number);
  if (road && road.some((q) => !(q > 0 && q < 100)))
    throw usageError(`--road-percentiles: expected percentiles in (0, 100), got "${values['road-percentiles']}".`);
  const seed = intOption('--seed', values.seed, { min: -(2 ** 31), max: 2 ** 32 - 1 });
  return {
    metrics: parseFamilies(values.metrics),
    gt: values.gt as string | undefined,
    threshold: values.threshold as string | undefined,
    topK: intOption('--top-k-pixels', values['top-k-pixels'], LIMITS.topKPixels),
    pointingTolerance: num('pointing-tolerance', 10_000),
    steps: intOption('--steps', values.steps, LIMITS.steps),
    deletionBaseline: baseline('deletion-baseline'),
    insertionBaseline: baseline('insertion-baseline'),
    blurSigma: num('blur-sigma', 1000),
    roadPercentiles: road,
    stabilityDraws: intOption('--draws', values.draws, LIMITS.draws),
    stabilitySigma: num('sigma', 1000),
    sanityCascade: Boolean(values.cascade),
    seed,
    metricsBatchSize: intOption('--metrics-batch-size', values['metrics-batch-size'], LIMITS.batchSize),
  };
}

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'Score explanations: localisation (vs masks/boxes), deletion/insertion, confidence, ROAD, stability, sanity; random-map baselines.',
  usage: 'camlens evaluate <model.onnx> <images-or-folders>... [--method a,b,c] [--gt FILE] [--metrics LIST] [explain options] [--out DIR] [--json]',
  details: [
    'Options:',
    '  --method LIST       one method, or several comma-separated: each image is explained by every method',
    '                      (the same class for all) and one table compares them (a row per method, the',
    '                      random map as a row, the best value of each column starred); summary.csv has a',
    '                      row per image and method. Exit code 3 when some method failed on some image.',
    '  --out DIR           write summary.csv (a row per image) and summary.json ({images, mean}); one method: --out or --json is required',
    '  --json              print summary.json to stdout',
    `  --metrics LIST      families, comma-separated: ${METRIC_FAMILIES.join(', ')}, all`,
    '                      (default localisation,deletion,confidence,stability,random)',
    '  --gt FILE|DIR       ground truth: COCO/labels JSON, VOC XML, CSV file,x0,y0,x1,y1, a mask, or a folder;',
    '                      default: S.mask.png or S_mask.png or labels.json beside each image',
    '  --threshold T       IoU threshold: fixed:0.5 (default), topk:<percent>, otsu',
    '  --top-k-pixels K    top-K intersection size (default min(1000, pixels/4))',
    '  --pointing-tolerance PX  pointing game tolerance in pixels (default 0)',
    '  --steps N           deletion/insertion steps (default 20)',
    '  --deletion-baseline mean|blur (default mean); --insertion-baseline blur|mean (default blur); --blur-sigma S',
    '  --road-percentiles LIST  ROAD percentiles (default 10,...,90)',
    '  --draws K           stability noise draws (default 8); --sigma F: noise σ as a fraction of the input range (0.01)',
    '  --cascade           sanity check: re-randomise one more layer per step, top-down (default: all at once)',
    '  --seed N            base seed of every random draw (default 0; reported)',
    '  --metrics-batch-size N  perturbed inputs per model run (default 32)',
    explainHelp,
  ].join('\n'),
  options: {
    out: { type: 'string' },
    json: { type: 'boolean' },
    metrics: { type: 'string' },
    gt: { type: 'string' },
    threshold: { type: 'string' },
    'top-k-pixels': { type: 'string' },
    'pointing-tolerance': { type: 'string' },
    steps: { type: 'string' },
    'deletion-baseline': { type: 'string' },
    'insertion-baseline': { type: 'string' },
    'blur-sigma': { type: 'string' },
    'road-percentiles': { type: 'string' },
    draws: { type: 'string' },
    sigma: { type: 'string' },
    cascade: { type: 'boolean' },
    // --seed comes with explainOptions (the same seed also draws RISE masks and SmoothGrad noise).
    'metrics-batch-size': { type: 'string' },
    ...explainOptions,
  },
  async run(positionals, values, io) {
    if (positionals.length < 2) throw usageError(`evaluate: expected a model and at least one image or folder.\nUsage: ${this.usage}`);
    const methods = methodList(values.method);
    // One method writes its figures; several print their comparison table (files optional).
    if (methods.length === 1 && typeof values.out !== 'string' && !values.json) throw usageError('evaluate: give --out <dir>, --json, or both.');
    if (typeof values.out === 'string') checkOutputFolder(values.out, '--out'); // before computing anything
    const [modelPath, ...inputs] = positionals;
    const options = evaluateOptionsFromArgs(values);
    const images = expandInputs(inputs);
    if (!images.length) throw usageError(`evaluate: no images found in ${inputs.join(', ')}.`);
    if (methods.length > 1) return compareRun(modelPath, images, methods, options, values, io);
    const results: EvaluateResult[] = [];
    const worker = startWorker(values);
    try {
      for (const image of images) {
        const params: EvaluateParams = { ...explainParamsFromArgs(values, modelPath, image), ...options };
        const r = await worker.request('evaluate', params);
        results.push(r);
        if (!values.json) {
          const shown = ['iou', 'pointing_game', 'deletion_auc', 'insertion_auc', 'stability']
            .filter((k) => k in r.metrics)
            .map((k) => `${k} ${r.metrics[k].toFixed(3)}${`random_${k}` in r.metrics ? ` (random ${r.metrics[`random_${k}`].toFixed(3)})` : ''}`);
          io.out(`${image}: class ${r.classIndex} (${r.label}) ${shown.join(', ')}; ${r.timings_ms.total.toFixed(0)} ms\n`);
        }
      }
    } catch (e) {
      throw asCliError(e);
    } finally {
      await worker.dispose();
    }
    const summary = summaryJson(results);
    if (!(await writeSummaries(values, results, summary, io))) {
      const m = summary.mean;
      io.out(
        `mean over ${results.length} image(s): ${Object.entries(m)
          .filter(([k]) => !k.startsWith('random_'))
          .map(([k, v]) => `${k} ${v.toFixed(3)}${`random_${k}` in m ? ` (random ${m[`random_${k}`].toFixed(3)})` : ''}`)
          .join(', ')}\n`,
      );
      if (typeof values.out === 'string') io.out(`wrote ${path.join(values.out, 'summary.csv')} and summary.json\n`);
    }
    return 0;
  },
};

/** summary.csv and summary.json into --out, and the JSON to stdout with --json (then true: nothing else is printed). */
async function writeSummaries(values: Record<string, unknown>, results: readonly EvaluateResult[], summary: object, io: CliIO): Promise<boolean> {
  if (typeof values.out === 'string') {
    makeOutputFolder(values.out, '--out');
    await writeAtomic(path.join(values.out, 'summary.csv'), summaryCsv(results));
    await writeAtomic(path.join(values.out, 'summary.json'), JSON.stringify(summary, null, 1) + '\n');
  }
  if (values.json) io.out(JSON.stringify(summary, null, 1) + '\n');
  return Boolean(values.json);
}

/** --method a,b,c: the methods, each checked; one when the flag is absent (gradcam). */
function methodList(text: unknown): CamMethodName[] {
  const names = String(text ?? 'gradcam')
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  for (const m of names) if (!CAM_METHODS.includes(m as CamMethodName)) throw usageError(`--method: "${m}" is not one of ${CAM_METHODS.join(', ')}.`);
  if (!names.length) throw usageError('--method: give at least one method.');
  return [...new Set(names)] as CamMethodName[];
}

/** Several methods: one `compare` request per image, one table over all of them. */
async function compareRun(
  modelPath: string,
  images: string[],
  methods: CamMethodName[],
  options: ReturnType<typeof evaluateOptionsFromArgs>,
  values: Record<string, unknown>,
  io: CliIO,
): Promise<number> {
  const compared: CompareResult[] = [];
  const worker = startWorker(values);
  try {
    for (const image of images) {
      const { method: _m, ...params } = explainParamsFromArgs({ ...values, method: methods[0] }, modelPath, image);
      // The families a one-method evaluate computes when --metrics is absent (compare's own default is the panel's).
      const r = await worker.request('compare', { ...params, ...options, metrics: options.metrics ?? [...DEFAULT_METRICS], methods, maps: false });
      compared.push(r);
      if (!values.json) io.err(`${image}: class ${r.classIndex} (${r.label}), ${methods.length} methods in ${r.timings_ms.total.toFixed(0)} ms\n`);
    }
  } catch (e) {
    throw asCliError(e);
  } finally {
    await worker.dispose();
  }
  const results = compared.flatMap((r) => r.methods.flatMap((m) => (m.evaluation ? [m.evaluation] : [])));
  const failed = compared.flatMap((r) => r.methods.filter((m) => !m.ok).map((m) => ({ image: r.input, method: m.method, error: m.error })));
  // Means per method: one mean over every method's rows would mix the methods being compared.
  const mean = Object.fromEntries(methods.map((m) => [m, meanMetrics(results.filter((r) => r.method === m).map((r) => r.metrics))]));
  const summary = { ...summaryJson(results), mean, failed };
  if (!(await writeSummaries(values, results, summary, io))) {
    io.out(comparisonTable(compared, metricColumns) + '\n');
    if (typeof values.out === 'string') io.out(`wrote ${path.join(values.out, 'summary.csv')} and summary.json\n`);
  }
  return failed.length ? 3 : 0;
}
