import * as path from 'node:path';
import { rm } from 'node:fs/promises';
import { writeAtomic, type FileData } from '../../engine/batch/atomicFileWriter';
import { checkOutputFolder, makeOutputFolder } from '../../engine/batch/outputFolder';
import { COLORMAPS } from '../../engine/image/colormap';
import { imageJson } from '../../engine/image/geometry';
import { warningLines } from '../../engine/pipeline/warnings';
import { npyParts } from '../../engine/npy';
import { attributionNpy } from '../../engine/cam/attribution';
import { withFullMaps } from '../../engine/cam/layerMap';
import { conceptsFile, conceptsJson, conceptsNpy } from '../../engine/cam/conceptFiles';
import { YOLO_LAYOUTS } from '../../engine/detection/yolo';
import { reportedDetection } from '../../engine/detection/detections';
import { explanationStem } from '../../engine/explanationStem';
import { ATTRIBUTION_BASELINES, NOISE_TUNNEL_BASES, type AttributionBaseline, type NoiseTunnelBase } from '../../engine/explainTypes';
import { KPCA_KERNELS, type KpcaKernel } from '../../engine/cam/kernelPca';
import { METHOD_OPTION_SPECS, methodOptionProblem } from '../../engine/cam/methodOptions';
import { DENSE_LAYOUTS, type DenseLayout } from '../../engine/targets/dense';
import { SEQUENCE_LAYOUTS, type SequenceLayout } from '../../engine/targets/ctc';
import {
  CAM_METHODS,
  LAYER_CAM_METHODS,
  type LayerCamMethod,
  type Box,
  type CamMethodName,
  type ColormapName,
  type ExplainParams,
  type ExplainResult,
  type SequenceTargetParams,
  type YoloLayout,
} from '../../worker/protocol';
import { CamLensError } from '../../engine/errors';
import { parseTargetSpec, type TargetSpec } from '../../engine/targets/spec';
import { usageError, type Command } from '../command';
import { existingFileOption, intOption, LIMITS, numberOption } from '../options';
import { providerCliOptions, providerFromArgs, providerHelp, asCliError, startWorker } from '../worker';

const numberList = (flag: string, text: unknown): number[] | undefined => {
  if (text === undefined) return undefined;
  const values = String(text)
    .split(',')
    .map((s) => Number(s.trim()));
  if (!values.length || values.some((v) => !Number.isFinite(v) || v <= 0))
    throw usageError(`${flag}: expected positive numbers separated by commas, got "${text}".`);
  return values;
};

/** --finer-classes k1,k2,…: class indices (0 is one). */
function classList(flag: string, text: unknown): number[] | undefined {
  if (text === undefined) return undefined;
  const values = String(text)
    .split(',')
    .map((s) => Number(s.trim()));
  const problem = methodOptionProblem('finerClasses', values, `"${text}"`);
  if (problem) throw usageError(problem);
  return values;
}

/** --target VALUE@i,j,k | VALUE@max | VALUE@sum, as a usage error when malformed. */
function targetOption(text: unknown): TargetSpec | undefined {
  if (text === undefined) return undefined;
  try {
    return parseTargetSpec(String(text));
  } catch (e) {
    throw e instanceof CamLensError ? usageError(e.message) : e;
  }
}

/** --box N (an index), `all` (every detection), or undefined. */
function boxOption(text: unknown): number | 'all' | undefined {
  if (text === undefined) return undefined;
  if (text === 'all') return 'all';
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw usageError(`--box: expected a detection index (0 = the best), got "${text}".`);
  return n;
}

function boxXyxyOption(text: unknown): Box | undefined {
  if (text === undefined) return undefined;
  const v = String(text)
    .split(',')
    .map((s) => Number(s.trim()));
  if (v.length !== 4 || v.some((x) => !Number.isFinite(x)) || v[2] <= v[0] || v[3] <= v[1])
    throw usageError(`--box-xyxy: expected x0,y0,x1,y1 in original image pixels with x0 < x1 and y0 < y1, got "${text}".`);
  return v as Box;
}

