// Preprocessing configuration: how pixels become the model's input tensor. Read from a
// sidecar `<model>.camlens.json`, an explicit --config file, or defaults (ImageNet).
// The format is a contract other tools rely on; unknown keys are allowed and ignored.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CamLensError } from '../errors';
import type { ModelProto } from '../onnx/types';

export type ResizeMode = 'stretch' | 'shorter-side-then-center-crop';

export interface PreprocessConfig {
  /** [H, W]; undefined = from the model's input shape. */
  size?: [number, number];
  resize: ResizeMode;
  /** x = (pixel / scale − mean) / std. */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  channels: 'RGB' | 'BGR';
  layout: 'NCHW' | 'NHWC';
}

export interface ModelConfig {
  input: PreprocessConfig;
  labels?: string[];
  /** Where the config came from ('defaults', or a file path). */
  source: string;
}

export const IMAGENET_DEFAULTS: PreprocessConfig = {
  resize: 'stretch', scale: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channels: 'RGB', layout: 'NCHW',
};

export const sidecarPathOf = (modelPath: string) => modelPath.replace(/\.onnx$/i, '') + '.camlens.json';

function fail(source: string, message: string): never {
  throw new CamLensError('BAD_ARGUMENT', `${source}: ${message}`);
}

function triple(source: string, key: string, v: unknown): [number, number, number] {
  if (typeof v === 'number') return [v, v, v];
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return v as [number, number, number];
  return fail(source, `"input.${key}" must be a number or three numbers.`);
}

export function parseModelConfig(json: unknown, source: string, baseDir: string): ModelConfig {
  if (!json || typeof json !== 'object') fail(source, 'expected a JSON object.');
  const o = json as Record<string, unknown>;
  const i = (o.input ?? {}) as Record<string, unknown>;
  const input: PreprocessConfig = { ...IMAGENET_DEFAULTS };
  if (i.size !== undefined) {
    const s = i.size;
    if (!Array.isArray(s) || s.length !== 2 || !s.every((x) => Number.isInteger(x) && x > 0)) fail(source, '"input.size" must be [H, W] with positive integers.');
    input.size = [s[0], s[1]];
  }
  if (i.resize !== undefined) {
    if (i.resize !== 'stretch' && i.resize !== 'shorter-side-then-center-crop') fail(source, '"input.resize" must be "stretch" or "shorter-side-then-center-crop".');
    input.resize = i.resize;
  }
  if (i.scale !== undefined) {
    if (typeof i.scale !== 'number' || !(i.scale > 0)) fail(source, '"input.scale" must be a positive number (255 for inputs in 0–1, 1 for 0–255).');
    input.scale = i.scale;
  }
  if (i.mean !== undefined) input.mean = triple(source, 'mean', i.mean);
  if (i.std !== undefined) {
    input.std = triple(source, 'std', i.std);
    if (input.std.some((x) => x === 0)) fail(source, '"input.std" must not contain 0.');
  }
  if (i.channels !== undefined) {
    if (i.channels !== 'RGB' && i.channels !== 'BGR') fail(source, '"input.channels" must be "RGB" or "BGR".');
    input.channels = i.channels;
  }
  if (i.layout !== undefined) {
    if (i.layout !== 'NCHW' && i.layout !== 'NHWC') fail(source, '"input.layout" must be "NCHW" or "NHWC".');
    input.layout = i.layout;
  }
  let labels: string[] | undefined;
  if (Array.isArray(o.labels)) labels = o.labels.map(String);
  else if (typeof o.labels === 'string') labels = readLabelsFile(path.resolve(baseDir, o.labels));
  else if (o.labels !== undefined) fail(source, '"labels" must be an array of names or a path to a text file.');
  return { input, labels, source };
}

export function readLabelsFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new CamLensError('BAD_ARGUMENT', `Cannot read labels file ${file}.`);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) return (JSON.parse(trimmed) as unknown[]).map(String);
  return trimmed.split(/\r?\n/).map((l) => l.trim());
}

/** Labels stored in the model's metadata_props (keys "labels" / "classes"), if any. */
export function labelsFromMetadata(model: ModelProto): string[] | undefined {
  const entry = model.metadataProps.find((p) => p.key === 'labels' || p.key === 'classes' || p.key === 'names');
  if (!entry?.value) return undefined;
  const v = entry.value.trim();
  try {
    if (v.startsWith('[')) return (JSON.parse(v) as unknown[]).map(String);
    if (v.startsWith('{')) {
      const o = JSON.parse(v) as Record<string, string>;
      return Object.keys(o).sort((a, b) => Number(a) - Number(b)).map((k) => String(o[k]));
    }
  } catch {
    // fall through to plain text
  }
  return v.split(/[\n,]/).map((s) => s.trim());
}

/**
 * The configuration for a model: `explicitPath` (from --config) wins, then the sidecar next
 * to the model, then defaults. Labels: `labelsPath`, config, model metadata.
 */
export function resolveModelConfig(modelPath: string, model: ModelProto, explicitPath?: string, labelsPath?: string): ModelConfig {
  let config: ModelConfig = { input: { ...IMAGENET_DEFAULTS }, source: 'defaults' };
  const file = explicitPath ?? (fs.existsSync(sidecarPathOf(modelPath)) ? sidecarPathOf(modelPath) : undefined);
  if (file) {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new CamLensError('BAD_ARGUMENT', `Cannot read config ${file}: ${(e as Error).message}`);
    }
    config = parseModelConfig(json, file, path.dirname(file));
  }
  if (labelsPath) config.labels = readLabelsFile(labelsPath);
  config.labels ??= labelsFromMetadata(model);
  return config;
}
