// The panel's method options (issue 20): one spec per option (engine/cam/methodOptions.ts) for
// every option a registry method declares, with the CLI's bounds and the engine's defaults; the
// `setOptions` intent's values checked against it (a bad value is dropped, and the reason names
// the option, what is allowed and what came); the webview's inputs read and check the same table.
import { deepEqual, equal, match, ok, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BASELINE } from '../../src/engine/attribution/baselines';
import { DEFAULT_IG_STEPS } from '../../src/engine/attribution/integratedGradients';
import { DEFAULT_NOISE_SAMPLES, DEFAULT_NOISE_SIGMA } from '../../src/engine/attribution/noiseTunnel';
import { DEFAULT_OCCLUSION_STRIDE, DEFAULT_OCCLUSION_WINDOW } from '../../src/engine/attribution/occlusion';
import { DEFAULT_RISE_MASKS } from '../../src/engine/attribution/rise';
import { DFF_DEFAULT_CONCEPTS } from '../../src/engine/cam/dff';
import { METHOD_OPTION_KEYS, METHOD_OPTION_SPECS, methodOptionProblem, type MethodOptionSpec } from '../../src/engine/cam/methodOptions';
import { methodOptionKeys } from '../../src/engine/cam/registry';
import { CAM_METHODS } from '../../src/engine/explainTypes';
import { FINER_DEFAULT_ALPHA } from '../../src/engine/targets/finer';
import { explainParamsFromArgs } from '../../src/cli/commands/explain';
import { LIMITS } from '../../src/cli/options';
import { methodOptionChangesProblem, methodOptionsFor, parseFromWebview, persistedExplainState, withMethodOptions } from '../../src/panel/protocol';
import { optionFromText, optionText, shownOptions } from '../../webview/cam/optionsState';

const specs: Record<string, MethodOptionSpec> = METHOD_OPTION_SPECS;

describe('method option table', () => {
  it('every option a registry method declares has a spec; every spec is declared by some method', () => {
    const declared = new Set(CAM_METHODS.flatMap((m) => [...methodOptionKeys(m)]));
    for (const k of declared) ok(specs[k], `${k} has no spec`);
    deepEqual([...declared].sort(), [...METHOD_OPTION_KEYS].sort());
    deepEqual(methodOptionKeys('integrated-gradients'), ['igSteps', 'baseline']);
    deepEqual(methodOptionKeys('occlusion'), ['window', 'stride', 'baseline']);
    deepEqual(methodOptionKeys('dff'), ['concepts']);
    deepEqual(methodOptionKeys('kpcacam'), ['kernel', 'components']);
    deepEqual(methodOptionKeys('gradcam'), []);
    deepEqual(methodOptionKeys('attention-rollout'), []);
  });

  it("each default is a valid value, and the engine's defaults are the table's", () => {
    for (const k of METHOD_OPTION_KEYS) if (specs[k].default !== null) equal(methodOptionProblem(k, specs[k].default), undefined, k);
    const engine = [
      DEFAULT_IG_STEPS,
      DEFAULT_BASELINE,
      DEFAULT_OCCLUSION_WINDOW,
      DEFAULT_OCCLUSION_STRIDE,
      DEFAULT_RISE_MASKS,
      DEFAULT_NOISE_SAMPLES,
      DEFAULT_NOISE_SIGMA,
      DFF_DEFAULT_CONCEPTS,
      FINER_DEFAULT_ALPHA,
    ];
    const keys = ['igSteps', 'baseline', 'window', 'stride', 'masks', 'noiseSamples', 'noiseSigma', 'concepts', 'finerAlpha'];
    deepEqual(
      engine,
      keys.map((k) => specs[k].default),
    );
    // The anchors' defaults (Captum, RISE's paper, pytorch-grad-cam's DFF example).
    deepEqual(engine, [50, 'black', 16, 8, 1000, 25, 0.15, 5, 1]);
  });

  it("the bounds are the CLI's: its LIMITS, and its flags reject what the panel rejects", () => {
    for (const k of ['igSteps', 'window', 'stride', 'masks', 'noiseSamples', 'components', 'concepts'] as const) {
      const s = METHOD_OPTION_SPECS[k];
      deepEqual(LIMITS[k], { min: s.min, max: s.max }, k);
    }
    const cli = (args: Record<string, unknown>) => explainParamsFromArgs(args, 'm.onnx', 'x.png');
    for (const [key, arg, ok1, bad] of [
      ['igSteps', 'ig-steps', 10_000, 10_001],
      ['noiseSigma', 'noise-sigma', 10, 10.5],
      ['concepts', 'concepts', 64, 65],
      ['finerAlpha', 'finer-alpha', 0, -0.1],
    ] as const) {
      const extra = key === 'finerAlpha' ? { method: 'finercam' } : {};
      equal(cli({ ...extra, [arg]: String(ok1) })[key], ok1);
      equal(methodOptionProblem(key, ok1), undefined);
      throws(() => cli({ ...extra, [arg]: String(bad) }), new RegExp(`--${arg}`));
      ok(methodOptionProblem(key, bad), `${key} ${bad}`);
    }
    deepEqual(cli({ method: 'finercam', 'finer-classes': '3, 5' }).finerClasses, [3, 5]);
    throws(() => cli({ method: 'finercam', 'finer-classes': '3,-1' }), /--finer-classes.*got "3,-1"/);
  });
});

