// Preprocessing configuration: how pixels become the model's input tensor. Read from a
// sidecar `<model>.camlens.json`, an explicit --config file, or defaults (ImageNet).
// The format is a contract other tools rely on; unknown keys are allowed and ignored.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CamLensError } from '../errors';
import type { ModelProto } from '../onnx/types';
import { FILE_LIMITS, readUserText } from '../userFiles';

export type ResizeMode = 'stretch' | 'shorter-side-then-center-crop' | 'letterbox';
export const RESIZE_MODES: readonly ResizeMode[] = ['stretch', 'shorter-side-then-center-crop', 'letterbox'];

export interface PreprocessConfig {
  /** [H, W]; undefined = from the model's input shape. */
  size?: [number, number];
  resize: ResizeMode;
  /** Letterbox only: the grey of the padding, 0–255 (default 114, ultralytics'). */
  pad?: number;
  /** x = (pixel / scale − mean) / std. */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  channels: 'RGB' | 'BGR';
  layout: 'NCHW' | 'NHWC';
  /**
   * 4-channel models: "keep" the image's alpha (opaque images give 255), or "fill" it with
   * `alphaFill` (0–255). The 4th channel is alpha/scale (no mean/std).
   */
  alpha?: 'keep' | 'fill';
  alphaFill?: number;
}

/** A model input other than the image: a constant (broadcast to the input's shape) or a .npy file. */
export type ExtraInput = { value: number } | { npy: string };

export interface ModelConfig {
  input: PreprocessConfig;
  /** Values of the model's other inputs, by input name (.npy paths resolved against the config's folder). */
  inputs?: Record<string, ExtraInput>;
  labels?: string[];
  /** Where the config came from ('defaults', or a file path). */
  source: string;
}

export const IMAGENET_DEFAULTS: PreprocessConfig = {
  resize: 'stretch',
  scale: 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  channels: 'RGB',
  layout: 'NCHW',
};

export const sidecarPathOf = (modelPath: string) => modelPath.replace(/\.onnx$/i, '') + '.camlens.json';

function fail(source: string, message: string): never {
  throw new CamLensError('BAD_ARGUMENT', `${source}: ${message}`);
}

/** Bounds that keep x = (pixel / scale − mean) / std finite and meaningful (JSON's 1e400 is Infinity). */
const MAX_MEAN = 1e6;
const MIN_STD = 1e-6;
const MAX_STD = 1e6;
/** Larger inputs are for issue-sized budgets, not a config typo: 8192² floats are 800 MB per tensor. */
export const MAX_INPUT_SIDE = 8192;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function triple(source: string, key: string, v: unknown, ok: (x: number) => boolean, range: string): [number, number, number] {
  const t = typeof v === 'number' ? [v, v, v] : v;
  if (!Array.isArray(t) || t.length !== 3 || !t.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    return fail(source, `"input.${key}" must be a finite number or three finite numbers.`);
  }
  if (!t.every(ok)) fail(source, `"input.${key}" must be ${range}; got ${JSON.stringify(v)}.`);
  return t as [number, number, number];
}

