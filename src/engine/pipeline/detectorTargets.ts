// Detectors with a raw YOLO head: one forward run lists the detections (decode + class-wise NMS,
// engine/detection) and the chosen ones become element targets: a box's class score at its anchor.
import { CamLensError } from '../errors';
import { chooseDetection, DEFAULT_CONF, detect, type Detection, type DetectionChoice } from '../detection/detections';
import { yoloLayoutOf, type Box, type YoloLayout } from '../detection/yolo';
import type { ExplainParams } from '../explainTypes';
import type { LoadedModel } from '../model';
import type { PlainTensor } from '../runtime/tapRunner';
import { flatIndex, type ExplainedTarget } from '../targets/spec';
import type { GradientRunContext } from './gradientRun';
import { forwardRun, type ValueTarget } from './targetRun';

/** The detector layout of `output`, or undefined when the model is not explained as a detector. */
export function detectorLayout(
  model: LoadedModel,
  output: string,
  params: Pick<ExplainParams, 'target' | 'embedding' | 'sequence' | 'detector' | 'box' | 'boxXyxy' | 'allBoxes'>,
): YoloLayout | undefined {
  if (params.target || params.embedding || params.sequence) return undefined;
  const layout = params.detector ?? yoloLayoutOf(model.shapes.get(output)?.shape);
  if (!layout && (params.box !== undefined || params.boxXyxy || params.allBoxes))
    throw new CamLensError(
      'BAD_ARGUMENT',
      `--box needs a detector: output "${output}" [${(model.shapes.get(output)?.shape ?? []).map((d) => d ?? '?').join(', ')}] is not a YOLO head ([1, 4+K, A] or [1, A, 5+K]).`,
    );
  return layout;
}

export interface DetectorRun {
  detections: Detection[];
  targets: ValueTarget[];
  provider: string;
}

export async function resolveDetections(
  model: LoadedModel,
  ctx: GradientRunContext,
  params: ExplainParams,
  layout: YoloLayout,
  output: string,
  input: PlainTensor,
  labels: readonly string[] | undefined,
  toOriginal: (box: Box) => Box,
): Promise<DetectorRun> {
  const forward = await forwardRun(model, ctx, input);
  const out = forward.outputs[output];
  if (yoloLayoutOf(out.dims) === undefined && !params.detector)
    throw new CamLensError('BAD_ARGUMENT', `Output "${output}" came out as [${out.dims.join(', ')}], not a YOLO head; name the layout with --detector.`);
  const data = out.data as Float32Array;
  const conf = params.conf ?? DEFAULT_CONF;
  const detections = detect(data, out.dims, layout, { conf, iou: params.iou, labels, toOriginal });
  const choice: DetectionChoice | undefined =
    params.boxXyxy !== undefined ? { boxXyxy: params.boxXyxy, class: params.classIndex ?? -1 } : params.box !== undefined ? { box: params.box } : undefined;
  if (params.boxXyxy && params.classIndex === undefined)
    throw new CamLensError('BAD_ARGUMENT', '--box-xyxy needs --class K: the class whose detection is explained.');
  let chosen: Detection[];
  if (params.allBoxes) chosen = detections.length ? detections : [chooseDetection(detections, undefined, conf)];
  else if (choice) chosen = [chooseDetection(detections, choice, conf)];
  else if (params.classIndex !== undefined) {
    const ofClass = detections.filter((d) => d.class === params.classIndex);
    if (!ofClass.length && detections.length)
      throw new CamLensError('BAD_ARGUMENT', `No detection of class ${params.classIndex} (${detections.length} detections of other classes).`);
    chosen = [chooseDetection(ofClass, undefined, conf)];
  } else chosen = [chooseDetection(detections, undefined, conf), ...detections.slice(1, Math.max(1, params.topk ?? 1))];
  const targets = chosen.map((d) => ({
    spec: { value: output, select: { kind: 'index' as const, index: d.index } },
    dims: out.dims,
    classIndex: d.class,
    label: d.label,
    score: data[flatIndex(output, out.dims, d.index)],
  }));
  return { detections, targets, provider: forward.provider };
}

/** The place in `detections` of the detection whose score `target` is (its element), or undefined. */
export function detectionOfTarget(detections: readonly Detection[], target: ExplainedTarget | undefined): number | undefined {
  if (!target) return undefined;
  const at = detections.findIndex((d) => d.index.length === target.index.length && d.index.every((v, i) => v === target.index[i]));
  return at < 0 ? undefined : at;
}
