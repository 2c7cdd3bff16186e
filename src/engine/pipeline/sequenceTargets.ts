// Sequence (CTC) outputs: one forward run reads the best path and its greedy decoding; the target
// is then one time step's best symbol (an element), or a label sequence's CTC log-likelihood
// whose gradient (engine/targets/ctc) is fed as the cotangent.
import { CamLensError } from '../errors';
import type { ExplainParams, ExplainWarning, SequenceReading } from '../explainTypes';
import type { LoadedModel } from '../model';
import type { PlainTensor } from '../runtime/tapRunner';
import {
  bestPath,
  collapsePath,
  ctcCotangentData,
  ctcScore,
  sequenceIndex,
  sequenceLayoutOf,
  sequenceOffset,
  sequenceSizes,
  stepLogProbs,
} from '../targets/ctc';
import type { GradientRunContext } from './gradientRun';
import { outputIsProbabilities, rowsAreDistributions } from './predictions';
import { readValue, type ValueTarget } from './targetRun';

export interface SequenceRun {
  targets: ValueTarget[];
  reading: SequenceReading;
  warnings: ExplainWarning[];
}

const textOf = (symbols: readonly number[], labels: readonly string[] | undefined) => symbols.map((c) => labels?.[c] ?? `[${c}]`).join('');

export async function resolveSequence(
  model: LoadedModel,
  ctx: GradientRunContext,
  params: ExplainParams,
  output: string,
  input: PlainTensor,
  labels: readonly string[] | undefined,
): Promise<SequenceRun> {
  const o = params.sequence ?? {};
  const out = await readValue(model, ctx, output, input);
  const data = out.data as Float32Array;
  const layout = sequenceLayoutOf(output, out.dims, o.layout);
  const { steps, symbols } = sequenceSizes(out.dims, layout);
  const blank = o.blank ?? 0;
  if (!Number.isInteger(blank) || blank < 0 || blank >= symbols)
    throw new CamLensError('BAD_ARGUMENT', `--blank ${blank}: output "${output}" has ${symbols} symbols (0–${symbols - 1}).`);
  const path = bestPath(data, out.dims, layout);
  const decoded = collapsePath(path, blank);
  const reading: SequenceReading = { layout, path, decoded, ...(labels ? { text: textOf(decoded, labels) } : {}) };
  const warnings: ExplainWarning[] = [];
  if (o.step !== undefined) {
    if (!Number.isInteger(o.step) || o.step < 0 || o.step >= steps)
      throw new CamLensError('BAD_ARGUMENT', `--sequence-step ${o.step}: output "${output}" has ${steps} time steps (0–${steps - 1}).`);
    const c = params.classIndex ?? path[o.step];
    if (!Number.isInteger(c) || c < 0 || c >= symbols) throw new CamLensError('BAD_ARGUMENT', `Class ${c} is not one of the output's ${symbols} symbols.`);
    if (c === blank && params.classIndex === undefined)
      warnings.push({ code: 'blank-step', message: `Time step ${o.step} reads the blank: its map explains "no character here".` });
    const index = sequenceIndex(layout, o.step, c);
    return {
      targets: [
        {
          spec: { value: output, select: { kind: 'index', index } },
          dims: out.dims,
          classIndex: c,
          label: `step ${o.step}: ${c === blank ? 'blank' : textOf([c], labels)}`,
          score: data[sequenceOffset(out.dims, layout, o.step, c)],
        },
      ],
      reading,
      warnings,
    };
  }
  const sequence = o.labels ?? decoded;
  if (!o.labels && !decoded.length)
    warnings.push({
      code: 'empty-sequence',
      message: `The greedy decoding of "${output}" is empty (every step reads the blank): the map explains the likelihood of reading nothing; give --target-sequence to explain a text.`,
    });
  const scores = outputIsProbabilities(model, output) || rowsAreDistributions(data.subarray(0, steps * symbols), symbols) ? 'probabilities' : 'logits';
  const logp = stepLogProbs(data, out.dims, layout, scores);
  const ctc = ctcScore(logp, sequence, blank);
  return {
    targets: [
      {
        spec: { value: output, select: { kind: 'sum' } },
        dims: out.dims,
        classIndex: -1,
        label: `"${textOf(sequence, labels)}"`,
        score: ctc.logLikelihood,
        fed: {
          cotangent: { dtype: 'float32', dims: out.dims, data: ctcCotangentData(out.dims, layout, scores, logp, ctc) },
          target: { value: output, index: [], score: ctc.logLikelihood, reduce: 'ctc', sequence: [...sequence] },
        },
      },
    ],
    reading,
    warnings,
  };
}
