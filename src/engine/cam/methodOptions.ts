// The method-specific options (IG steps, occlusion window, RISE masks, KPCA kernel, DFF concepts…):
// one spec per option, with its label, its CLI flag, its kind and its bounds and default. The
// CLI's bounds (cli/options.ts LIMITS), the engine's defaults, the panel's Options inputs and the
// panel protocol's validation all read this table, so a bound or a default changes in one place.
// Which methods read which option is the registry's (`options` on its entries). Pure: the webview
// bundles it through src/panel/protocol.ts.
import { ATTRIBUTION_BASELINES, NOISE_TUNNEL_BASES, type ExplainParams } from '../explainTypes';
import { KPCA_KERNELS } from './kernelPca';

interface SpecBase {
  /** What the panel's input is labelled. */
  label: string;
  /** The CLI flag that sets it. */
  flag: string;
  /** What it does, in a line (the input's tooltip). */
  help: string;
}

export interface IntOptionSpec extends SpecBase {
  kind: 'int';
  min: number;
  max: number;
  default: number;
}

export interface NumberOptionSpec extends SpecBase {
  kind: 'number';
  min: number;
  max: number;
  default: number;
  /** The panel's input step. */
  step: number;
}

export interface ChoiceOptionSpec extends SpecBase {
  kind: 'choice';
  choices: readonly string[];
  default: string;
}

/** Class indices (finercam's comparison classes); the default (null) lets the method choose. */
export interface ClassesOptionSpec extends SpecBase {
  kind: 'classes';
  /** The largest class index and the longest list. */
  max: number;
  maxCount: number;
  default: null;
}

export type MethodOptionSpec = IntOptionSpec | NumberOptionSpec | ChoiceOptionSpec | ClassesOptionSpec;

/** The options a method may declare: ExplainParams keys. */
export const METHOD_OPTION_KEYS = [
  'igSteps',
  'baseline',
  'window',
  'stride',
  'masks',
  'noiseBase',
  'noiseSamples',
  'noiseSigma',
  'kernel',
  'components',
  'finerClasses',
  'finerAlpha',
  'concepts',
] as const satisfies ReadonlyArray<keyof ExplainParams>;
export type MethodOptionKey = (typeof METHOD_OPTION_KEYS)[number];

/**
 * Values of the options, as the panel stores them and explain takes them. The panel offers the
 * named baselines only (a baseline file is the CLI's).
 */
export type MethodOptionValues = Partial<Omit<Pick<ExplainParams, MethodOptionKey>, 'baseline'> & { baseline: (typeof ATTRIBUTION_BASELINES)[number] }>;

