// The panel gets no pictures when it explains the same image again: it names the pictures it
// keeps (`picturesHeld`), the worker leaves them out only while its input is still that one (same
// file on disk, model input and preprocessing: pipeline/inputCache.ts), and the host puts the kept
// ones back (host/panel/pictureReuse.ts).
import { deepEqual, equal, notEqual, ok } from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { explain } from '../../src/engine/explain';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { PictureReuse } from '../../src/host/panel/pictureReuse';
import type { ExplainAnswer } from '../../src/worker/protocol';

const dir = mkdtempSync(join(tmpdir(), 'camlens-pictures-'));
const sessions = new SessionCache();
after(async () => {
  await sessions.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});

const picture = (v: number) => ({ data: new Uint8Array(12).fill(v), width: 2, height: 2 });
const geometry = { mode: 'stretch' } as unknown as NonNullable<ExplainAnswer['original']>['geometry'];
const answer = (identity: string | undefined, withPictures: boolean, v = 1): ExplainAnswer =>
  ({
    explanations: [],
    ...(identity !== undefined ? { inputIdentity: identity } : {}),
    original: { geometry, ...(withPictures ? { picture: picture(v + 100) } : {}) },
    ...(withPictures ? { image: picture(v) } : {}),
  }) as unknown as ExplainAnswer;

describe('picture reuse in the panel', () => {
  it('puts the kept pictures back into an answer that left them out as held', () => {
    const reuse = new PictureReuse();
    equal(reuse.held, undefined, 'nothing kept before the first answer');
    const first = reuse.complete(answer('A', true));
    equal(first.image?.data[0], 1);
    equal(reuse.held, 'A');
    const second = reuse.complete(answer('A', false));
    deepEqual(second.image, first.image);
    deepEqual(second.original?.picture, first.original?.picture);
    equal(second.original?.geometry, geometry, "the answer's own geometry");
    // Another input's answer brings its own pictures, and they are kept instead.
    const other = reuse.complete(answer('B', true, 2));
    equal(other.image?.data[0], 2);
    equal(reuse.held, 'B');
    // An answer without an identity (a clip) keeps nothing: the next request asks for everything.
    reuse.complete(answer(undefined, true, 3));
    equal(reuse.held, undefined);
  });

  it('the worker leaves the pictures out only while the file and its preprocessing are the ones held', async () => {
    const model = join(dir, 'm.onnx');
    copyFileSync('demo/model.onnx', model);
    const image = join(dir, 'a.png');
    copyFileSync('demo/images/star_1.png', image);
    const params = { modelPath: model, input: image, overlay: false, mapsAt: 'layer' as const };
    const first = await explain(params, { sessions });
    ok(first.image && first.inputIdentity, 'pictures and their identity');
    const again = await explain({ ...params, picturesHeld: first.inputIdentity }, { sessions });
    equal(again.image, undefined, 'held: left out');
    equal(again.original?.picture, undefined);
    equal(again.inputIdentity, first.inputIdentity);
    ok(again.original?.geometry, 'the geometry still comes');
    // The same image rewritten in place (new mtime and ctime): new pictures.
    copyFileSync('demo/images/circle_1.png', image);
    const rewritten = await explain({ ...params, picturesHeld: first.inputIdentity }, { sessions });
    ok(rewritten.image, 'a rewritten image sends its pictures');
    notEqual(rewritten.inputIdentity, first.inputIdentity);
    // A new sidecar config that changes the preprocessing: new pictures.
    writeFileSync(join(dir, 'm.camlens.json'), JSON.stringify({ input: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] } }));
    const configured = await explain({ ...params, picturesHeld: rewritten.inputIdentity }, { sessions });
    ok(configured.image, 'other preprocessing sends its pictures');
    notEqual(configured.inputIdentity, rewritten.inputIdentity);
  });
});
