// A model whose weights are external data (issue 18): the session was created from bytes, so
// onnxruntime looked for the data file in the process's working folder, not the model's, and
// our own containment checks (engine/onnx/external.ts) were never applied. In VS Code such a
// model basically never loaded; from the right folder, a hostile location was left to
// onnxruntime's checks alone. Run through the CLI and its worker from another folder.
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { decodeNpy } from '../../src/engine/npy';
import { readModelFile, serializeModel } from '../../src/engine/onnx/io';
import { DataLocation, type ModelProto } from '../../src/engine/onnx/types';

const REPO = resolve(__dirname, '../../..');
const DEMO = join(REPO, 'demo');
const IMAGE = join(DEMO, 'images/circle_1.png');

/** The demo model with every initializer moved to `weights` (a file name, as the model records it). */
function withExternalWeights(location: string): { model: ModelProto; data: Uint8Array } {
  const model = readModelFile(join(DEMO, 'model.onnx'));
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph!.initializer) {
    const raw = t.rawData?.length ? t.rawData : t.floatData.length ? new Uint8Array(Float32Array.from(t.floatData).buffer) : undefined;
    if (!raw) continue;
    t.rawData = new Uint8Array(0);
    t.floatData = [];
    t.dataLocation = DataLocation.EXTERNAL;
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.length) },
    ];
    chunks.push(raw);
    offset += raw.length;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  return { model, data };
}

/** A model folder: model.onnx (weights in `location`) and the demo's config and labels. */
function modelFolder(root: string, name: string, location: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const { model, data } = withExternalWeights(location);
  writeFileSync(join(dir, 'model.onnx'), serializeModel(model));
  copyFileSync(join(DEMO, 'model.camlens.json'), join(dir, 'model.camlens.json'));
  copyFileSync(join(DEMO, 'labels.txt'), join(dir, 'labels.txt'));
  writeFileSync(location.includes('/') ? join(root, 'outside.bin') : join(dir, location), data);
  return dir;
}

const camlens = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [join(REPO, 'bin/camlens.js'), ...args], { cwd, encoding: 'utf8' });

describe('models with external weights', () => {
  const root = mkdtempSync(join(tmpdir(), 'camlens-extdata-'));
  const elsewhere = join(root, 'elsewhere');
  mkdirSync(elsewhere);

  it('explain loads them from the model folder, run from another folder, with the maps of the same model inline', () => {
    const dir = modelFolder(root, 'external', 'weights.bin');
    const r = camlens(elsewhere, 'explain', join(dir, 'model.onnx'), IMAGE, '--out', join(root, 'out-external'), '--ep', 'cpu');
    equal(r.status, 0, r.stderr);
    const inline = camlens(elsewhere, 'explain', join(DEMO, 'model.onnx'), IMAGE, '--out', join(root, 'out-inline'), '--ep', 'cpu');
    equal(inline.status, 0, inline.stderr);
    const a = decodeNpy(readFileSync(join(root, 'out-external/circle_1.cam_raw.npy')));
    const b = decodeNpy(readFileSync(join(root, 'out-inline/circle_1.cam_raw.npy')));
    deepEqual(a.shape, b.shape);
    ok(
      a.data.every((v, i) => v === b.data[i]),
      'same weights, same map',
    );
  });

  it('batch runs them too (the worker loads every image through the same session)', () => {
    const dir = join(root, 'external');
    const images = join(root, 'images');
    mkdirSync(images);
    copyFileSync(IMAGE, join(images, 'a.png'));
    copyFileSync(join(DEMO, 'images/star_1.png'), join(images, 'b.png'));
    const r = camlens(elsewhere, 'batch', join(dir, 'model.onnx'), images, '--out', join(root, 'out-batch'), '--ep', 'cpu', '--quiet');
    equal(r.status, 0, r.stderr);
    match(r.stdout, /explained 2 of 2 images \(0 failed/);
  });

  it('a location that leaves the model folder is refused by our checks, with the tensor and location named', () => {
    const dir = modelFolder(root, 'escape', '../outside.bin');
    const r = camlens(root, 'explain', join(dir, 'model.onnx'), IMAGE, '--out', join(root, 'out-escape'), '--ep', 'cpu');
    equal(r.status, 1);
    match(r.stderr, /external data location "\.\.\/outside\.bin".*"\.\." segment/);
  });

  it('a data file that is a symlink out of the model folder is refused', () => {
    const dir = join(root, 'linked');
    mkdirSync(dir);
    const { model, data } = withExternalWeights('weights.bin');
    writeFileSync(join(dir, 'model.onnx'), serializeModel(model));
    writeFileSync(join(root, 'secret.bin'), data);
    symlinkSync(join(root, 'secret.bin'), join(dir, 'weights.bin'));
    const r = camlens(dir, 'explain', join(dir, 'model.onnx'), IMAGE, '--out', join(root, 'out-linked'), '--ep', 'cpu');
    equal(r.status, 1);
    match(r.stderr, /is a link to .*secret\.bin, outside the model folder/);
  });
});
