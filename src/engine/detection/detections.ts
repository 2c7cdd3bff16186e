// A detector's output → its detections (decode, class-wise NMS, boxes in original pixels) and
// the choice of the one to explain (--box N, --box-xyxy + --class, default: the best).
import { CamLensError } from '../errors';
import { boxIou, nonMaxSuppression } from './nms';
import { decodeYolo, type Box, type YoloLayout } from './yolo';

export interface Detection {
  /** [x0, y0, x1, y1] in original image pixels. */
  box: Box;
  /** The same box in model-input pixels. */
  inputBox: Box;
  class: number;
  label: string;
  score: number;
  anchor: number;
  /** The index of the box's class score in the output: the element `--box` explains. */
  index: number[];
}

/** A detection as S.json and the batch summaries report it: the box in original pixels only. */
export type ReportedDetection = Omit<Detection, 'inputBox'>;

export const reportedDetection = ({ inputBox: _input, ...d }: Detection): ReportedDetection => d;

export interface DetectOptions {
  /** Confidence threshold (default 0.25). */
  conf?: number;
  /** NMS IoU threshold (default 0.45). */
  iou?: number;
  labels?: readonly string[];
  /** Model-input pixels → original pixels (the preprocessing's geometry). */
  toOriginal: (box: Box) => Box;
}

export const DEFAULT_CONF = 0.25;
export const DEFAULT_IOU = 0.45;

export function detect(data: ArrayLike<number>, dims: readonly number[], layout: YoloLayout, o: DetectOptions): Detection[] {
  const kept = nonMaxSuppression(decodeYolo(data, dims, layout, o.conf ?? DEFAULT_CONF), { iou: o.iou ?? DEFAULT_IOU });
  return kept.map((c) => ({
    box: o.toOriginal(c.box),
    inputBox: c.box,
    class: c.class,
    label: o.labels?.[c.class] ?? String(c.class),
    score: c.score,
    anchor: c.anchor,
    index: c.index,
  }));
}

/** Which detection to explain: the N-th (best first), or the one of a class that overlaps a box (original pixels) best. */
export type DetectionChoice = { box: number } | { boxXyxy: Box; class: number };

export function chooseDetection(detections: readonly Detection[], choice: DetectionChoice | undefined, conf: number): Detection {
  if (!detections.length)
    throw new CamLensError(
      'BAD_ARGUMENT',
      `The detector found no box scoring above --conf ${conf}; lower --conf, or explain an element of the output with --target OUTPUT@i,j,k.`,
    );
  if (!choice) return detections[0];
  if ('box' in choice) {
    if (!Number.isInteger(choice.box) || choice.box < 0 || choice.box >= detections.length)
      throw new CamLensError('BAD_ARGUMENT', `--box ${choice.box}: the detector found ${detections.length} boxes (0–${detections.length - 1}).`);
    return detections[choice.box];
  }
  let best: Detection | undefined;
  let bestIou = 0;
  for (const d of detections) {
    if (d.class !== choice.class) continue;
    const iou = boxIou(d.box, choice.boxXyxy);
    if (iou > bestIou) [best, bestIou] = [d, iou];
  }
  if (!best)
    throw new CamLensError(
      'BAD_ARGUMENT',
      `No detection of class ${choice.class} overlaps the box [${choice.boxXyxy.join(', ')}] (${detections.length} detections in all).`,
    );
  return best;
}
