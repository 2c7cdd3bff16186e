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