export function parseModelConfig(json: unknown, source: string, baseDir: string): ModelConfig {
  if (!isObject(json))
    fail(source, `expected a JSON object ({"input": {...}, "labels": ...}), got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}.`);
  const o = json;
  if (o.input !== undefined && !isObject(o.input)) fail(source, '"input" must be an object such as {"size": [224, 224], "mean": [...], "std": [...]}.');
  const i = (o.input ?? {}) as Record<string, unknown>;
  const input: PreprocessConfig = { ...IMAGENET_DEFAULTS };
  if (i.size !== undefined) {
    const s = i.size;
    if (!Array.isArray(s) || s.length !== 2 || !s.every((x) => Number.isInteger(x) && x > 0))
      fail(source, '"input.size" must be [H, W] with positive integers.');
    if (s.some((x: number) => x > MAX_INPUT_SIDE)) fail(source, `"input.size" ${JSON.stringify(s)} is larger than ${MAX_INPUT_SIDE} on a side.`);
    input.size = [s[0], s[1]];
  }
  if (i.resize !== undefined) {
    if (!(RESIZE_MODES as readonly unknown[]).includes(i.resize))
      fail(source, '"input.resize" must be "stretch", "shorter-side-then-center-crop" or "letterbox".');
    input.resize = i.resize as ResizeMode;
  }
  if (i.pad !== undefined) {
    if (!Number.isInteger(i.pad) || (i.pad as number) < 0 || (i.pad as number) > 255) fail(source, '"input.pad" must be an integer grey level from 0 to 255.');
    input.pad = i.pad as number;
  }
  if (i.scale !== undefined) {
    if (typeof i.scale !== 'number' || !(i.scale > 0) || !Number.isFinite(i.scale))
      fail(source, '"input.scale" must be a positive number (255 for inputs in 0–1, 1 for 0–255).');
    input.scale = i.scale;
  }
  if (i.mean !== undefined) input.mean = triple(source, 'mean', i.mean, (x) => Math.abs(x) <= MAX_MEAN, `within ±${MAX_MEAN}`);
  if (i.std !== undefined) {
    input.std = triple(source, 'std', i.std, () => true, '');
    if (input.std.some((x) => x === 0)) fail(source, '"input.std" must not contain 0.');
    if (input.std.some((x) => Math.abs(x) < MIN_STD || Math.abs(x) > MAX_STD)) {
      fail(source, `"input.std" must be between ${MIN_STD} and ${MAX_STD} in magnitude; got ${JSON.stringify(i.std)}.`);
    }
  }
  if (i.channels !== undefined) {
    if (i.channels !== 'RGB' && i.channels !== 'BGR') fail(source, '"input.channels" must be "RGB" or "BGR".');
    input.channels = i.channels;
  }
  if (i.layout !== undefined) {
    if (i.layout !== 'NCHW' && i.layout !== 'NHWC') fail(source, '"input.layout" must be "NCHW" or "NHWC".');
    input.layout = i.layout;
  }
  if (i.alpha !== undefined) {
    if (i.alpha !== 'keep' && i.alpha !== 'fill') fail(source, '"input.alpha" must be "keep" or "fill".');
    input.alpha = i.alpha;
  }
  if (i.alphaFill !== undefined) {
    if (typeof i.alphaFill !== 'number' || !(i.alphaFill >= 0 && i.alphaFill <= 255)) fail(source, '"input.alphaFill" must be a number from 0 to 255.');
    input.alphaFill = i.alphaFill;
  }
  const inputs = o.inputs === undefined ? undefined : parseExtraInputs(o.inputs, source, baseDir);
  let labels: string[] | undefined;
  if (Array.isArray(o.labels)) labels = o.labels.map(String);
  else if (typeof o.labels === 'string') labels = readLabelsFile(pathInside(baseDir, o.labels, source));
  else if (o.labels !== undefined) fail(source, '"labels" must be an array of names or a path to a text file.');
  return { input, labels, source, ...(inputs ? { inputs } : {}) };
}

/** `"inputs": {"name": {"value": 0.5} | {"npy": "file.npy"}}`: the model's other inputs. */
function parseExtraInputs(v: unknown, source: string, baseDir: string): Record<string, ExtraInput> {
  if (!isObject(v)) fail(source, '"inputs" must be an object such as {"scale_factor": {"value": 1}, "im_shape": {"npy": "im_shape.npy"}}.');
  const out: Record<string, ExtraInput> = {};
  for (const [name, spec] of Object.entries(v)) {
    if (isObject(spec) && typeof spec.value === 'number' && Number.isFinite(spec.value)) out[name] = { value: spec.value };
    else if (isObject(spec) && typeof spec.npy === 'string') out[name] = { npy: pathInside(baseDir, spec.npy, source, `"inputs.${name}.npy"`, '') };
    else fail(source, `"inputs.${name}" must be {"value": <finite number>} or {"npy": "<file>.npy"}.`);
  }
  return out;
}

/**
 * A config's labels (or .npy input) path, resolved against the config's folder and refused when it leaves it
 * (a workspace's config must not read files elsewhere, as for external tensor data); symlinks
 * are resolved before the check. `--labels` on the command line is the user's own choice and
 * is not restricted.
 */
function pathInside(baseDir: string, relative: string, source: string, what = '"labels"', hint = ' (or pass it with --labels)'): string {
  const file = path.resolve(baseDir, relative);
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return p;
    }
  };
  const inside = (dir: string, p: string) => {
    const rel = path.relative(dir, p);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  };
  if (!inside(baseDir, file) || !inside(real(baseDir), real(file))) {
    fail(source, `${what} ${JSON.stringify(relative)} points outside the config's folder ${baseDir}; keep the file beside the config${hint}.`);
  }
  return file;
}

export function readLabelsFile(file: string): string[] {
  const trimmed = readUserText(file, { what: 'labels file', maxBytes: FILE_LIMITS.labels }).trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new CamLensError(
        'BAD_ARGUMENT',
        `Labels file ${file} starts with "[" but is not valid JSON (${(e as Error).message}); use a JSON array of names or one name per line.`,
      );
    }
    if (!Array.isArray(parsed)) throw new CamLensError('BAD_ARGUMENT', `Labels file ${file}: expected a JSON array of names.`);
    return parsed.map(String);
  }
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
      return Object.keys(o)
        .sort((a, b) => Number(a) - Number(b))
        .map((k) => String(o[k]));
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
    const text = readUserText(file, { what: 'config', maxBytes: FILE_LIMITS.config });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new CamLensError('BAD_ARGUMENT', `Config ${file} is not valid JSON: ${(e as Error).message}`);
    }
    config = parseModelConfig(json, file, path.dirname(file));
  }
  if (labelsPath) config.labels = readLabelsFile(labelsPath);
  config.labels ??= labelsFromMetadata(model);
  return config;
}
