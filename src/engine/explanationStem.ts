// Where the files of one explanation go, for `camlens explain` and `camlens batch` alike (one
// rule, so that a batch's per-image files are those explain writes).

/**
 * The file stem of explanation i: the first is S; the others S.classK, or S.boxI for a detector
 * (two detections of one class would write the same files).
 */
export function explanationStem(stem: string, i: number, e: { classIndex: number }, detector: boolean): string {
  if (i === 0) return stem;
  return detector ? `${stem}.box${i}` : `${stem}.class${e.classIndex}`;
}
