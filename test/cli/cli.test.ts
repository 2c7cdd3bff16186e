import { equal, match, ok } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main';
import { serializeModel } from '../../src/engine/onnx/io';
import { tinyCnn } from '../helpers/models';

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'camlens-cli-'));
const modelPath = join(dir, 'tiny.onnx');
writeFileSync(modelPath, serializeModel(tinyCnn()));

describe('camlens CLI', () => {
  it('prints help for the tool and each sub-command', async () => {
    const top = await run('--help');
    equal(top.code, 0);
    match(top.out, /layers/);
    const sub = await run('layers', '--help');
    equal(sub.code, 0);
    match(sub.out, /Usage: camlens layers <model.onnx>/);
  });

  it('lists layers as a table and as JSON', async () => {
    const table = await run('layers', modelPath);
    equal(table.code, 0, table.err);
    match(table.out, /^\*\s+\/block2\/relu\/Relu_output_0\s+Relu\s+float32\s+\[batch, 16, 16, 16\]/m);
    match(table.out, /suggested CAM layer: \/block2\/relu\/Relu_output_0/);
    const json = await run('layers', modelPath, '--json');
    const rows = JSON.parse(json.out) as Array<{ name: string; suggested: boolean; shape: unknown[] }>;
    ok(rows.length >= 8);
    equal(rows.filter((r) => r.suggested).length, 1);
    const filtered = JSON.parse((await run('layers', modelPath, '--json', '--filter', 'conv')).out) as unknown[];
    equal(filtered.length, 2);
  });

  it('reports bad input on stderr with a non-zero exit', async () => {
    const missing = await run('layers', join(dir, 'missing.onnx'));
    equal(missing.code, 1);
    match(missing.err, /no such file/);
    const junk = join(dir, 'junk.onnx');
    writeFileSync(junk, 'this is not a model');
    const bad = await run('layers', junk);
    equal(bad.code, 1);
    match(bad.err, /not a readable ONNX model/);
    equal((await run('layers')).code, 2);
    equal((await run('layers', modelPath, '--bogus')).code, 2);
    equal((await run('frobnicate')).code, 2);
  });

  it('runs through bin/camlens.js', () => {
    const bin = resolve(__dirname, '../../../bin/camlens.js');
    const r = spawnSync(process.execPath, [bin, 'layers', modelPath, '--json'], { encoding: 'utf8' });
    equal(r.status, 0, r.stderr);
    ok(Array.isArray(JSON.parse(r.stdout)));
  });
});

describe('camlens explain', () => {
  it('writes S.json, S.cam.npy, S.cam_raw.npy and S.overlay.png per input, loading the model once', async () => {
    const { readFileSync, existsSync } = await import('node:fs');
    const { decodeNpy } = await import('../../src/engine/npy');
    const out = join(dir, 'explained');
    const bin = resolve(__dirname, '../../../bin/camlens.js');
    const cfg = join(dir, 'tiny.camlens.json');
    writeFileSync(cfg, JSON.stringify({ input: { mean: 0.5, std: 0.25 }, labels: ['a', 'b', 'c', 'd'] }));
    const img = resolve(__dirname, '../../../demo/images/star_1.png');
    const r = spawnSync(process.execPath, [bin, 'explain', modelPath, img, img, '--out', out, '--method', 'gradcam++', '--save-tensors', '--ep', 'cpu'], { encoding: 'utf8' });
    equal(r.status, 0, r.stderr);
    for (const stem of ['star_1', 'star_1_2']) {
      for (const ext of ['json', 'cam.npy', 'cam_raw.npy', 'overlay.png', 'act.npy', 'grad.npy']) ok(existsSync(join(out, `${stem}.${ext}`)), `${stem}.${ext}`);
    }
    const json = JSON.parse(readFileSync(join(out, 'star_1.json'), 'utf8'));
    equal(json.method, 'gradcam++');
    equal(json.ep, 'cpu');
    equal(json.predictions[0].label, ['a', 'b', 'c', 'd'][json.predictions[0].index]);
    for (const k of ['load', 'preprocess', 'run', 'cam', 'total']) ok(typeof json.timings_ms[k] === 'number', k);
    const cam = decodeNpy(readFileSync(join(out, 'star_1.cam.npy')));
    equal(cam.shape.join('x'), '32x32');
    const raw = decodeNpy(readFileSync(join(out, 'star_1.cam_raw.npy')));
    equal(raw.shape.join('x'), '16x16');
    const act = decodeNpy(readFileSync(join(out, 'star_1.act.npy')));
    equal(act.shape.join('x'), '1x16x16x16');
  });

  it('fails with a one-line error for a bad layer or image', () => {
    const bin = resolve(__dirname, '../../../bin/camlens.js');
    const bad = spawnSync(process.execPath, [bin, 'explain', modelPath, join(dir, 'nothing.png'), '--out', join(dir, 'o2')], { encoding: 'utf8' });
    equal(bad.status, 1);
    match(bad.stderr, /nothing\.png: no such file/);
    const layer = spawnSync(process.execPath, [bin, 'explain', modelPath, resolve(__dirname, '../../../demo/images/star_1.png'), '--layer', '/block2/relu/Relu_outpt_0', '--out', join(dir, 'o3')], { encoding: 'utf8' });
    equal(layer.status, 1);
    match(layer.stderr, /Did you mean "\/block2\/relu\/Relu_output_0"/);
  });
});
