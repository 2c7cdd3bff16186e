// One image explained by several methods, each with its time and its scores from the metrics
// module (evaluateExplanation; the panel asks for deletion/insertion only, `camlens evaluate
// --method a,b,c` for the families it was given). The one per-method loop of the panel's
// "Compare methods" and of the CLI's comparison table.
//
// Every method explains the same class: the one asked for, else the first method's top-1. A
// method that fails (an attention method on a CNN, a channel method with --target) is an error
// cell, not the end of the comparison. The random-map baseline depends only on the image, the
// class and the map's resolution at its layer, so it is scored once per resolution and shared.
import { isCamLensError, isCancellation, throwIfCancelled } from '../errors';
import { explain } from '../explain';
import type { CamMethodName, ExplainContext, ExplainResult, ExplainWarning, MapData } from '../explainTypes';
import { evaluateExplanation, type EvaluateParams, type EvaluateResult, type MetricFamily } from '../metrics/evaluate';

/** The panel's cells: deletion and insertion AUC (with their random-map baselines). */
export const COMPARE_PANEL_METRICS: readonly MetricFamily[] = ['deletion', 'random'];

export interface CompareParams extends Omit<EvaluateParams, 'method' | 'topk'> {
  methods: CamMethodName[];
  /** Return each method's map (the panel draws them; the CLI needs only the numbers). Default true. */
  maps?: boolean;
}

export interface MethodComparison {
  method: CamMethodName;
  ok: boolean;
  /** The explanation's own time (load, run, map), as explain measures it; the first method also builds the sessions it needs. */
  explainMs: number;
  /** Scoring the map (perturbed inputs through the model). */
  metricsMs: number;
  /** The flat metrics of evaluateExplanation (random_* shared between methods of one map resolution). */
  evaluation?: EvaluateResult;
  /** The final map at the model's input size, and its size at the layer. */
  cam?: MapData;
  camRaw?: { width: number; height: number };
  layers: string[];
  warnings: ExplainWarning[];
  error?: { code: string; message: string };
}

export interface CompareResult {
  model: string;
  input: string;
  classIndex: number;
  label: string;
  /** The preprocessed-size picture the model saw (the maps' size); absent when no method succeeded. */
  image?: ExplainResult['image'];
  predictions: ExplainResult['predictions'];
  ep: string;
  methods: MethodComparison[];
  timings_ms: { total: number };
}

const errorOf = (e: unknown) => ({ code: isCamLensError(e) ? e.code : 'INTERNAL', message: (e as Error)?.message ?? String(e) });

/** The random_* scores and curves of one evaluation. */
function randomPart(r: EvaluateResult) {
  return {
    metrics: Object.fromEntries(Object.entries(r.metrics).filter(([k]) => k.startsWith('random_'))),
    curves: { random_deletion: r.curves.random_deletion, random_insertion: r.curves.random_insertion },
  };
}

export async function compareMethods(params: CompareParams, ctx: ExplainContext): Promise<CompareResult> {
  const t0 = performance.now();
  const { methods, maps = true, ...rest } = params;
  const families = new Set(params.metrics?.length ? params.metrics : COMPARE_PANEL_METRICS);
  const baselines = new Map<string, ReturnType<typeof randomPart>>();
  const out: MethodComparison[] = [];
  let classIndex = params.classIndex;
  let first: ExplainResult | undefined;
  for (const [i, method] of methods.entries()) {
    throwIfCancelled(ctx.signal, 'The comparison');
    const say = (message?: string) => ctx.progress?.(i, methods.length, message ? `${method}: ${message}` : method);
    say();
    const inner: ExplainContext = { ...ctx, progress: (done, total, message) => say(`${message ?? 'working'} ${done}/${total}`) };
    const cell: MethodComparison = { method, ok: false, explainMs: 0, metricsMs: 0, layers: [], warnings: [] };
    out.push(cell);
    try {
      const t = performance.now();
      const r = await explain({ ...rest, method, classIndex, overlay: false, topk: undefined }, inner);
      cell.explainMs = performance.now() - t;
      const e = r.explanations[0];
      first ??= r;
      classIndex ??= e.classIndex;
      cell.layers = r.layers;
      cell.warnings = r.warnings;
      cell.camRaw = { width: e.camRaw.width, height: e.camRaw.height };
      if (maps) cell.cam = e.cam;
      const key = `${e.camRaw.height}x${e.camRaw.width}`;
      const shared = baselines.get(key);
      const wanted = [...families].filter((f) => f !== 'random' || !shared);
      const m = performance.now();
      const evaluation = await evaluateExplanation({ ...rest, method, classIndex, metrics: wanted.length ? wanted : ['random'] }, inner, r);
      cell.metricsMs = performance.now() - m;
      if (families.has('random')) {
        if (shared) {
          Object.assign(evaluation.metrics, shared.metrics);
          Object.assign(evaluation.curves, shared.curves);
        } else baselines.set(key, randomPart(evaluation));
      }
      cell.evaluation = evaluation;
      cell.ok = true;
    } catch (e) {
      if (isCancellation(e)) throw e;
      cell.error = errorOf(e);
    }
  }
  ctx.progress?.(methods.length, methods.length, 'done');
  const e = first?.explanations[0];
  return {
    model: params.modelPath,
    input: params.input,
    classIndex: e?.classIndex ?? classIndex ?? -1,
    label: e?.label ?? '',
    ...(first ? { image: first.image } : {}),
    predictions: first?.predictions ?? [],
    ep: first?.ep ?? '',
    methods: out,
    timings_ms: { total: performance.now() - t0 },
  };
}
