// Issue 15's guardrails and original-size outputs, end to end through explain(): token strips
// read from the model's geometry, warnings for empty maps, probabilities not soft-maxed again,
// S.overlay.png / S.cam_image.npy at the photo's own size, and the panel drawing the same pixels.
import { deepEqual, equal, ok } from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { completeOutput, explanationJson, writeImageOutputs } from '../../src/engine/batch/outputs';
import { explain } from '../../src/engine/explain';
import { encodeNpy, readNpy } from '../../src/engine/npy';
import { serializeModel } from '../../src/engine/onnx/io';
import { DataType, valueInfo } from '../../src/engine/onnx/builder';
import type { ModelProto } from '../../src/engine/onnx/types';
import { rowsAreDistributions } from '../../src/engine/pipeline/predictions';
import { mapWarnings } from '../../src/engine/pipeline/warnings';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { writeExplanation } from '../../src/cli/commands/explain';
import { explainView, overlayPngAsShown } from '../../src/host/panel/explainView';
import { withShownMap } from '../../src/panel/protocol';
import { overlayRgba } from '../../webview/cam/pixels';
import { tinyCnn } from '../helpers/models';
import { tinyProbabilityClassifier, tinyStripRecogniser } from '../helpers/nonClassifiers';

const dir = mkdtempSync(join(tmpdir(), 'camlens-guard-'));
const sessions = new SessionCache();
after(async () => {
  await sessions.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});

function modelFile(name: string, proto: ModelProto, config?: object): string {
  const file = join(dir, `${name}.onnx`);
  writeFileSync(file, serializeModel(proto));
  if (config) writeFileSync(join(dir, `${name}.camlens.json`), JSON.stringify(config));
  return file;
}

/** A w×h photo: a bright disc on a dark ground, left of centre. */
async function photo(name: string, w: number, h: number): Promise<string> {
  const data = Buffer.alloc(w * h * 3, 30);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) if ((x - w * 0.3) ** 2 + (y - h * 0.5) ** 2 < (h * 0.2) ** 2) data.fill(230, (y * w + x) * 3, (y * w + x) * 3 + 3);
  const file = join(dir, name);
  await sharp(data, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(file);
  return file;
}

const pngSize = async (png: Uint8Array) => {
  const m = await sharp(Buffer.from(png)).metadata();
  return [m.width, m.height];
};

