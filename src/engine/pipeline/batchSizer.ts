// The batch size of a long series of model runs (Score-CAM's masked inputs), chosen by
// measurement: which batch size gives the fewest milliseconds per image depends on the model, the
// input size, the provider and the machine (caches, threads), so the first batches try each
// candidate and the rest use the fastest. No run is wasted: the trial batches are real work.
// A candidate's first run pays onnxruntime's one-off cost for a new shape (arena growth, kernel
// plans), so each candidate is timed on its second run.

/** Candidate batch sizes up to `max` (powers of two from 4, and `max` itself). */
export function batchCandidates(max: number): number[] {
  const out: number[] = [];
  for (let b = 4; b < max; b *= 2) out.push(b);
  out.push(Math.max(1, max));
  return out;
}

export class BatchSizer {
  private readonly trials: number[];
  private readonly perImage = new Map<number, number>();
  private chosen: number | undefined;

  /**
   * `max`: the largest batch the memory budget allows; `fixed`: a batch size the user chose (no
   * trials); `work`: the images to run in all. Trials are skipped when they would be most of
   * the work (under twice the trial images): then the largest batch is used.
   */
  constructor(max: number, fixed: number | undefined, work: number) {
    const candidates = batchCandidates(max);
    const trialImages = candidates.reduce((a, b) => a + 2 * b, 0);
    this.trials = fixed !== undefined || work < 2 * trialImages ? [] : candidates.flatMap((b) => [b, b]);
    if (fixed !== undefined) this.chosen = fixed;
    else if (!this.trials.length) this.chosen = max;
  }

  /** The size of the next batch (at most `left`, the images still to run). */
  next(left: number): number {
    const b = this.trials.length ? this.trials[0] : this.chosen!;
    return Math.max(1, Math.min(b, left));
  }

  /** Records the run of a batch of `size` images (as `next` gave it) that took `ms`. */
  record(size: number, ms: number): void {
    if (!this.trials.length || size !== this.trials[0]) return;
    this.trials.shift();
    // The second run of a candidate is its measurement (the first paid for the new shape).
    if (this.trials[0] !== size) this.perImage.set(size, ms / size);
    if (!this.trials.length) this.chosen = [...this.perImage.entries()].reduce((best, e) => (e[1] < best[1] ? e : best))[0];
  }

  /** The batch size in use after the trials (undefined while they run), and what each candidate measured. */
  get choice(): { batchSize: number | undefined; msPerImage: Record<number, number> } {
    return { batchSize: this.trials.length ? undefined : this.chosen, msPerImage: Object.fromEntries(this.perImage) };
  }
}
