// What an explanation differentiates: one scalar taken from one value of the model (a graph
// output or any internal value). Every target CamLens explains is one of these: a class is the
// element [0, c] of the score output, top-1 its largest element, a detection its class score at
// its anchor, a segmentation region the sum of a class channel under a mask.
import { CamLensError } from '../errors';

/** How the scalar is taken from the value. */
export type ElementSelector =
  /** One element, by its full index (one entry per dim of the value, batch dim included). */
  | { kind: 'index'; index: number[] }
  /** The largest element (per input row: the top-1 class for [N, K] scores). */
  | { kind: 'max' }
  /** The sum of all elements. */
  | { kind: 'sum' };

export interface TargetSpec {
  value: string;
  select: ElementSelector;
}

/** The scalar actually explained, as S.json reports it. */
export interface ExplainedTarget {
  value: string;
  /** The element's index in the value (for a sum: empty; for a region: [0, class]; a sequence step: its element). */
  index: number[];
  score: number;
  /**
   * How the score is formed when it is not one element: a sum; a class summed over a region
   * (`pixels`: the region's size); the cosine similarity to a reference embedding; the CTC
   * log-likelihood of `sequence`.
   */
  reduce?: 'sum' | 'region-sum' | 'cosine' | 'ctc';
  /** region-sum: the pixels of the region (at the output's resolution). */
  pixels?: number;
  /** ctc: the label sequence scored (symbol indices, blank excluded). */
  sequence?: number[];
  /** cosine: the reference embedding (file name). */
  reference?: string;
}

/**
 * `VALUE@i,j,k`, `VALUE@max` or `VALUE@sum` (the CLI's --target). The last `@` splits: value
 * names may contain `@` themselves.
 */
export function parseTargetSpec(text: string): TargetSpec {
  const at = text.lastIndexOf('@');
  const value = at > 0 ? text.slice(0, at) : '';
  const what = at > 0 ? text.slice(at + 1).trim() : '';
  if (!value || !what) throw new CamLensError('BAD_ARGUMENT', `--target: expected VALUE@i,j,k, VALUE@max or VALUE@sum, got "${text}".`);
  if (what === 'max' || what === 'sum') return { value, select: { kind: what } };
  const index = what.split(',').map((s) => Number(s.trim()));
  if (index.some((i) => !Number.isInteger(i) || i < 0))
    throw new CamLensError('BAD_ARGUMENT', `--target: "${what}" is not an element index (non-negative integers separated by commas), nor max or sum.`);
  return { value, select: { kind: 'index', index } };
}

export function formatTargetSpec(t: TargetSpec): string {
  return `${t.value}@${t.select.kind === 'index' ? t.select.index.join(',') : t.select.kind}`;
}

/** Row-major flat position of `index` in `dims`; an error naming the value when it lies outside. */
export function flatIndex(value: string, dims: readonly number[], index: readonly number[]): number {
  if (index.length !== dims.length || index.some((i, d) => i >= dims[d]))
    throw new CamLensError(
      'BAD_ARGUMENT',
      `Element [${index.join(', ')}] is not in value "${value}" of shape [${dims.join(', ')}]: give one index per dim, each below its size.`,
    );
  let flat = 0;
  for (let d = 0; d < dims.length; d++) flat = flat * dims[d] + index[d];
  return flat;
}

/** The index of the flat position `flat` in `dims` (row-major). */
export function unravelIndex(flat: number, dims: readonly number[]): number[] {
  const index = new Array<number>(dims.length);
  for (let d = dims.length - 1; d >= 0; d--) {
    index[d] = flat % dims[d];
    flat = Math.floor(flat / dims[d]);
  }
  return index;
}
