// The panel asks for no pictures when it explains the same image again (host/panel/pictureReuse.ts):
// the kept ones come back into the answer, and any change to the image, the model or its sidecar
// config on disk asks for new ones.
import { deepEqual, equal, notEqual, ok } from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PictureReuse } from '../../src/host/panel/pictureReuse';
import type { ExplainAnswer } from '../../src/worker/protocol';

const dir = mkdtempSync(join(tmpdir(), 'camlens-pictures-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const model = join(dir, 'm.onnx');
const image = join(dir, 'a.png');
writeFileSync(model, 'model');
writeFileSync(image, 'image');

const picture = (v: number) => ({ data: new Uint8Array(12).fill(v), width: 2, height: 2 });
const geometry = { mode: 'stretch' } as unknown as NonNullable<ExplainAnswer['original']>['geometry'];
const answer = (withPictures: boolean, v = 1): ExplainAnswer =>
  ({
    explanations: [],
    original: { geometry, ...(withPictures ? { picture: picture(v + 100) } : {}) },
    ...(withPictures ? { image: picture(v) } : {}),
  }) as unknown as ExplainAnswer;

describe('picture reuse in the panel', () => {
  it('puts the kept pictures back into an answer asked for none, for the same files only', () => {
    const reuse = new PictureReuse();
    const key = reuse.keyOf(model, image);
    ok(!reuse.has(key), 'nothing kept before the first answer');
    const first = reuse.complete(answer(true), key, false);
    equal(first.image?.data[0], 1);
    ok(reuse.has(key));
    const second = reuse.complete(answer(false), key, true);
    deepEqual(second.image, first.image);
    deepEqual(second.original?.picture, first.original?.picture);
    equal(second.original?.geometry, geometry, "the answer's own geometry");
    // Another image, or the same image rewritten: new pictures are asked for and kept.
    const other = join(dir, 'b.png');
    writeFileSync(other, 'other');
    ok(!reuse.has(reuse.keyOf(model, other)));
    utimesSync(image, new Date(), new Date(Date.now() + 5000));
    notEqual(reuse.keyOf(model, image), key, 'a rewritten image');
    ok(!reuse.has(reuse.keyOf(model, image)));
  });

  it('asks again when the model or its sidecar config changes', () => {
    const reuse = new PictureReuse();
    const key = reuse.keyOf(model, image);
    reuse.complete(answer(true), key, false);
    writeFileSync(join(dir, 'm.camlens.json'), '{"input":{"size":[8,8]}}');
    ok(!reuse.has(reuse.keyOf(model, image)), 'a new sidecar config');
    const withConfig = reuse.keyOf(model, image);
    reuse.complete(answer(true, 2), withConfig, false);
    ok(reuse.has(withConfig));
    utimesSync(model, new Date(), new Date(Date.now() + 9000));
    ok(!reuse.has(reuse.keyOf(model, image)), 'a new model file');
  });
});
