// Sequence outputs of CTC text recognisers ([T, N, C] or [N, T, C]: per time step, scores over
// C symbols, one of them the blank). Whole-sequence targets are the CTC log-likelihood
// log P(labels | x) = log Σ over every alignment that collapses to the labels of Π_t p_t(symbol),
// for the greedy-decoded labels or given ones; its gradient with respect to the output is the
// per-step posterior of each symbol (forward-backward), fed as the cotangent. A time-step target
// is one element: the score of the symbol at step t.
import { CamLensError } from '../errors';

/** TNC: [T, N, C] (torch.nn.CTCLoss's order); NTC: [N, T, C] (batch first, most exports). */
export type SequenceLayout = 'TNC' | 'NTC';
export const SEQUENCE_LAYOUTS: readonly SequenceLayout[] = ['TNC', 'NTC'];

/**
 * The layout of a rank-3 output: named, or from the shape when exactly one of its first two axes
 * is the batch of 1 ([1, 40, 6625] → NTC, [26, 1, 37] → TNC; [1, 1, C] is one step either way).
 */
export function sequenceLayoutOf(value: string, dims: readonly number[], named?: SequenceLayout): SequenceLayout {
  if (dims.length !== 3)
    throw new CamLensError('BAD_ARGUMENT', `Output "${value}" has shape [${dims.join(', ')}]; sequence targets need [T, N, C] or [N, T, C].`);
  if (named) return named;
  if (dims[0] === 1) return 'NTC';
  if (dims[1] === 1) return 'TNC';
  throw new CamLensError(
    'BAD_ARGUMENT',
    `Output "${value}" [${dims.join(', ')}]: which axis is time cannot be told (neither of the first two is a batch of 1); name it with --sequence-layout TNC or NTC.`,
  );
}

/** Steps and symbols of batch row 0, and where (t, c) lies in the output. */
export function sequenceSizes(dims: readonly number[], layout: SequenceLayout): { steps: number; symbols: number } {
  return { steps: layout === 'TNC' ? dims[0] : dims[1], symbols: dims[2] };
}

export function sequenceIndex(layout: SequenceLayout, t: number, c: number): number[] {
  return layout === 'TNC' ? [t, 0, c] : [0, t, c];
}

/** Row-major offset of (t, c) of batch row 0 in an output of `dims`. */
export function sequenceOffset(dims: readonly number[], layout: SequenceLayout, t: number, c: number): number {
  return layout === 'TNC' ? t * dims[1] * dims[2] + c : t * dims[2] + c;
}

/** The best symbol per step (the first on ties). */
export function bestPath(data: ArrayLike<number>, dims: readonly number[], layout: SequenceLayout): number[] {
  const { steps, symbols } = sequenceSizes(dims, layout);
  return Array.from({ length: steps }, (_, t) => {
    let best = 0;
    for (let c = 1; c < symbols; c++) if (data[sequenceOffset(dims, layout, t, c)] > data[sequenceOffset(dims, layout, t, best)]) best = c;
    return best;
  });
}

/** Greedy CTC decoding: repeats merged, then blanks dropped. */
export function collapsePath(path: readonly number[], blank: number): number[] {
  const out: number[] = [];
  path.forEach((c, t) => {
    if (c !== blank && (t === 0 || path[t - 1] !== c)) out.push(c);
  });
  return out;
}

/** What the output's scores are: logits (log-softmax'd per step; log-probabilities pass unchanged) or probabilities (logged). */
export type SequenceScores = 'logits' | 'probabilities';

const logAdd = (a: number, b: number) => (a === -Infinity ? b : b === -Infinity ? a : Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b))));

/** Per step, log p_t(c) in float64. */
export function stepLogProbs(data: ArrayLike<number>, dims: readonly number[], layout: SequenceLayout, scores: SequenceScores): Float64Array[] {
  const { steps, symbols } = sequenceSizes(dims, layout);
  return Array.from({ length: steps }, (_, t) => {
    const row = Float64Array.from({ length: symbols }, (_, c) => data[sequenceOffset(dims, layout, t, c)]);
    if (scores === 'probabilities') return row.map(Math.log);
    const m = Math.max(...row);
    let z = 0;
    for (const v of row) z += Math.exp(v - m);
    const lse = m + Math.log(z);
    return row.map((v) => v - lse);
  });
}

