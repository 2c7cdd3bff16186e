import * as fs from 'node:fs';
import * as path from 'node:path';
import { COLORMAPS } from '../../engine/image/colormap';
import { imageJson } from '../../engine/image/geometry';
import { warningLines } from '../../engine/pipeline/warnings';
import { encodeNpy } from '../../engine/npy';
import { CAM_METHODS, type CamMethodName, type ColormapName, type ExplainParams, type ExplainResult } from '../../worker/protocol';
import { usageError, type Command } from '../command';
import { intOption, LIMITS, numberOption } from '../options';
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
  return {
    modelPath,
    input,
    method: method as CamMethodName,
    layers: (values.layer as string[] | undefined) ?? undefined,
    classIndex,
    topk,
    output: values.output as string | undefined,
    softmaxTarget: Boolean(values.softmax),
    regionMask: values['region-mask'] as string | undefined,
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
  ep: { type: 'string' },
  config: { type: 'string' },
  labels: { type: 'string' },
  colormap: { type: 'string' },
  alpha: { type: 'string' },
  'save-tensors': { type: 'boolean' },
  'head-fusion': { type: 'string' },
  'discard-ratio': { type: 'string' },
  frames: { type: 'string' },
  ...providerCliOptions,
} as const;

export const explainHelp = [
  '  --method NAME       gradcam (default), hirescam, gradcam-elementwise, gradcam++, xgradcam, layercam,',
  '                      eigencam, eigengradcam, scorecam, ablationcam, attention-rollout, attention-gradcam',
  '  --head-fusion F     attention methods: fuse heads by mean (default), max or min',
  '  --discard-ratio R   attention methods: drop the lowest fraction R of attentions per layer (default 0)',
  '  --frames N          video models: sample N frames uniformly from the clip (folder, GIF, .txt list, a,b,c)',
  '  --layer VALUE       CAM layer (repeatable: maps are averaged); default: the suggested layer',
  '  --class K|top1      class to explain (default top1)',
  '  --topk N            one map for each of the N best classes',
  '  --output NAME       the model output holding the scores (multi-output models)',
  '  --softmax           explain the softmax probability instead of the raw logit',
  '  --region-mask FILE  segmentation outputs [N,K,h,w]: explain the class summed over this mask',
  '  --scales LIST       multi-scale fusion, e.g. 1,0.75,0.5; --scale-weights 0.6,0.3,0.1',
  '  --eigen-smooth      first principal component of the weighted activations',
  '  --aug-smooth        average over horizontal flip x brightness 0.9/1.0/1.1',
  '  --batch-size N      Score-CAM / Ablation-CAM batch size',
  '  --ep NAME           execution provider (same as --provider)',
  '  --config FILE       preprocessing config (default: <model>.camlens.json beside the model)',
  '  --labels FILE       class names, one per line',
  '  --colormap NAME     jet (default), turbo, viridis, inferno; --alpha 0.5',
  '  --save-tensors      also write S.act.npy and S.grad.npy',
  providerHelp,
].join('\n');

/**
 * Writes S.json, S.cam.npy (input size), S.cam_image.npy (image inputs: the original's size),
 * S.cam_raw.npy, S.overlay.png (on the original image) (+ per extra class, + tensors).
 */
