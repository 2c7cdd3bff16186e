import { equal, match, ok } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

/**
 * A preload for every process `camlens` starts (NODE_OPTIONS reaches the worker too): counts the
 * reads of the model file and the onnxruntime sessions created, and appends them to a file at exit.
 */
const COUNTING_PRELOAD = `
// Per process: worker threads (the disk cache hashes files in one) load this preload too.
if (require('node:worker_threads').isMainThread) {
const fs = require('node:fs');
const Module = require('node:module');
const counts = { pid: process.pid, script: process.argv[1], modelReads: 0, sessionsCreated: 0 };
// Every read of a file starts with an open (readFileSync opens through fs.openSync too, and
// user files are read from an opened descriptor): opens of the model file are its reads.
const openSync = fs.openSync;
fs.openSync = function (file, ...rest) {
  if (String(file) === process.env.CAMLENS_COUNT_MODEL) counts.modelReads++;
  return openSync.call(this, file, ...rest);
};
const load = Module._load;
Module._load = function (request, ...rest) {
  const m = load.call(this, request, ...rest);
  if (request === 'onnxruntime-node' && !m.InferenceSession.create.counted) {
    const create = m.InferenceSession.create;
    m.InferenceSession.create = Object.assign(function (...args) { counts.sessionsCreated++; return create.apply(this, args); }, { counted: true });
  }
  return m;
};
process.on('exit', () => fs.appendFileSync(process.env.CAMLENS_COUNT_FILE, JSON.stringify(counts) + '\\n'));
}
`;

interface ProcessCounts {
  pid: number;
  script: string;
  modelReads: number;
  sessionsCreated: number;
}

/** Runs bin/camlens.js with the counting preload; the counts of each process it started. */
function camlensCounting(args: string[]): { status: number | null; stderr: string; processes: ProcessCounts[] } {
  const preload = join(dir, 'count-loads.cjs');
  writeFileSync(preload, COUNTING_PRELOAD);
  const countFile = join(dir, `counts-${Date.now()}-${Math.random()}.jsonl`);
  const env = { ...process.env, NODE_OPTIONS: `--require ${preload}`, CAMLENS_COUNT_MODEL: modelPath, CAMLENS_COUNT_FILE: countFile };
  const r = spawnSync(process.execPath, [resolve(__dirname, '../../../bin/camlens.js'), ...args], { encoding: 'utf8', env });
  const processes = readFileSync(countFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ProcessCounts);
  return { status: r.status, stderr: r.stderr, processes };
}

const sum = (ps: ProcessCounts[], k: 'modelReads' | 'sessionsCreated') => ps.reduce((a, p) => a + p[k], 0);

describe('camlens explain', () => {
  it('writes S.json, S.cam.npy, S.cam_raw.npy and S.overlay.png per input, loading the model once', async () => {
    const { existsSync } = await import('node:fs');
    const { decodeNpy } = await import('../../src/engine/npy');
    const out = join(dir, 'explained');
    const cfg = join(dir, 'tiny.camlens.json');
    writeFileSync(cfg, JSON.stringify({ input: { mean: 0.5, std: 0.25 }, labels: ['a', 'b', 'c', 'd'] }));
    const img = resolve(__dirname, '../../../demo/images/star_1.png');
    const options = ['--out', out, '--method', 'gradcam++', '--save-tensors', '--ep', 'cpu'];
    const one = camlensCounting(['explain', modelPath, img, ...options]);
    equal(one.status, 0, one.stderr);
    const r = camlensCounting(['explain', modelPath, img, img, img, ...options]);
    equal(r.status, 0, r.stderr);
    // One worker for every input: the model file is read once, and three inputs build no more
    // onnxruntime sessions than one does.
    equal(r.processes.filter((p) => p.script.endsWith('worker.js')).length, 1, JSON.stringify(r.processes));
    equal(sum(r.processes, 'modelReads'), 1, JSON.stringify(r.processes));
    ok(sum(one.processes, 'sessionsCreated') >= 1, JSON.stringify(one.processes));
    equal(sum(r.processes, 'sessionsCreated'), sum(one.processes, 'sessionsCreated'), JSON.stringify(r.processes));
    for (const stem of ['star_1', 'star_1_2', 'star_1_3']) {
      for (const ext of ['json', 'cam.npy', 'cam_raw.npy', 'overlay.png', 'act.npy', 'grad.npy']) ok(existsSync(join(out, `${stem}.${ext}`)), `${stem}.${ext}`);
    }
    const json = JSON.parse(readFileSync(join(out, 'star_1.json'), 'utf8'));
    equal(json.method, 'gradcam++');
    equal(json.ep, 'cpu');
    equal(json.predictions[0].label, ['a', 'b', 'c', 'd'][json.predictions[0].index]);
    for (const k of ['load', 'preprocess', 'session', 'run', 'cam', 'total']) ok(typeof json.timings_ms[k] === 'number', k);
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
    const layer = spawnSync(
      process.execPath,
      [bin, 'explain', modelPath, resolve(__dirname, '../../../demo/images/star_1.png'), '--layer', '/block2/relu/Relu_outpt_0', '--out', join(dir, 'o3')],
      { encoding: 'utf8' },
    );
    equal(layer.status, 1);
    match(layer.stderr, /Did you mean "\/block2\/relu\/Relu_output_0"/);
  });
});
