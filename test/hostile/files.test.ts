// Hostile and unlucky files (issue 18): each case here once hung the worker, grew it until it
// died, or was accepted silently. Every one must now be a clear error that names the file.
import { ok, rejects, throws } from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CamLensError } from '../../src/engine/errors';
import { parseModelConfig, readLabelsFile, resolveModelConfig } from '../../src/engine/image/config';
import { decodeImage } from '../../src/engine/image/decode';
import { readModelFile } from '../../src/engine/onnx/io';
import { FILE_LIMITS, readUserFile, readUserFileAsync } from '../../src/engine/userFiles';

const dir = mkdtempSync(join(tmpdir(), 'camlens-hostile-'));
const error = (code: string, pattern: RegExp) => (e: unknown) => {
  ok(e instanceof CamLensError, `a CamLensError, got ${String(e)}`);
  ok(e.code === code, `code ${code}, got ${e.code}: ${e.message}`);
  ok(pattern.test(e.message), `message matches ${pattern}: ${e.message}`);
  return true;
};
const fifo = (name: string) => {
  const p = join(dir, name);
  execFileSync('mkfifo', [p]);
  return p;
};
const link = (target: string, name: string) => {
  const p = join(dir, name);
  symlinkSync(target, p);
  return p;
};
const emptyModel = { metadataProps: [] } as unknown as Parameters<typeof resolveModelConfig>[1];

describe('special files are refused before they are read', () => {
  it('an image that is a FIFO fails at once instead of blocking the worker', async () => {
    const started = Date.now();
    await rejects(decodeImage(fifo('pipe.png')), error('BAD_ARGUMENT', /pipe\.png.*FIFO/));
    ok(Date.now() - started < 2000, 'no wait for a writer');
  });

  it('an image that links to /dev/zero fails instead of growing the worker', async () => {
    await rejects(decodeImage(link('/dev/zero', 'zero.png')), error('BAD_ARGUMENT', /zero\.png.*character device/));
  });

  it('a model that is a FIFO or /dev/zero is a MODEL_READ error', () => {
    throws(() => readModelFile(fifo('pipe.onnx')), error('MODEL_READ', /pipe\.onnx.*FIFO/));
    throws(() => readModelFile(link('/dev/zero', 'zero.onnx')), error('MODEL_READ', /character device/));
  });

  it('a folder named like an image says it is a folder', async () => {
    const folder = join(dir, 'folder.png');
    mkdirSync(folder);
    await rejects(decodeImage(folder), error('BAD_ARGUMENT', /folder\.png.*a folder/));
  });

  it('a file over its size cap is refused from its size, without reading it', async () => {
    const big = join(dir, 'huge.png');
    writeFileSync(big, '');
    truncateSync(big, FILE_LIMITS.image + 1); // sparse: nothing is written
    await rejects(decodeImage(big), error('BAD_ARGUMENT', /huge\.png.*more than the 512 MB allowed/));
    throws(() => readUserFile(big, { what: 'labels file', maxBytes: 10 }), error('BAD_ARGUMENT', /more than/));
    await rejects(readUserFileAsync(big, { what: 'labels file', maxBytes: 10 }), error('BAD_ARGUMENT', /more than/));
  });

  it('the thread-pool reader (images) refuses what the blocking one refuses and reads the same bytes', async () => {
    await rejects(readUserFileAsync(fifo('pipe2.png'), { what: 'image', maxBytes: 100 }), error('BAD_ARGUMENT', /pipe2\.png.*FIFO/));
    await rejects(readUserFileAsync(join(dir, 'missing.png'), { what: 'image', maxBytes: 100 }), error('BAD_ARGUMENT', /missing\.png: no such file/));
    const file = join(dir, 'bytes.bin');
    writeFileSync(file, Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 251)));
    const options = { what: 'image', maxBytes: FILE_LIMITS.image };
    ok((await readUserFileAsync(file, options)).equals(readUserFile(file, options)));
  });

  it('labels that point to /dev/zero or a FIFO fail with the labels file named', () => {
    throws(() => readLabelsFile(link('/dev/zero', 'zero-labels.txt')), error('BAD_ARGUMENT', /labels file .*zero-labels\.txt.*character device/));
    throws(() => readLabelsFile(fifo('pipe-labels.txt')), error('BAD_ARGUMENT', /FIFO/));
  });
});