export function writeExplanation(outDir: string, stem: string, r: ExplainResult): string[] {
  fs.mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: Uint8Array | string) => {
    fs.writeFileSync(path.join(outDir, name), data);
    files.push(name);
  };
  r.explanations.forEach((e, i) => {
    const prefix = i === 0 ? stem : `${stem}.class${e.classIndex}`;
    // Video: [T, H, W] / [T', h, w] maps, the overlay is the per-frame strip, plus an animated GIF.
    const frames = (m: { data: Float32Array; height: number; width: number }) => (e.video ? [m.data.length / (m.height * m.width)] : []);
    write(`${prefix}.cam.npy`, encodeNpy(e.cam.data, [...frames(e.cam), e.cam.height, e.cam.width]));
    if (e.camImage) write(`${prefix}.cam_image.npy`, encodeNpy(e.camImage.data, [e.camImage.height, e.camImage.width]));
    write(`${prefix}.cam_raw.npy`, encodeNpy(e.camRaw.data, [...frames(e.camRaw), e.camRaw.height, e.camRaw.width]));
    write(`${prefix}.overlay.png`, e.overlayPng!); // the CLI never asks for overlay: false
    if (e.video) write(`${prefix}.overlay.gif`, e.video.animatedGif);
    if (e.activation) write(`${prefix}.act.npy`, encodeNpy(e.activation.data as Float32Array, e.activation.dims));
    if (e.gradient) write(`${prefix}.grad.npy`, encodeNpy(e.gradient.data as Float32Array, e.gradient.dims));
  });
  const round = (x: number) => Math.round(x * 100) / 100;
  const json = {
    model: r.model,
    input: r.input,
    method: r.method,
    layers: r.layers,
    class: r.explanations[0].classIndex,
    scores: r.scoreKind,
    predictions: r.predictions,
    warnings: r.warnings,
    ...(r.original ? { image: imageJson(r.original.geometry) } : {}),
    ep: r.ep,
    timings_ms: Object.fromEntries(Object.entries(r.timings_ms).map(([k, v]) => [k, round(v)])),
    explanations: r.explanations.map((e, i) => ({
      class: e.classIndex,
      label: e.label,
      files: i === 0 ? stem : `${stem}.class${e.classIndex}`,
      ...(e.video ? { frames: e.video.frames, temporal_weights: e.video.temporalWeights.map((w) => Math.round(w * 1e4) / 1e4) } : {}),
    })),
    ...(r.fallbacks.length ? { ep_fallbacks: r.fallbacks } : {}),
    ...(Object.keys(r.notes).length ? { notes: r.notes } : {}),
  };
  write(`${stem}.json`, JSON.stringify(json, null, 1) + '\n');
  return files;
}

export const explainCommand: Command = {
  name: 'explain',
  summary: 'Explain images with a CAM method: writes S.json, S.cam.npy, S.cam_image.npy, S.cam_raw.npy and S.overlay.png per input.',
  usage: 'camlens explain <model.onnx> <image-or-.npy>... --out <dir> [options]',
  details: ['Options:', '  --out DIR           output folder (required)', explainHelp].join('\n'),
  options: { out: { type: 'string' }, ...explainOptions },
  async run(positionals, values, io) {
    if (positionals.length < 2) throw usageError(`explain: expected a model and at least one image.\nUsage: ${this.usage}`);
    if (typeof values.out !== 'string') throw usageError('explain: --out <dir> is required.');
    const [modelPath, ...inputs] = positionals;
    const params = inputs.map((input) => explainParamsFromArgs(values, modelPath, input));
    const stems = new Set<string>();
    const worker = startWorker(values);
    try {
      for (const p of params) {
        let stem = path.basename(p.input).replace(/\.[^.]+$/, '');
        for (let k = 2; stems.has(stem); k++) stem = `${path.basename(p.input).replace(/\.[^.]+$/, '')}_${k}`;
        stems.add(stem);
        const r = await worker.request('explain', p);
        writeExplanation(values.out, stem, r);
        for (const line of warningLines(p.input, r.warnings)) io.err(line);
        const top = r.predictions[0];
        io.out(
          `${p.input}: ${r.method} on ${r.layers.join(' + ')} → class ${r.explanations[0].classIndex} (${r.explanations[0].label}); top-1 ${top.label} ${(top.prob * 100).toFixed(1)}%; ${r.ep}; ${r.timings_ms.total.toFixed(0)} ms → ${path.join(values.out, stem)}.*\n`,
        );
      }
      return 0;
    } catch (e) {
      throw asCliError(e);
    } finally {
      await worker.dispose();
    }
  },
};