/** --baseline black|blur|noise, or a file (an image or a preprocessed .npy), which must exist. */
function baselineOption(text: unknown): AttributionBaseline | undefined {
  if (text === undefined) return undefined;
  const v = String(text);
  if ((ATTRIBUTION_BASELINES as readonly string[]).includes(v)) return v as AttributionBaseline;
  return { file: existingFileOption('--baseline', v)! };
}

/** The input-space methods' options (engine/attribution), each bounded. */
function attributionOptions(values: Record<string, unknown>): Partial<ExplainParams> {
  const noiseBase = values['noise-base'] as string | undefined;
  if (noiseBase !== undefined && !(NOISE_TUNNEL_BASES as readonly string[]).includes(noiseBase))
    throw usageError(`--noise-base: expected ${NOISE_TUNNEL_BASES.join(', ')}, got "${noiseBase}".`);
  const options: Partial<ExplainParams> = {
    igSteps: intOption('--ig-steps', values['ig-steps'], LIMITS.igSteps),
    baseline: baselineOption(values.baseline),
    window: intOption('--window', values.window, LIMITS.window),
    stride: intOption('--stride', values.stride, LIMITS.stride),
    masks: intOption('--masks', values.masks, LIMITS.masks),
    noiseBase: noiseBase as NoiseTunnelBase | undefined,
    noiseSamples: intOption('--noise-samples', values['noise-samples'], LIMITS.noiseSamples),
    noiseSigma: numberOption('--noise-sigma', values['noise-sigma'], METHOD_OPTION_SPECS.noiseSigma),
    seed: intOption('--seed', values.seed, { min: -(2 ** 31), max: 2 ** 32 - 1 }),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

export function explainParamsFromArgs(values: Record<string, unknown>, modelPath: string, input: string, batchSizeFlag = '--batch-size'): ExplainParams {
  const method = (values.method as string | undefined) ?? 'gradcam';
  if (!CAM_METHODS.includes(method as CamMethodName)) throw usageError(`--method: "${method}" is not one of ${CAM_METHODS.join(', ')}.`);
  const colormap = (values.colormap as string | undefined) ?? 'jet';
  if (!COLORMAPS.includes(colormap as ColormapName)) throw usageError(`--colormap: "${colormap}" is not one of ${COLORMAPS.join(', ')}.`);
  const cls = values.class as string | undefined;
  let classIndex: number | undefined;
  if (cls !== undefined && cls !== 'top1') {
    classIndex = Number(cls);
    if (!Number.isInteger(classIndex) || classIndex < 0) throw usageError(`--class: expected a class index or "top1", got "${cls}".`);
  }
  const topk = intOption('--topk', values.topk, LIMITS.topk);
  const alpha = numberOption('--alpha', values.alpha, { min: 0, max: 1 });
  // batch reuses this parser for its --channel-batch-size, so the flag name is passed in
  const batch = intOption(batchSizeFlag, values['batch-size'], LIMITS.batchSize);
  const provider = providerFromArgs({ ...values, provider: values.ep ?? values.provider });
  const headFusion = values['head-fusion'] as string | undefined;
  if (headFusion !== undefined && !['mean', 'max', 'min'].includes(headFusion))
    throw usageError(`--head-fusion: expected mean, max or min, got "${headFusion}".`);
  const discardRatio = numberOption('--discard-ratio', values['discard-ratio'], { min: 0, max: 1, maxExclusive: true });
  const frames = intOption('--frames', values.frames, LIMITS.frames);
  const finerClasses = classList('--finer-classes', values['finer-classes']);
  const finerAlpha = numberOption('--finer-alpha', values['finer-alpha'], METHOD_OPTION_SPECS.finerAlpha);
  const finerBase = values['finer-base'] as string | undefined;
  if (finerBase !== undefined && !LAYER_CAM_METHODS.includes(finerBase as LayerCamMethod))
    throw usageError(`--finer-base: "${finerBase}" is not one of ${LAYER_CAM_METHODS.join(', ')}.`);
  if ((finerClasses || finerAlpha !== undefined || finerBase) && method !== 'finercam')
    throw usageError('--finer-classes, --finer-alpha and --finer-base are finercam options; add --method finercam.');
  const scorecamChannels = intOption('--scorecam-channels', values['scorecam-channels'], LIMITS.scorecamChannels);
  if (scorecamChannels !== undefined && method !== 'scorecam') throw usageError(`--scorecam-channels is Score-CAM's channel budget; the method is ${method}.`);
  const target = targetOption(values.target);
  const boxChoice = boxOption(values.box);
  const box = boxChoice === 'all' ? undefined : boxChoice;
  const allBoxes = boxChoice === 'all';
  const boxXyxy = boxXyxyOption(values['box-xyxy']);
  if (box !== undefined && boxXyxy) throw usageError('--box and --box-xyxy name the detection twice; give one.');
  if (boxXyxy && classIndex === undefined) throw usageError('--box-xyxy needs --class K: the class whose detection is explained.');
  if (target && (boxChoice !== undefined || boxXyxy)) throw usageError('--target and --box name the target twice; give one.');
  const sequence = sequenceOptions(values);
  const embedding = existingFileOption('--target-embedding', values['target-embedding']);
  const region = values.region as string | undefined;
  if (region !== undefined && region !== 'all' && region !== 'predicted') throw usageError(`--region: expected all or predicted, got "${region}".`);
  const denseLayout = values['dense-layout'] as string | undefined;
  if (denseLayout !== undefined && !DENSE_LAYOUTS.includes(denseLayout as DenseLayout))
    throw usageError(`--dense-layout: expected ${DENSE_LAYOUTS.join(' or ')}, got "${denseLayout}".`);
  if ([target, embedding, sequence, boxChoice ?? boxXyxy].filter((v) => v !== undefined).length > 1)
    throw usageError('--target, --target-embedding, the sequence options and --box each name the target; give one.');
  const conf = numberOption('--conf', values.conf, { min: 0, max: 1 });
  const iou = numberOption('--iou', values.iou, { min: 0, max: 1 });
  const kernel = values.kernel as string | undefined;
  if (kernel !== undefined && !KPCA_KERNELS.includes(kernel as KpcaKernel)) throw usageError(`--kernel: expected ${KPCA_KERNELS.join(', ')}, got "${kernel}".`);
  const components = intOption('--components', values.components, LIMITS.components);
  const concepts = intOption('--concepts', values.concepts, LIMITS.concepts);
  const detector = values.detector as string | undefined;
  if (detector !== undefined && !YOLO_LAYOUTS.includes(detector as YoloLayout))
    throw usageError(`--detector: expected ${YOLO_LAYOUTS.join(' or ')}, got "${detector}".`);
  return {
    modelPath,
    input,
    method: method as CamMethodName,
    layers: (values.layer as string[] | undefined) ?? undefined,
    classIndex,
    topk,
    output: values.output as string | undefined,
    softmaxTarget: Boolean(values.softmax),
    regionMask: existingFileOption('--region-mask', values['region-mask']),
    scales: numberList('--scales', values.scales),
    scaleWeights: numberList('--scale-weights', values['scale-weights']),
    eigenSmooth: Boolean(values['eigen-smooth']),
    augSmooth: Boolean(values['aug-smooth']),
    batchSize: batch,
    configPath: values.config as string | undefined,
    labelsPath: values.labels as string | undefined,
    colormap: colormap as ColormapName,
    alpha,
    saveTensors: Boolean(values['save-tensors']),
    provider,
    ...(headFusion ? { headFusion: headFusion as 'mean' | 'max' | 'min' } : {}),
    ...(discardRatio !== undefined ? { discardRatio } : {}),
    ...(frames !== undefined ? { frames } : {}),
    ...(finerClasses ? { finerClasses } : {}),
    ...(finerAlpha !== undefined ? { finerAlpha } : {}),
    ...(finerBase ? { finerBase: finerBase as LayerCamMethod } : {}),
    ...(scorecamChannels !== undefined ? { scorecamChannels } : {}),
    ...(target ? { target } : {}),
    ...(box !== undefined ? { box } : {}),
    ...(boxXyxy ? { boxXyxy } : {}),
    ...(conf !== undefined ? { conf } : {}),
    ...(iou !== undefined ? { iou } : {}),
    ...(detector ? { detector: detector as YoloLayout } : {}),
    ...(allBoxes ? { allBoxes } : {}),
    ...(sequence ? { sequence } : {}),
    ...(embedding ? { embedding } : {}),
    ...(values['embedding-value'] !== undefined ? { embeddingValue: String(values['embedding-value']) } : {}),
    ...(region ? { region: region as 'all' | 'predicted' } : {}),
    ...(denseLayout ? { denseLayout: denseLayout as DenseLayout } : {}),
    ...(kernel ? { kernel: kernel as KpcaKernel } : {}),
    ...(components !== undefined ? { components } : {}),
    ...(concepts !== undefined ? { concepts } : {}),
    ...attributionOptions(values),
  };
}

/** --ctc, --target-sequence, --sequence-step, --blank, --sequence-layout: a sequence target, or undefined when none is given. */
function sequenceOptions(values: Record<string, unknown>): SequenceTargetParams | undefined {
  const given = ['ctc', 'target-sequence', 'sequence-step', 'blank', 'sequence-layout'].filter((f) => values[f] !== undefined && values[f] !== false);
  if (!given.length) return undefined;
  const labelsText = values['target-sequence'] as string | undefined;
  const labels = labelsText?.split(',').map((v) => Number(v.trim()));
  if (labels?.some((v) => !Number.isInteger(v) || v < 0))
    throw usageError(`--target-sequence: expected symbol indices separated by commas (e.g. 3,1,4), got "${labelsText}".`);
  const step = intOption('--sequence-step', values['sequence-step'], { min: 0, max: 1e6 });
  if (labels && step !== undefined) throw usageError('--target-sequence scores the whole sequence and --sequence-step one step; give one.');
  const blank = intOption('--blank', values.blank, { min: 0, max: 1e6 });
  const layout = values['sequence-layout'] as string | undefined;
  if (layout !== undefined && !SEQUENCE_LAYOUTS.includes(layout as SequenceLayout))
    throw usageError(`--sequence-layout: expected ${SEQUENCE_LAYOUTS.join(' or ')}, got "${layout}".`);
  return {
    ...(labels ? { labels } : {}),
    ...(step !== undefined ? { step } : {}),
    ...(blank !== undefined ? { blank } : {}),
    ...(layout ? { layout: layout as SequenceLayout } : {}),
  };
}

export const explainOptions = {
  method: { type: 'string' },
  layer: { type: 'string', multiple: true },
  class: { type: 'string' },
  topk: { type: 'string' },
  output: { type: 'string' },
  softmax: { type: 'boolean' },
  'region-mask': { type: 'string' },
  scales: { type: 'string' },
  'scale-weights': { type: 'string' },
  'eigen-smooth': { type: 'boolean' },
  'aug-smooth': { type: 'boolean' },
  'batch-size': { type: 'string' },
  'scorecam-channels': { type: 'string' },
  ep: { type: 'string' },
  config: { type: 'string' },
  labels: { type: 'string' },
  colormap: { type: 'string' },
  alpha: { type: 'string' },
  'save-tensors': { type: 'boolean' },
  'head-fusion': { type: 'string' },
  'discard-ratio': { type: 'string' },
  frames: { type: 'string' },
  'finer-classes': { type: 'string' },
  'finer-alpha': { type: 'string' },
  'finer-base': { type: 'string' },
  target: { type: 'string' },
  box: { type: 'string' },
  'box-xyxy': { type: 'string' },
  conf: { type: 'string' },
  iou: { type: 'string' },
  detector: { type: 'string' },
  region: { type: 'string' },
  'dense-layout': { type: 'string' },
  'target-embedding': { type: 'string' },
  'embedding-value': { type: 'string' },
  ctc: { type: 'boolean' },
  'target-sequence': { type: 'string' },
  'sequence-step': { type: 'string' },
  blank: { type: 'string' },
  'sequence-layout': { type: 'string' },
  kernel: { type: 'string' },
  components: { type: 'string' },
  concepts: { type: 'string' },
  'ig-steps': { type: 'string' },
  baseline: { type: 'string' },
  window: { type: 'string' },
  stride: { type: 'string' },
  masks: { type: 'string' },
  'noise-base': { type: 'string' },
  'noise-samples': { type: 'string' },
  'noise-sigma': { type: 'string' },
  seed: { type: 'string' },
  ...providerCliOptions,
} as const;

export const explainHelp = [
  '  --method NAME       gradcam (default), hirescam, gradcam-elementwise, gradcam++, xgradcam, layercam,',
  '                      eigencam, eigengradcam, scorecam, ablationcam, fullgrad, finercam, refinecam,',
  '                      kpcacam, fem, sobelcam, dff, attention-rollout, attention-gradcam,',
  '                      shapleycam (ReST target, second order), guided-backprop, guided-gradcam (these two also',
  '                      write S.attr.npy, float32 [C, H, W]);',
  '                      input-space (also write S.attr.npy [C,H,W]): saliency, input-x-gradient,',
  '                      integrated-gradients, smoothgrad, vargrad, occlusion, rise',
  '                      fullgrad: every Conv/BatchNorm bias and the input (ignores --layer);',
  '                      refinecam: product of the Grad-CAM++ maps of the layers given (--layer, repeated)',
  '  --finer-classes L   finercam: compare with these classes (default: the 3 whose logits are nearest)',
  '  --finer-alpha A     finercam: weight of the comparison logits (default 1); --finer-base M (default gradcam)',
  '  --kernel K          kpcacam: sigmoid (default), rbf, poly, linear or cosine; --components N (default 1)',
  '                      sums the first N kernel-PCA projections',
  '  --concepts N        dff: factorise the activations into N concepts (default 5); writes S.concepts.npy',
  "                      [N, H, W] and each concept's best classes in S.json; S.cam.npy is the concept that",
  '                      gives the explained class the highest probability',
  '  --ig-steps N        integrated-gradients: path points (default 50; S.json reports the completeness gap)',
  '  --baseline B        integrated-gradients, occlusion: black (default), blur, noise, or an image/.npy file',
  '  --window N, --stride N  occlusion: patch side (default 16) and step (default 8), model-input pixels',
  '  --masks N           rise: random masks (default 1000; 7x7 cells, p = 0.5)',
  '  --noise-base M      smoothgrad, vargrad: saliency (default), input-x-gradient or integrated-gradients',
  '  --noise-samples N   smoothgrad, vargrad: noisy copies (default 25); --noise-sigma F: σ/(max−min) (0.15)',
  '  --seed N            rise masks and noise draws (default 0)',
  '  --head-fusion F     attention methods: fuse heads by mean (default), max or min',
  '  --discard-ratio R   attention methods: drop the lowest fraction R of attentions per layer (default 0)',
  '  --frames N          video models: sample N frames uniformly from the clip (folder, GIF, .txt list, a,b,c)',
  '  --layer VALUE       CAM layer (repeatable: maps are averaged; refinecam: multiplied); default: the suggested layer',
  '  --class K|top1      class to explain (default top1)',
  '  --topk N            one map for each of the N best classes (detectors: the N best detections)',
  '  --target T          any scalar of any value: VALUE@i,j,k (one element, batch index first),',
  '                      VALUE@max (its largest element) or VALUE@sum; VALUE: an output or any value',
  '  --box N             detectors (raw YOLO heads): explain the N-th detection, best first (default 0)',
  '  --box-xyxy BOX      detectors: the detection of --class K overlapping x0,y0,x1,y1 (original pixels) best',
  '  --conf C, --iou I   detectors: confidence threshold (0.25) and class-wise NMS IoU threshold (0.45)',
  '  --detector L        detectors: yolov8 ([1, 4+K, A]) or yolov5 ([1, A, 5+K]) when the shape does not tell',
  '  --output NAME       the model output holding the scores (multi-output models)',
  '  --softmax           explain the softmax probability instead of the raw logit',
  '  --region-mask FILE  dense outputs [N,K,h,w] / [N,h,w,K]: explain the class summed over this mask',
  '  --region predicted  dense outputs: each class over the pixels predicted as it (argmax), inside --region-mask',
  '  --dense-layout L    dense outputs: NCHW or NHWC when the shape does not tell',
  '  --box all           detectors: explain every detection (one map each, files S.boxN.*)',
  '  --target-embedding F  cosine similarity of --embedding-value VALUE (default: the output) to a',
  '                      reference embedding: a .npy vector, or an image run through the same model',
  '  --ctc               sequence outputs [T,N,C] / [N,T,C]: the CTC log-likelihood of the greedy decoding',
  '  --target-sequence L   ... of the label sequence L (symbol indices, e.g. 3,1,4); --blank K (default 0)',
  '  --sequence-step T   sequence outputs: the best symbol (or --class K) at time step T',
  '  --sequence-layout L   TNC or NTC when the shape does not tell',
  '  --scales LIST       multi-scale fusion, e.g. 1,0.75,0.5; --scale-weights 0.6,0.3,0.1',
  '  --eigen-smooth      first principal component of the weighted activations',
  '  --aug-smooth        average over horizontal flip x brightness 0.9/1.0/1.1',
  '  --batch-size N      Score-CAM / Ablation-CAM batch size (Score-CAM default: the fastest up to 32, measured on its first runs;',
  '                      input-space methods: rows per run, default 16)',
  '  --scorecam-channels N  Score-CAM on the N channels of largest activation variance only (Faster Score-CAM):',
  '                      approximate (S.json notes say so), N/C of the exact run time',
  '  --ep NAME           execution provider (same as --provider)',
  '  --config FILE       preprocessing config (default: <model>.camlens.json beside the model)',
  '  --labels FILE       class names, one per line',
  '  --colormap NAME     jet (default), turbo, viridis, inferno; --alpha 0.5',
  '  --save-tensors      also write S.act.npy and S.grad.npy',
  providerHelp,
].join('\n');

/** The file stem of explanation i of `r` (engine/explanationStem.ts). */
const explanationStemOf = (stem: string, r: ExplainResult, i: number): string => explanationStem(stem, i, r.explanations[i], Boolean(r.detections));

/**
 * Writes S.json, S.cam.npy (input size), S.cam_image.npy (image inputs: the original's size),
 * S.cam_raw.npy, S.overlay.png (on the original image), S.attr.npy (input-space methods: the
 * attribution [C, H, W]) (+ per extra class, + tensors), each
 * atomically (a full disk leaves no truncated file; the error names the file), S.json last.
 */
export async function writeExplanation(outDir: string, stem: string, r: ExplainResult): Promise<string[]> {
  makeOutputFolder(outDir, '--out');
  const files: string[] = [];
  // The maps and pictures are written side by side (one file system round trip, not six), S.json
  // once they all are: a reader that sees S.json finds every file it names.
  const pending: Promise<void>[] = [];
  const write = (name: string, data: FileData) => {
    files.push(name);
    pending.push(writeAtomic(path.join(outDir, name), data));
  };
  for (const [i, e] of r.explanations.entries()) {
    const prefix = explanationStemOf(stem, r, i);
    // Video: [T, H, W] / [T', h, w] maps, the overlay is the per-frame strip, plus an animated GIF.
    const frames = (m: { data: Float32Array; height: number; width: number }) => (e.video ? [m.data.length / (m.height * m.width)] : []);
    write(`${prefix}.cam.npy`, npyParts(e.cam.data, [...frames(e.cam), e.cam.height, e.cam.width]));
    if (e.camImage) write(`${prefix}.cam_image.npy`, npyParts(e.camImage.data, [e.camImage.height, e.camImage.width]));
    write(`${prefix}.cam_raw.npy`, npyParts(e.camRaw.data, [...frames(e.camRaw), e.camRaw.height, e.camRaw.width]));
    if (e.attribution) write(`${prefix}.attr.npy`, attributionNpy(e.attribution));
    write(`${prefix}.overlay.png`, e.overlayPng!); // the CLI never asks for overlay: false
    if (e.video) write(`${prefix}.overlay.gif`, e.video.animatedGif);
    if (e.activation) write(`${prefix}.act.npy`, npyParts(e.activation.data as Float32Array, e.activation.dims));
    if (e.gradient) write(`${prefix}.grad.npy`, npyParts(e.gradient.data as Float32Array, e.gradient.dims));
    if (e.concepts && i === 0) write(conceptsFile(stem), conceptsNpy(e.concepts));
  }
  const round = (x: number) => Math.round(x * 100) / 100;
  const json = {
    model: r.model,
    input: r.input,
    method: r.method,
    layers: r.layers,
    class: r.explanations[0].classIndex,
    ...(r.explanations[0].target ? { target: r.explanations[0].target } : {}),
    scores: r.scoreKind,
    predictions: r.predictions,
    ...(r.detections ? { detections: r.detections.map(reportedDetection) } : {}),
    ...(r.regions ? { regions: r.regions } : {}),
    ...(r.sequence ? { sequence: r.sequence } : {}),
    warnings: r.warnings,
    ...(r.original ? { image: imageJson(r.original.geometry) } : {}),
    ep: r.ep,
    timings_ms: Object.fromEntries(Object.entries(r.timings_ms).map(([k, v]) => [k, round(v)])),
    explanations: r.explanations.map((e, i) => ({
      class: e.classIndex,
      label: e.label,
      files: explanationStemOf(stem, r, i),
      ...(e.target ? { target: e.target } : {}),
      ...(e.concepts ? { concept: e.concepts.chosen } : {}),
      ...(e.attributionStats ? { attribution: e.attributionStats } : {}),
      ...(e.detection !== undefined ? { box: e.detection } : {}),
      ...(e.video ? { frames: e.video.frames, temporal_weights: e.video.temporalWeights.map((w) => Math.round(w * 1e4) / 1e4) } : {}),
    })),
    ...(r.explanations[0].concepts ? { concepts: conceptsJson(r.explanations[0].concepts, stem) } : {}),
    ...(r.fallbacks.length ? { ep_fallbacks: r.fallbacks } : {}),
    ...(Object.keys(r.notes).length ? { notes: r.notes } : {}),
  };
  // Every write is awaited (none is left running on an error), the first failure is thrown. The
  // files written beside the one that failed are removed: an input has all its files or none.
  const settled = await Promise.allSettled(pending);
  const failure = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failure) {
    const written = files.filter((_, k) => settled[k].status === 'fulfilled');
    await Promise.allSettled(written.map((name) => rm(path.join(outDir, name), { force: true })));
    throw failure.reason;
  }
  await writeAtomic(path.join(outDir, `${stem}.json`), JSON.stringify(json, null, 1) + '\n');
  files.push(`${stem}.json`);
  return files;
}

/**
 * The request `camlens explain` sends for one input: its files need no pictures (the overlay PNG
 * is encoded in the worker), so none cross IPC.
 */
export const cliExplainRequest = (p: ExplainParams): ExplainParams => ({ ...p, pictures: false });

export const explainCommand: Command = {
  name: 'explain',
  summary:
    'Explain images with a CAM method: writes S.json, S.cam.npy, S.cam_image.npy, S.cam_raw.npy and S.overlay.png per input (input-space methods: S.attr.npy too).',
  usage: 'camlens explain <model.onnx> <image-or-.npy>... --out <dir> [options]',
  details: [
    'Options:',
    '  --out DIR           output folder (required)',
    explainHelp,
    'Exit code: 0 when every input was explained, 3 when the worker crashed or timed out on some (the others are still explained), 1 on an error.',
  ].join('\n'),
  options: { out: { type: 'string' }, ...explainOptions },
  async run(positionals, values, io) {
    if (positionals.length < 2) throw usageError(`explain: expected a model and at least one image.\nUsage: ${this.usage}`);
    if (typeof values.out !== 'string') throw usageError('explain: --out <dir> is required.');
    checkOutputFolder(values.out, '--out');
    const [modelPath, ...inputs] = positionals;
    const params = inputs.map((input) => cliExplainRequest(explainParamsFromArgs(values, modelPath, input)));
    const stems = new Set<string>();
    const worker = startWorker(values);
    let failed = 0;
    // An input's files are written while the worker explains the next one; outputs and messages
    // stay in input order (each input waits for the previous one's files).
    let writing: Promise<void> = Promise.resolve();
    const publish = async (p: ExplainParams, stem: string, r: ExplainResult) => {
      await writeExplanation(values.out as string, stem, r);
      for (const line of warningLines(p.input, r.warnings)) io.err(line);
      const top = r.predictions[0];
      const t = r.explanations[0].target;
      const what =
        t && (p.target || p.embedding || p.sequence)
          ? `${t.value}@${t.index.join(',') || t.reduce} = ${t.score.toPrecision(4)}`
          : `class ${r.explanations[0].classIndex} (${r.explanations[0].label})`;
      const topText = r.detections ? `${r.detections.length} detections` : top ? `top-1 ${top.label} ${(top.prob * 100).toFixed(1)}%` : '';
      io.out(
        `${p.input}: ${r.method} on ${r.layers.join(' + ')} → ${what}; ${topText ? `${topText}; ` : ''}${r.ep}; ${r.timings_ms.total.toFixed(0)} ms → ${path.join(values.out as string, stem)}.*\n`,
      );
    };
    try {
      for (const p of params) {
        let stem = path.basename(p.input).replace(/\.[^.]+$/, '');
        for (let k = 2; stems.has(stem); k++) stem = `${path.basename(p.input).replace(/\.[^.]+$/, '')}_${k}`;
        stems.add(stem);
        let r: ExplainResult;
        try {
          // The CLI asks for full-size maps; withFullMaps only rebuilds what an answer left at the layer's size.
          r = withFullMaps(await worker.request('explain', p));
        } catch (e) {
          await writing;
          // The worker died or hung on this input: the client restarts it, so the other inputs
          // still get their explanation (as batch does); this one is reported and the exit is 3.
          const code = (e as { code?: string }).code;
          if (params.length === 1 || (code !== 'WORKER_CRASHED' && code !== 'TIMEOUT')) throw e;
          failed++;
          io.err(`camlens explain: ${p.input}: ${(e as Error).message} Continuing with the other inputs.\n`);
          continue;
        }
        await writing;
        writing = publish(p, stem, r);
        // Awaited above on the next input or after the loop; this only keeps a failure from being
        // reported as unhandled while the next request runs.
        writing.catch(() => undefined);
      }
      await writing;
      if (failed) io.err(`camlens explain: ${failed} of ${params.length} inputs failed (see above).\n`);
      return failed ? 3 : 0;
    } catch (e) {
      throw asCliError(e);
    } finally {
      await writing.catch(() => undefined);
      await worker.dispose();
    }
  },
};