export const METHOD_OPTION_SPECS = {
  // Each step, patch, mask or noisy copy is one more model input (a row of a batched run).
  igSteps: {
    kind: 'int',
    label: 'Path steps',
    flag: '--ig-steps',
    help: "Integrated Gradients' points on the path from the baseline to the input",
    min: 1,
    max: 10_000,
    default: 50,
  },
  baseline: {
    kind: 'choice',
    label: 'Baseline',
    flag: '--baseline',
    help: 'The reference input Integrated Gradients and Occlusion compare with',
    choices: ATTRIBUTION_BASELINES,
    default: 'black',
  },
  // Occlusion's patch side and step, in model-input pixels.
  window: { kind: 'int', label: 'Window', flag: '--window', help: "Occlusion's square patch side, model-input pixels", min: 1, max: 8192, default: 16 },
  stride: { kind: 'int', label: 'Stride', flag: '--stride', help: "Occlusion's patch step, model-input pixels", min: 1, max: 8192, default: 8 },
  masks: { kind: 'int', label: 'Masks', flag: '--masks', help: 'RISE: random masks (7×7 cells, p = 0.5)', min: 1, max: 100_000, default: 1000 },
  noiseBase: {
    kind: 'choice',
    label: 'Gradient method',
    flag: '--noise-base',
    help: 'The gradient method SmoothGrad / VarGrad average over noisy copies',
    choices: NOISE_TUNNEL_BASES,
    default: 'saliency',
  },
  noiseSamples: { kind: 'int', label: 'Noise samples', flag: '--noise-samples', help: 'Noisy copies of the input', min: 1, max: 10_000, default: 25 },
  noiseSigma: {
    kind: 'number',
    label: 'Noise σ',
    flag: '--noise-sigma',
    help: "The noise's standard deviation as a fraction of the input's range (max − min)",
    min: 0,
    max: 10,
    default: 0.15,
    step: 0.01,
  },
  kernel: { kind: 'choice', label: 'Kernel', flag: '--kernel', help: "KPCA-CAM's kernel", choices: KPCA_KERNELS, default: 'sigmoid' },
  // kpcacam: components summed into the map; dff: concepts (each is an NMF factor and a head run).
  components: { kind: 'int', label: 'Components', flag: '--components', help: 'Kernel-PCA projections summed into the map', min: 1, max: 64, default: 1 },
  finerClasses: {
    kind: 'classes',
    label: 'Comparison classes',
    flag: '--finer-classes',
    help: 'Class indices separated by commas; empty: the 3 whose logits are closest to the target’s',
    max: 1_000_000,
    maxCount: 1000,
    default: null,
  },
  finerAlpha: {
    kind: 'number',
    label: 'Contrast weight',
    flag: '--finer-alpha',
    help: "How strongly the comparison classes' logits are subtracted",
    min: 0,
    max: 10,
    default: 1,
    step: 0.1,
  },
  concepts: { kind: 'int', label: 'Concepts', flag: '--concepts', help: 'Concepts the activations are factorised into (NMF)', min: 1, max: 64, default: 5 },
} as const satisfies Record<MethodOptionKey, MethodOptionSpec>;

export const isMethodOptionKey = (k: unknown): k is MethodOptionKey => (METHOD_OPTION_KEYS as readonly unknown[]).includes(k);

/** An int option's bounds (the CLI's LIMITS entry). */
export const optionBounds = (key: 'igSteps' | 'window' | 'stride' | 'masks' | 'noiseSamples' | 'components' | 'concepts') => ({
  min: METHOD_OPTION_SPECS[key].min,
  max: METHOD_OPTION_SPECS[key].max,
});

const range = (s: { min: number; max: number }) => `from ${s.min} to ${s.max.toLocaleString('en')}`;

/**
 * Why `value` is not a valid value of option `key` (a sentence naming the option, what is
 * allowed and what was given: `shown`, else the value as JSON), or undefined when it is valid.
 */
export function methodOptionProblem(key: MethodOptionKey, value: unknown, shown?: string): string | undefined {
  const spec: MethodOptionSpec = METHOD_OPTION_SPECS[key];
  // JSON would write NaN and Infinity as null.
  const given = `got ${shown ?? (typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value)))}`;
  const name = `${spec.label} (${spec.flag})`;
  switch (spec.kind) {
    case 'int':
      return typeof value === 'number' && Number.isInteger(value) && value >= spec.min && value <= spec.max
        ? undefined
        : `${name}: expected an integer ${range(spec)}, ${given}.`;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) && value >= spec.min && value <= spec.max
        ? undefined
        : `${name}: expected a number ${range(spec)}, ${given}.`;
    case 'choice':
      return spec.choices.includes(value as string) ? undefined : `${name}: expected one of ${spec.choices.join(', ')}, ${given}.`;
    case 'classes':
      return Array.isArray(value) &&
        value.length > 0 &&
        value.length <= spec.maxCount &&
        value.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= spec.max)
        ? undefined
        : `${name}: expected 1 to ${spec.maxCount} class indices ${range({ min: 0, max: spec.max })}, ${given}.`;
  }
}

/** The option values of `saved` that are valid, each checked (state from an older version may differ). */
export function validMethodOptions(saved: unknown): MethodOptionValues {
  if (!saved || typeof saved !== 'object' || Array.isArray(saved)) return {};
  return Object.fromEntries(Object.entries(saved).filter(([k, v]) => isMethodOptionKey(k) && methodOptionProblem(k, v) === undefined)) as MethodOptionValues;
}