describe('SVG', () => {
  // Decision (README, "Images"): an SVG named as an input is rasterised, but from its bytes
  // alone: with no base location, librsvg follows no external reference (an <image> of a local
  // file, a stylesheet), so an SVG cannot pull other files of the machine into a picture.
  it('is decoded without following its external references', async () => {
    const target = join(__dirname, '../../../demo/images/circle_1.png');
    for (const href of [target, `file://${target}`, 'circle_1.png']) {
      const svg = join(dir, `ref-${Math.random().toString(36).slice(2)}.svg`);
      writeFileSync(
        svg,
        `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="32" height="32"><image width="32" height="32" xlink:href="${href}"/></svg>`,
      );
      const image = await decodeImage(svg);
      ok(image.width === 32 && image.data.every((v) => v === 0), `${href}: nothing of the referenced file is drawn`);
    }
    const drawn = join(dir, 'drawn.svg'); // the control: what the SVG itself draws is decoded
    writeFileSync(drawn, '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="#fff"/></svg>');
    ok((await decodeImage(drawn)).data.every((v) => v === 255));
  });
});

describe('configs and labels are validated', () => {
  const parse = (json: unknown) => () => parseModelConfig(json, 'cfg.json', dir);

  it('refuses a top-level array, null, or an "input" that is not an object', () => {
    throws(parse([1, 2]), error('BAD_ARGUMENT', /expected a JSON object.*an array/));
    throws(parse(null), error('BAD_ARGUMENT', /expected a JSON object.*null/));
    throws(parse({ input: 'hello' }), error('BAD_ARGUMENT', /"input" must be an object/));
  });

  it('refuses non-finite and absurd mean/std/scale/size', () => {
    const huge = JSON.parse('{"input": {"mean": 1e400}}') as unknown; // Infinity
    throws(parse(huge), error('BAD_ARGUMENT', /"input\.mean" must be a finite number/));
    throws(parse({ input: { mean: [0, 0, 1e9] } }), error('BAD_ARGUMENT', /"input\.mean" must be within/));
    throws(parse({ input: { std: 1e-320 } }), error('BAD_ARGUMENT', /"input\.std" must be between/));
    throws(parse({ input: { std: [0.2, 0, 0.2] } }), error('BAD_ARGUMENT', /"input\.std"/));
    throws(parse({ input: { scale: Infinity } }), error('BAD_ARGUMENT', /"input\.scale"/));
    throws(parse({ input: { size: [12000, 12000] } }), error('BAD_ARGUMENT', /"input\.size" \[12000,12000\] is larger than 8192/));
    const ok1 = parseModelConfig({ input: { mean: 0.5, std: [0.5, 0.5, 0.5], size: [224, 224] } }, 'cfg.json', dir);
    ok(ok1.input.mean[2] === 0.5 && ok1.input.size?.[0] === 224);
  });

  it('refuses a labels path that leaves the config folder, directly or through a symlink', () => {
    const cfgDir = join(dir, 'cfg');
    mkdirSync(cfgDir);
    writeFileSync(join(dir, 'secret.txt'), 'a\nb\n');
    throws(() => parseModelConfig({ labels: '../secret.txt' }, 'cfg.json', cfgDir), error('BAD_ARGUMENT', /points outside the config's folder/));
    throws(() => parseModelConfig({ labels: '/etc/hostname' }, 'cfg.json', cfgDir), error('BAD_ARGUMENT', /points outside/));
    symlinkSync(join(dir, 'secret.txt'), join(cfgDir, 'escape.txt'));
    throws(() => parseModelConfig({ labels: 'escape.txt' }, 'cfg.json', cfgDir), error('BAD_ARGUMENT', /points outside/));
    writeFileSync(join(cfgDir, 'labels.txt'), 'cat\ndog\n');
    ok(parseModelConfig({ labels: 'labels.txt' }, 'cfg.json', cfgDir).labels?.join() === 'cat,dog');
  });

  it('a labels file that starts like JSON but is not gives a clear error', () => {
    const bad = join(dir, 'bad-labels.json');
    writeFileSync(bad, '["cat", "dog"');
    throws(() => readLabelsFile(bad), error('BAD_ARGUMENT', /bad-labels\.json.*not valid JSON/));
  });

  it('a config file with broken JSON names the file', () => {
    const cfg = join(dir, 'broken.camlens.json');
    writeFileSync(cfg, '{"input": ');
    throws(() => resolveModelConfig(join(dir, 'broken.onnx'), emptyModel, cfg), error('BAD_ARGUMENT', /Config .*broken\.camlens\.json is not valid JSON/));
  });
});