describe('setOptions intent', () => {
  it('passes valid option values and null (back to the default)', () => {
    deepEqual(parseFromWebview({ type: 'setOptions', methodOptions: { igSteps: 200, baseline: 'blur', finerClasses: [1, 2], noiseSigma: 0.3 } }), {
      type: 'setOptions',
      augSmooth: undefined,
      multiScale: undefined,
      methodOptions: { igSteps: 200, baseline: 'blur', finerClasses: [1, 2], noiseSigma: 0.3 },
    });
    deepEqual(parseFromWebview({ type: 'setOptions', methodOptions: { concepts: null } }), {
      type: 'setOptions',
      augSmooth: undefined,
      multiScale: undefined,
      methodOptions: { concepts: null },
    });
    // The old intent is unchanged.
    deepEqual(parseFromWebview({ type: 'setOptions', augSmooth: true }), { type: 'setOptions', augSmooth: true, multiScale: undefined });
  });

  it('drops a bad value, and says which option, what is allowed and what came', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ igSteps: 0 }, /Path steps \(--ig-steps\): expected an integer from 1 to 10,000, got 0\./],
      [{ igSteps: 2.5 }, /--ig-steps.*integer.*got 2\.5/],
      [{ igSteps: '50' }, /--ig-steps.*got "50"/],
      [{ noiseSigma: Number.NaN }, /--noise-sigma\): expected a number from 0 to 10, got NaN\./],
      [{ kernel: 'gaussian' }, /--kernel\): expected one of sigmoid, rbf, poly, linear, cosine, got "gaussian"/],
      [{ baseline: { file: '/etc/passwd' } }, /--baseline\): expected one of black, blur, noise/],
      [{ finerClasses: [] }, /--finer-classes\): expected 1 to 1000 class indices/],
      [{ finerClasses: [1, -2] }, /--finer-classes.*got \[1,-2\]/],
      [{ masks: 100_001 }, /--masks.*from 1 to 100,000/],
      [{ steps: 10 }, /unknown option 'steps'; valid: igSteps, /],
      [[1], /expected an object of option values/],
      ['igSteps=5', /expected an object of option values/],
    ];
    for (const [methodOptions, why] of cases) {
      equal(parseFromWebview({ type: 'setOptions', methodOptions }), undefined, JSON.stringify(methodOptions));
      match(methodOptionChangesProblem(methodOptions) ?? '', why);
    }
  });

  it('the host applies changes, keeps other methods’ values, and sends a method only the options it reads', () => {
    const stored = withMethodOptions({ igSteps: 100, window: 32 }, { igSteps: null, concepts: 7, baseline: 'noise' });
    deepEqual(stored, { window: 32, concepts: 7, baseline: 'noise' });
    deepEqual(methodOptionsFor(stored, methodOptionKeys('occlusion')), { window: 32, baseline: 'noise' });
    deepEqual(methodOptionsFor(stored, methodOptionKeys('dff')), { concepts: 7 });
    deepEqual(methodOptionsFor(stored, methodOptionKeys('gradcam')), {});
  });

  it('a revived panel keeps its valid option values and drops the others', () => {
    const saved = { host: { modelPath: 'm.onnx', images: ['a.png'], options: { igSteps: 20, window: 0, kernel: 'rbf', bogus: 1 } } };
    deepEqual(persistedExplainState(saved)?.options, { igSteps: 20, kernel: 'rbf' });
    equal(persistedExplainState({ host: { modelPath: 'm.onnx', images: ['a.png'] } })?.options, undefined);
  });
});

describe('Options inputs (webview)', () => {
  const declared = { occlusion: methodOptionKeys('occlusion'), finercam: methodOptionKeys('finercam') };
  it("show the method's options in the table's order, with the value set or the default", () => {
    deepEqual(shownOptions('occlusion', declared), ['baseline', 'window', 'stride']);
    deepEqual(shownOptions('gradcam', declared), []);
    equal(optionText('window', undefined), '16');
    equal(optionText('window', { window: 4 }), '4');
    equal(optionText('finerClasses', {}), '');
    equal(optionText('finerClasses', { finerClasses: [3, 9] }), '3, 9');
  });

  it("read an input's text as the host would check it", () => {
    deepEqual(optionFromText('window', ' 24 '), { value: 24 });
    deepEqual(optionFromText('window', ''), { value: null });
    deepEqual(optionFromText('finerClasses', '3, 9'), { value: [3, 9] });
    deepEqual(optionFromText('noiseSigma', '0.25'), { value: 0.25 });
    match((optionFromText('window', '0') as { problem: string }).problem, /Window \(--window\): expected an integer from 1 to 8,192, got "0"\./);
    match((optionFromText('window', 'abc') as { problem: string }).problem, /got "abc"/);
    match((optionFromText('finerClasses', '3,,4') as { problem: string }).problem, /--finer-classes/);
  });
});
