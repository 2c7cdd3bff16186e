import { deepStrictEqual, equal, notEqual, ok, throws } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CamLensError } from '../../src/engine/errors';
import { attr, DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { externalDataInfo, hasExternalData, loadExternalTensors, modelDirOf, resolveExternalData, withResolvedData } from '../../src/engine/onnx/external';
import { Graph } from '../../src/engine/onnx/graph';
import { parseModel, readModelFile, serializeModel, serializeTensor } from '../../src/engine/onnx/io';
import { emptyTensor, tensorToArray } from '../../src/engine/onnx/tensor';
import { DataLocation, type ModelProto, type TensorProto } from '../../src/engine/onnx/types';

/** An EXTERNAL float tensor pointing at `location` (entries omitted when undefined). */
function externalTensor(
  name: string,
  dims: number[],
  location: string | undefined,
  offset?: number | string,
  length?: number | string,
  checksum?: string,
): TensorProto {
  const externalData = [];
  if (location !== undefined) externalData.push({ key: 'location', value: location });
  if (offset !== undefined) externalData.push({ key: 'offset', value: String(offset) });
  if (length !== undefined) externalData.push({ key: 'length', value: String(length) });
  if (checksum !== undefined) externalData.push({ key: 'checksum', value: checksum });
  return emptyTensor({ name, dataType: DataType.FLOAT, dims, dataLocation: DataLocation.EXTERNAL, externalData });
}

/** y = x + W with W external; written to `dir/model.onnx` and read back like a user's file. */
function writeModel(dir: string, w: TensorProto): ModelProto {
  const b = ModelBuilder.create(17);
  const x = b.input('x', DataType.FLOAT, [2, 3]);
  const wName = b.addInitializer(w);
  b.op('Add', [x, wName], {}, { outputs: ['y'] });
  b.output('y', DataType.FLOAT, [2, 3]);
  const file = join(dir, 'model.onnx');
  writeFileSync(file, serializeModel(b.build()));
  return readModelFile(file);
}

const floatsBytes = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

const externalError =
  (...patterns: RegExp[]) =>
  (e: unknown) => {
    ok(e instanceof CamLensError, `expected CamLensError, got ${String(e)}`);
    equal(e.code, 'EXTERNAL_DATA');
    for (const p of patterns) ok(p.test(e.message), `message ${JSON.stringify(e.message)} should match ${p}`);
    return true;
  };

describe('external tensor data', () => {
  let root: string;
  let dir: string;
  const W = [1.5, -2, 3.25, 0, 1e-3, -7];
  const header = Uint8Array.from({ length: 13 }, (_, i) => 200 + i); // odd size: W starts unaligned

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'camlens-external-'));
    dir = join(root, 'model');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    const data = new Uint8Array(header.length + 24 + 8);
    data.set(header, 0);
    data.set(floatsBytes(W), header.length);
    data.set(floatsBytes([99, 98]), header.length + 24);
    writeFileSync(join(dir, 'weights.bin'), data);
    writeFileSync(join(dir, 'sub', 'w.bin'), floatsBytes(W));
    writeFileSync(join(root, 'outside.bin'), floatsBytes(W));
    mkdirSync(join(root, 'elsewhere'));
    writeFileSync(join(root, 'elsewhere', 'w.bin'), floatsBytes(W));
    symlinkSync(join(root, 'outside.bin'), join(dir, 'link-out.bin'));
    symlinkSync(join(root, 'elsewhere'), join(dir, 'dir-out'));
    symlinkSync(join(dir, 'sub', 'w.bin'), join(dir, 'link-in.bin'));
    symlinkSync(dir, join(root, 'model-link'));
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  it('reads float data honouring offset and length', () => {
    const model = writeModel(dir, externalTensor('W', [2, 3], 'weights.bin', header.length, 24));
    const t = model.graph!.initializer[0];
    deepStrictEqual(externalDataInfo(t), { location: 'weights.bin', offset: header.length, length: 24 });
    const bytes = resolveExternalData(t, modelDirOf(join(dir, 'model.onnx')));
    equal(bytes.byteLength, 24);
    deepStrictEqual(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, 6)), Array.from(Float32Array.from(W)));
  });

  it('reads to the end of the file when length is absent, and follows paths in subfolders', () => {
    const t = externalTensor('W', [2, 3], 'sub/w.bin');
    deepStrictEqual(Array.from(new Float32Array(resolveExternalData(t, dir).buffer)), Array.from(Float32Array.from(W)));
    const dotted = externalTensor('W', [2, 3], './sub/w.bin', 0, 24);
    equal(resolveExternalData(dotted, dir).byteLength, 24);
  });

  it('follows symlinks that stay inside the model folder, and a model folder reached through a link', () => {
    const t = externalTensor('W', [2, 3], 'link-in.bin', 0, 24);
    equal(resolveExternalData(t, dir).byteLength, 24);
    const viaLink = externalTensor('W', [2, 3], 'weights.bin', header.length, 24);
    equal(resolveExternalData(viaLink, join(root, 'model-link')).byteLength, 24);
  });

  it('withResolvedData returns an inlined copy and leaves the original external', () => {
    const model = writeModel(dir, externalTensor('W', [2, 3], 'weights.bin', header.length, 24));
    const original = model.graph!.initializer[0];
    const before = serializeTensor(original);
    const copy = withResolvedData(original, dir);
    notEqual(copy, original);
    equal(copy.dataLocation, undefined);
    deepStrictEqual(copy.externalData, []);
    deepStrictEqual(Array.from(tensorToArray(copy) as Float32Array), Array.from(Float32Array.from(W)));
    deepStrictEqual(serializeTensor(original), before);
    equal(original.dataLocation, DataLocation.EXTERNAL);
    equal(original.rawData?.length ?? 0, 0);
    throws(() => tensorToArray(original), externalError());
    // A tensor that is not external comes back as itself.
    equal(withResolvedData(copy, dir), copy);
  });

  it('loadExternalTensors inlines initializers, attribute tensors and subgraph tensors without touching the model', () => {
    const b = ModelBuilder.create(17);
    const x = b.input('x', DataType.FLOAT, [2, 3]);
    const c = b.input('c', DataType.BOOL, []);
    const w = b.addInitializer(externalTensor('W', [2, 3], 'weights.bin', header.length, 24));
    const k = b.op('Constant', [], { value: attr.tensor(externalTensor('K', [2, 3], 'sub/w.bin')) });
    const branch = (name: string, location: string) => {
      const g = ModelBuilder.create(17, name);
      g.addInitializer(externalTensor(`${name}_w`, [2, 3], location, 0, 24));
      g.op('Add', [x, `${name}_w`], {}, { outputs: [`${name}_out`] });
      g.output(`${name}_out`);
      return g.graph;
    };
    const s = b.op('If', [c], { then_branch: branch('then', 'sub/w.bin'), else_branch: branch('else', 'link-in.bin') });
    const sum = b.op('Add', [w, k]);
    b.op('Add', [sum, s], {}, { outputs: ['y'] });
    b.output('y');
    const model = parseModel(serializeModel(b.build()));
    const before = serializeModel(model);
    ok(hasExternalData(model));

    const loaded = loadExternalTensors(model, dir);
    ok(!hasExternalData(loaded));
    deepStrictEqual(serializeModel(model), before, 'the original model is unchanged');
    equal(model.graph!.initializer[0].dataLocation, DataLocation.EXTERNAL);
    const g = loaded.graph!;
    deepStrictEqual(Array.from(tensorToArray(g.initializer[0]) as Float32Array), Array.from(Float32Array.from(W)));
    deepStrictEqual(Array.from(tensorToArray(g.node[0].attribute[0].t!) as Float32Array), Array.from(Float32Array.from(W)));
    for (const a of g.node[1].attribute) {
      deepStrictEqual(Array.from(tensorToArray(a.g!.initializer[0]) as Float32Array), Array.from(Float32Array.from(W)));
    }
    // The result is an ordinary model: it serializes, parses and builds a graph.
    Graph.fromModel(parseModel(serializeModel(loaded)));
    // Unchanged parts are shared, not copied.
    equal(g.node[2], model.graph!.node[2]);
    equal(g.input, model.graph!.input);
    // Nothing external: the same object comes back.
    equal(loadExternalTensors(loaded, dir), loaded);
  });

  it('refuses an absolute location, even one inside the model folder', () => {
    for (const location of ['/etc/passwd', join(dir, 'weights.bin'), 'C:\\data\\w.bin', '\\\\server\\share\\w.bin']) {
      const t = externalTensor('W', [2, 3], location, 0, 24);
      throws(() => resolveExternalData(t, dir), externalError(/"W"/, /absolute/, new RegExp(location.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'))));
    }
  });

  it('refuses any ".." segment, even one that comes back inside', () => {
    for (const location of ['../outside.bin', 'sub/../weights.bin', 'sub/../../outside.bin', '..\\outside.bin', '..']) {
      const t = externalTensor('W', [2, 3], location, 0, 24);
      throws(() => resolveExternalData(t, dir), externalError(/"W"/, /"\.\."/));
    }
  });

  it('refuses a symlink (file or folder) whose real path is outside the model folder', () => {
    throws(
      () => resolveExternalData(externalTensor('W', [2, 3], 'link-out.bin', 0, 24), dir),
      externalError(/"W"/, /link-out\.bin/, /outside the model folder/),
    );
    throws(
      () => resolveExternalData(externalTensor('W', [2, 3], 'dir-out/w.bin', 0, 24), dir),
      externalError(/"W"/, /dir-out\/w\.bin/, /outside the model folder/),
    );
  });

  it('reports a missing file, a missing location and a folder', () => {
    throws(() => resolveExternalData(externalTensor('W', [2, 3], 'nope.bin', 0, 24), dir), externalError(/"W"/, /nope\.bin/, /does not exist/));
    throws(() => resolveExternalData(externalTensor('W', [2, 3], undefined, 0, 24), dir), externalError(/"W"/, /no "location"/));
    throws(() => resolveExternalData(externalTensor('W', [2, 3], 'sub', 0, 24), dir), externalError(/"W"/, /folder/));
    throws(() => resolveExternalData(externalTensor('W', [2, 3], 'weights.bin', 0, 24), join(root, 'no-such-folder')), externalError(/"W"/, /model folder/));
  });

  it('reports offset and length past the end of the file', () => {
    const size = header.length + 32;
    throws(() => resolveExternalData(externalTensor('W', [2, 3], 'weights.bin', size + 1, 24), dir), externalError(/"W"/, /weights\.bin/, /past the end/));
    throws(() => resolveExternalData(externalTensor('W', [2, 3], 'weights.bin', size - 8, 24), dir), externalError(/"W"/, /past the end/));
    // offset at the very end with length absent reads nothing, which does not fit [2, 3] floats
    throws(() => resolveExternalData(externalTensor('W', [2, 3], 'weights.bin', size), dir), externalError(/"W"/, /needs 24/));
  });

  it('reports malformed offset/length entries and a length that does not fit the shape', () => {
    for (const bad of ['-4', 'abc', '1e3', '0x10', ' 5', '99999999999999999999']) {
      throws(() => resolveExternalData(externalTensor('W', [2, 3], 'weights.bin', bad, 24), dir), externalError(/"W"/, /"offset"/));
      throws(() => resolveExternalData(externalTensor('W', [2, 3], 'weights.bin', 0, bad), dir), externalError(/"W"/, /"length"/));
    }
    throws(() => resolveExternalData(externalTensor('W', [2, 3], 'weights.bin', 0, 20), dir), externalError(/"W"/, /20 bytes/, /needs 24/));
  });

  it('checks the SHA-1 checksum when asked', () => {
    const sha = createHash('sha1').update(floatsBytes(W)).digest('hex');
    const good = externalTensor('W', [2, 3], 'sub/w.bin', 0, 24, sha.toUpperCase());
    equal(resolveExternalData(good, dir, { verifyChecksum: true }).byteLength, 24);
    const bad = externalTensor('W', [2, 3], 'sub/w.bin', 0, 24, '0'.repeat(40));
    equal(resolveExternalData(bad, dir).byteLength, 24, 'not checked unless asked');
    throws(() => resolveExternalData(bad, dir, { verifyChecksum: true }), externalError(/"W"/, /SHA-1/));
  });

  it('refuses to resolve a tensor that is not external', () => {
    const model = writeModel(dir, emptyTensor({ name: 'W', dataType: DataType.FLOAT, dims: [2, 3], rawData: floatsBytes(W) }));
    throws(() => resolveExternalData(model.graph!.initializer[0], dir), externalError(/"W"/));
    ok(!hasExternalData(model));
  });
});