export interface CtcScore {
  /** log P(labels | x). */
  logLikelihood: number;
  /** Per step, the posterior probability of each symbol: d log P / d log p_t(c). */
  posterior: Float64Array[];
}

/** log P(labels | x) and its posteriors by the forward-backward recursions over the blank-padded labels. */
export function ctcScore(logp: readonly Float64Array[], labels: readonly number[], blank: number): CtcScore {
  const steps = logp.length;
  const symbols = logp[0]?.length ?? 0;
  for (const l of labels)
    if (!Number.isInteger(l) || l < 0 || l >= symbols || l === blank)
      throw new CamLensError('BAD_ARGUMENT', `Label ${l} is not a symbol of the output (0–${symbols - 1}, blank ${blank} excluded).`);
  const ext = [blank];
  for (const l of labels) ext.push(l, blank);
  const S = ext.length;
  // Alignments need a step per label, plus one between repeated labels.
  const needed = labels.length + labels.filter((l, i) => i > 0 && labels[i - 1] === l).length;
  if (needed > steps)
    throw new CamLensError('BAD_ARGUMENT', `The label sequence needs ${needed} time steps; the output has ${steps}: no alignment can produce it.`);
  const canSkip = (s: number) => s >= 2 && ext[s] !== blank && ext[s] !== ext[s - 2];
  const alpha = Array.from({ length: steps }, () => new Float64Array(S).fill(-Infinity));
  const beta = Array.from({ length: steps }, () => new Float64Array(S).fill(-Infinity));
  alpha[0][0] = logp[0][ext[0]];
  if (S > 1) alpha[0][1] = logp[0][ext[1]];
  for (let t = 1; t < steps; t++)
    for (let s = 0; s < S; s++) {
      let a = alpha[t - 1][s];
      if (s >= 1) a = logAdd(a, alpha[t - 1][s - 1]);
      if (canSkip(s)) a = logAdd(a, alpha[t - 1][s - 2]);
      alpha[t][s] = a + logp[t][ext[s]];
    }
  // beta[t][s]: log of the suffixes after step t from state s (step t's emission not included).
  beta[steps - 1][S - 1] = 0;
  if (S > 1) beta[steps - 1][S - 2] = 0;
  for (let t = steps - 2; t >= 0; t--)
    for (let s = 0; s < S; s++) {
      let b = beta[t + 1][s] + logp[t + 1][ext[s]];
      if (s + 1 < S) b = logAdd(b, beta[t + 1][s + 1] + logp[t + 1][ext[s + 1]]);
      if (s + 2 < S && canSkip(s + 2)) b = logAdd(b, beta[t + 1][s + 2] + logp[t + 1][ext[s + 2]]);
      beta[t][s] = b;
    }
  const logLikelihood = S > 1 ? logAdd(alpha[steps - 1][S - 1], alpha[steps - 1][S - 2]) : alpha[steps - 1][0];
  if (!Number.isFinite(logLikelihood))
    throw new CamLensError('BAD_ARGUMENT', 'The label sequence has probability 0 under this output (log-likelihood −∞): its gradient is undefined.');
  const posterior = Array.from({ length: steps }, (_, t) => {
    const g = new Float64Array(symbols);
    for (let s = 0; s < S; s++) g[ext[s]] += Math.exp(alpha[t][s] + beta[t][s] - logLikelihood);
    return g;
  });
  return { logLikelihood, posterior };
}

/**
 * d log P / d(output) for batch row 0 (other rows 0): for logits, posterior − softmax (the
 * log-softmax's derivative); for probabilities, posterior / p. Log-probabilities are read as
 * logits: a log-softmax of log-probabilities is themselves, and the gradient upstream of the
 * normalisation is the same.
 */
export function ctcCotangentData(
  dims: readonly number[],
  layout: SequenceLayout,
  scores: SequenceScores,
  logp: readonly Float64Array[],
  ctc: CtcScore,
): Float32Array {
  const out = new Float32Array(dims.reduce((a, b) => a * b, 1));
  ctc.posterior.forEach((g, t) => {
    for (let c = 0; c < g.length; c++) {
      const v = scores === 'logits' ? g[c] - Math.exp(logp[t][c]) : g[c] === 0 ? 0 : Math.exp(Math.log(g[c]) - logp[t][c]);
      out[sequenceOffset(dims, layout, t, c)] = v;
    }
  });
  return out;
}
