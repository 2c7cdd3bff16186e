// The panel's repeated explanations of one image reuse its preprocessed input (pipeline/inputCache.ts):
// only while the file and the preprocessing are the same, and never shared with a caller.
import { deepEqual, equal, notDeepEqual, ok } from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inputReuse, loadModelInputReused, releaseInputs } from '../../src/engine/pipeline/inputCache';
import { flushDeferred } from '../../src/engine/runtime/deferredWrites';
import { loadForExplain } from '../../src/engine/pipeline/modelAndConfig';

describe('input reuse', () => {
  let dir: string;
  const { model, config } = loadForExplain('demo/model.onnx');
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'camlens-input-cache-'));
    releaseInputs();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const counts = () => ({ ...inputReuse });
  const load = (file: string, c = config) => loadModelInputReused(file, model, c);

  it('answers a second request for the same file from the kept input, with a tensor the caller may change', async () => {
    const file = join(dir, 'star.png');
    copyFileSync('demo/images/star_1.png', file);
    const c0 = counts();
    const first = await load(file);
    const expected = first.tensor.slice();
    first.tensor.fill(0); // a caller filling its tensor must not change the next answer
    const second = await load(file);
    deepEqual(counts(), { hits: c0.hits + 1, misses: c0.misses + 1, spares: c0.spares });
    deepEqual(second.tensor, expected, 'the kept input was not changed through an earlier answer');
    const third = await load(file);
    ok(third.tensor !== second.tensor, 'each answer has a tensor of its own');
    deepEqual(third.rgb, second.rgb);
  });

  it('hands out the spare copy made after the last reply, once, and copies on the spot when there is none', async () => {
    const file = join(dir, 'spare.png');
    copyFileSync('demo/images/star_1.png', file);
    const c00 = counts();
    const first = await load(file);
    const expected = first.tensor.slice();
    flushDeferred(); // the worker does this once no request is running
    await load(file);
    deepEqual(counts(), { hits: c00.hits + 1, misses: c00.misses + 1, spares: c00.spares }, 'no spare for an input asked for once');
    flushDeferred();
    const c0 = counts();
    const second = await load(file);
    deepEqual(counts(), { hits: c0.hits + 1, misses: c0.misses, spares: c0.spares + 1 });
    deepEqual(second.tensor, expected);
    second.tensor.fill(7); // the spare is the caller's now: the kept input stays as it was
    const third = await load(file); // no reply since: no spare, a copy made now
    deepEqual(counts(), { hits: c0.hits + 2, misses: c0.misses, spares: c0.spares + 1 });
    deepEqual(third.tensor, expected);
    ok(third.tensor !== second.tensor);
    flushDeferred();
    const fourth = await load(file);
    equal(counts().spares, c0.spares + 2);
    deepEqual(fourth.tensor, expected, 'a spare made after a caller changed its tensor is the kept input, not that tensor');
    ok(fourth.tensor !== third.tensor && fourth.tensor !== second.tensor);
    third.tensor.fill(3);
    fourth.tensor.fill(5);
    flushDeferred();
    deepEqual((await load(file)).tensor, expected);
  });

  it('reads the file again when it was replaced, and when the preprocessing differs', async () => {
    const file = join(dir, 'shape.png');
    copyFileSync('demo/images/star_1.png', file);
    const star = await load(file);
    copyFileSync('demo/images/circle_1.png', file);
    const c0 = counts();
    const circle = await load(file);
    equal(counts().misses, c0.misses + 1, 'a rewritten file is read again');
    notDeepEqual(circle.tensor, star.tensor);
    const other = { ...config, input: { ...config.input, mean: [0.1, 0.2, 0.3] as [number, number, number], std: [1, 1, 1] as [number, number, number] } };
    const normalised = await load(file, other);
    equal(counts().misses, c0.misses + 2, 'other preprocessing is not answered from the kept input');
    notDeepEqual(normalised.tensor, circle.tensor);
  });

  it('forgets the kept input on releaseInputs; a file that fails to load changes nothing kept', async () => {
    const file = join(dir, 'again.png');
    copyFileSync('demo/images/star_1.png', file);
    await load(file);
    releaseInputs();
    const c0 = counts();
    await load(file);
    equal(counts().misses, c0.misses + 1);
    const bad = join(dir, 'bad.png');
    writeFileSync(bad, 'not an image');
    await load(bad).then(
      () => ok(false, 'a broken image loads'),
      (e: Error) => ok(/could not be decoded/.test(e.message), e.message),
    );
    await load(file);
    deepEqual(counts(), { ...c0, hits: c0.hits + 1, misses: c0.misses + 2 }, 'a failed read leaves the kept input as it was');
  });
});