describe('guardrails and original-size outputs', () => {
  it('explains a 1×40 token strip as a 1×40 map, not as 4 register tokens and a 6×6 grid', async () => {
    const model = modelFile('ocr', tinyStripRecogniser());
    const r = await explain({ modelPath: model, input: await photo('line.png', 320, 64) }, { sessions });
    const e = r.explanations[0];
    deepEqual([e.camRaw.height, e.camRaw.width], [1, 40]);
    deepEqual([e.cam.height, e.cam.width], [32, 160]);
    equal(r.layers.length, 1);
  });

  it('warns when the gradient of the layer is zero everywhere, in the result and S.json', async () => {
    const model = modelFile('cut', tinyProbabilityClassifier(true));
    const image = await photo('cut.png', 32, 32);
    // The suggested layer is the product with 0 itself: an empty activation.
    const suggested = await explain({ modelPath: model, input: image }, { sessions });
    deepEqual(
      suggested.warnings.map((w) => w.code),
      ['zero-activation'],
    );
    // The layer before it: its gradient is cut.
    const r = await explain({ modelPath: model, input: image, layers: ['/block2/Relu_output_0'] }, { sessions });
    deepEqual(
      r.warnings.map((w) => w.code),
      ['zero-gradient'],
    );
    ok(/layer "\/block2\/Relu_output_0".*gradient is zero everywhere.*likely cause/.test(r.warnings[0].message));
    const files = await writeExplanation(join(dir, 'out-cut'), 'cut', r);
    ok(files.includes('cut.json'));
    const json = JSON.parse(readFileSync(join(dir, 'out-cut', 'cut.json'), 'utf8')) as { warnings: Array<{ code: string }> };
    deepEqual(
      json.warnings.map((w) => w.code),
      ['zero-gradient'],
    );
    // The same model without the cut: no warning.
    const fine = await explain({ modelPath: modelFile('uncut', tinyProbabilityClassifier(false)), input: join(dir, 'cut.png') }, { sessions });
    deepEqual(fine.warnings, []);
  });

  it('names each kind of degenerate map with its cause', () => {
    const base = { layer: 'L', classIndex: 3 };
    const code = (c: Parameters<typeof mapWarnings>[0]) => mapWarnings(c).map((w) => w.code);
    deepEqual(code({ ...base, lowres: [1, 2, 3] }), []);
    deepEqual(code({ ...base, lowres: [0, 0, 0] }), ['zero-map']);
    deepEqual(code({ ...base, lowres: [-1, -2, -3] }), ['zero-map']);
    deepEqual(code({ ...base, lowres: [0.5, 0.5, 0.5] }), ['constant-map']);
    deepEqual(code({ ...base, lowres: [1, NaN, 3] }), ['non-finite-map']);
    // A degenerate map is explained by its first cause: activation, then gradient.
    deepEqual(code({ ...base, lowres: [0, 0, 0], gradient: [0, 0] }), ['zero-gradient']);
    deepEqual(code({ ...base, lowres: [1, NaN, 3], gradient: [1, Infinity] }), ['non-finite-gradient']);
    deepEqual(code({ ...base, lowres: [NaN, NaN], activation: [NaN], gradient: [NaN] }), ['non-finite-activation']);
    deepEqual(code({ ...base, lowres: [0, 0], activation: [0, 0] }), ['zero-activation']);
    deepEqual(code({ ...base, lowres: [0.5, 0.5], activation: [1, 2], gradient: [0, 0] }), ['zero-gradient']);
    // A map that shows something needs no cause: an ablation or score map does not read the
    // gradient, so a zero or non-finite one there says nothing about it.
    deepEqual(code({ ...base, lowres: [1, 2, 3], gradient: [0, 0] }), []);
    deepEqual(code({ ...base, lowres: [1, 2, 3], gradient: [1, Infinity], activation: [NaN] }), []);
    // NaN first (no comparison ever sees it), -Infinity, and -0 (still zero).
    deepEqual(code({ ...base, lowres: [NaN, 1, 2] }), ['non-finite-map']);
    deepEqual(code({ ...base, lowres: [NaN], gradient: [-Infinity, 0] }), ['non-finite-gradient']);
    deepEqual(code({ ...base, lowres: [0, 0], gradient: [-0, 0] }), ['zero-gradient']);
    deepEqual(code({ ...base, lowres: [NaN], gradient: Float32Array.of(0.5, NaN, -1) }), ['non-finite-gradient']);
    // Every lane of the four-lane sum, and the values after the last whole group of four.
    for (let at = 0; at < 11; at++) {
      const g = new Float32Array(11).fill(0.25);
      g[at] = at % 2 ? Infinity : NaN;
      deepEqual(code({ ...base, lowres: [NaN], gradient: g }), ['non-finite-gradient'], `non-finite value at ${at}`);
    }
    // +Infinity and -Infinity in two lanes (their sum is NaN, not Infinity).
    deepEqual(code({ ...base, lowres: [NaN], activation: Float32Array.of(Infinity, -Infinity, 1, 1) }), ['non-finite-activation']);
    // Finite float64 values whose sum overflows are finite; a zero after non-zero values is not "all zero":
    // neither is the cause, and the map's own warning is given.
    deepEqual(code({ ...base, lowres: [0, 0], activation: Float64Array.of(1e308, 1e308, 1e308, 1e308, 1e308), gradient: [1, 0] }), ['zero-map']);
    deepEqual(code({ ...base, lowres: [0, 0], gradient: [0, 0, 0, 0, 0, 1e-30] }), ['zero-map']);
  });

  it('warns when a model with open height and width runs a large photo at its own size, and says how to resize', async () => {
    const open = tinyCnn();
    open.graph!.input[0] = valueInfo('input', DataType.FLOAT, ['batch', 3, 'h', 'w']);
    const model = modelFile('open-size', open);
    const large = await photo('large.png', 1100, 1000);
    const r = await explain({ modelPath: model, input: large }, { sessions });
    const w = r.warnings.find((x) => x.code === 'input-size-from-image');
    ok(w, JSON.stringify(r.warnings));
    ok(w.message.includes('1100×1000') && w.message.includes('"input.size"'), w.message);
    equal(r.explanations[0].cam.width, 1100, 'it still runs at the photo size: the warning does not change the answer');
    // S.json and stderr carry it as every other warning.
    const out = join(dir, 'open-size-out');
    await writeExplanation(out, 'large', r);
    ok(
      (JSON.parse(readFileSync(join(out, 'large.json'), 'utf8')) as { warnings: Array<{ code: string }> }).warnings.some(
        (x) => x.code === 'input-size-from-image',
      ),
    );
    // A small photo, or a size from the config: nothing to say.
    const small = await explain({ modelPath: model, input: await photo('small.png', 320, 240) }, { sessions });
    deepEqual(
      small.warnings.filter((x) => x.code === 'input-size-from-image'),
      [],
    );
    const sized = modelFile('open-size-configured', open, { input: { size: [64, 64] } });
    const configured = await explain({ modelPath: sized, input: large }, { sessions });
    deepEqual(
      configured.warnings.filter((x) => x.code === 'input-size-from-image'),
      [],
    );
    equal(configured.explanations[0].cam.width, 64);
  });

  it('does not soft-max probabilities again: a Softmax output, or rows that already sum to 1', async () => {
    const r = await explain({ modelPath: modelFile('probs', tinyProbabilityClassifier()), input: await photo('p.png', 40, 30) }, { sessions });
    equal(r.scoreKind, 'probabilities');
    for (const p of r.predictions) equal(p.prob, p.score);
    ok(Math.abs(r.predictions.reduce((s, p) => s + p.prob, 0) - 1) < 1e-5, 'the four probabilities still sum to 1');
    const logits = await explain({ modelPath: modelFile('logits', tinyCnn()), input: join(dir, 'p.png') }, { sessions });
    equal(logits.scoreKind, 'logits');
    ok(logits.predictions.some((p) => p.prob !== p.score));
    ok(rowsAreDistributions([0.2, 0.8, 0.5, 0.5], 2));
    ok(!rowsAreDistributions([0.2, 0.7], 2), 'a row summing to 0.9 is not a distribution');
    ok(!rowsAreDistributions([1.5, -0.5], 2), 'values outside [0, 1] are not probabilities');
  });

  it('draws S.overlay.png and S.cam_image.npy on the original 4:3 photo; S.cam.npy stays at the input size', async () => {
    const model = modelFile('cnn', tinyCnn());
    const image = await photo('wide.png', 64, 48);
    const r = await explain({ modelPath: model, input: image }, { sessions });
    const e = r.explanations[0];
    deepEqual(await pngSize(e.overlayPng!), [64, 48]);
    deepEqual([e.cam.width, e.cam.height, e.camImage!.width, e.camImage!.height], [32, 32, 64, 48]);
    const out = join(dir, 'out-wide');
    const files = await writeExplanation(out, 'wide', r);
    ok(files.includes('wide.cam_image.npy'));
    deepEqual(readNpy(join(out, 'wide.cam.npy')).shape, [32, 32]);
    deepEqual(readNpy(join(out, 'wide.cam_image.npy')).shape, [48, 64]);
    const json = JSON.parse(readFileSync(join(out, 'wide.json'), 'utf8')) as { image: { width: number; height: number; resize: string }; scores: string };
    deepEqual([json.image.width, json.image.height, json.image.resize, json.scores], [64, 48, 'stretch', 'logits']);
    // The panel gets the original picture and draws the same pixels; "Save overlay" writes the CLI's bytes.
    const view = withShownMap(explainView(r, 1)!);
    deepEqual([view.image.width, view.image.height], [64, 48]);
    const cli = await sharp(Buffer.from(e.overlayPng!)).raw().toBuffer();
    const rgba = overlayRgba(view.image, view.cam, { colormap: 'jet', alpha: 0.5, mode: 'overlay' });
    deepEqual(Buffer.from(rgba.filter((_, i) => i % 4 !== 3)), cli);
    deepEqual(Buffer.from(overlayPngAsShown(r, { colormap: 'jet', alpha: 0.5 })), Buffer.from(e.overlayPng!));
  });

  it('puts a centre crop back in place (no values where the photo was cut away) and cuts letterbox padding out', async () => {
    const crop = modelFile('crop', tinyCnn(), { input: { resize: 'shorter-side-then-center-crop' } });
    const r = await explain({ modelPath: crop, input: join(dir, 'wide.png') }, { sessions });
    const m = r.explanations[0].camImage!;
    deepEqual([m.width, m.height], [64, 48]);
    // 64×48 → 32×32 cover: scale 2/3, resized 43×32, 11 columns cut: ⌈5.5⌉ = 6 on the left (8 original columns) and 5 on the right.
    ok(Number.isNaN(m.data[0]) && Number.isNaN(m.data[63]), 'the cut-away columns have no value');
    ok(Number.isFinite(m.data[32]) && Number.isFinite(m.data[47 * 64 + 32]), 'the middle has values');
    const box = modelFile('box', tinyCnn(), { input: { resize: 'letterbox' } });
    const lb = await explain({ modelPath: box, input: join(dir, 'wide.png') }, { sessions });
    const lm = lb.explanations[0].camImage!;
    ok(lm.data.every((v) => Number.isFinite(v)));
    deepEqual(await pngSize(lb.explanations[0].overlayPng!), [64, 48]);
  });

  it('keeps the input-size overlay for a .npy input (there is no other picture)', async () => {
    const model = modelFile('npy', tinyCnn());
    const npy = join(dir, 'x.npy');
    writeFileSync(npy, encodeNpy(new Float32Array(3 * 32 * 32).fill(0.1), [1, 3, 32, 32]));
    const r = await explain({ modelPath: model, input: npy }, { sessions });
    equal(r.explanations[0].camImage, undefined);
    equal(r.original, undefined);
    deepEqual(await pngSize(r.explanations[0].overlayPng!), [32, 32]);
    const files = await writeExplanation(join(dir, 'out-npy'), 'x', r);
    ok(!files.includes('x.cam_image.npy'));
  });

  it('batch: writes S.cam_image.npy and the resume check wants it when S.json says there was an image', async () => {
    const r = await explain({ modelPath: join(dir, 'cnn.onnx'), input: join(dir, 'wide.png') }, { sessions });
    const e = r.explanations[0];
    const maps = [
      { method: 'gradcam' as const, classIndex: e.classIndex, label: e.label, cam: e.cam, camImage: e.camImage, camRaw: e.camRaw, overlayPng: e.overlayPng! },
    ];
    const item = {
      input: 'wide.png',
      ok: true as const,
      layers: r.layers,
      predictions: r.predictions,
      maps,
      timings_ms: { preprocess: 1, run: 1, cam: 1, overlay: 1 },
      scoreKind: r.scoreKind,
      warnings: [],
      geometry: r.original!.geometry,
    };
    const prefix = join(dir, 'batch', 'wide');
    await writeImageOutputs(prefix, explanationJson('cnn.onnx', item, 'gradcam', maps, 'wide', 'cpu', {}), maps);
    deepEqual(readNpy(`${prefix}.cam_image.npy`).shape, [48, 64]);
    ok(completeOutput(prefix, 'gradcam'));
    rmSync(`${prefix}.cam_image.npy`);
    ok(!existsSync(`${prefix}.cam_image.npy`));
    equal(completeOutput(prefix, 'gradcam'), undefined);
  });
});
