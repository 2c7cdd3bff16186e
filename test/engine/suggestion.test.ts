import { deepEqual, equal, match, ok, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tokenGrid } from '../../src/engine/cam/layout';
import { CamLensError } from '../../src/engine/errors';
import { suggestCamLayer } from '../../src/engine/layers';
import { analyseModel } from '../../src/engine/model';
import { camLayers } from '../../src/engine/pipeline/camLayers';
import { tokenGridAt, tokenSourceGrid } from '../../src/engine/transformer/tokenGeometry';
import { tinyDetector, tinyProbabilityClassifier, tinySegmenter, tinyStripRecogniser } from '../helpers/nonClassifiers';
import { tinyTokenModel } from '../helpers/models';

describe('CAM layer suggestion for any model', () => {
  it('a segmenter: the backbone output its head reads, never the output itself or the side output', () => {
    const m = analyseModel(tinySegmenter(), 'seg');
    const s = suggestCamLayer(m, 'seg')!;
    equal(s.value, '/backbone.1/Relu_output_0');
    equal(s.kind, 'spatial');
    match(s.reason, /\[1, 16, 16, 16\] \(stride 2\).*"seg"/);
    match(s.reason, /not the head's own predictions/);
    // The default target is the first output ("seg"); "aux" gets a layer on its own path.
    equal(suggestCamLayer(m)!.value, s.value);
    ok(['/backbone.0/Relu_output_0'].includes(suggestCamLayer(m, 'aux')!.value));
  });

  it('a two-scale detector: the neck output of the coarsest scale, not the head convs or the flattened predictions', () => {
    const m = analyseModel(tinyDetector(), 'det');
    const s = suggestCamLayer(m)!;
    equal(s.value, '/neck.p4/Relu_output_0');
    equal(s.kind, 'spatial');
    match(s.reason, /coarsest of 2 prediction maps/);
  });

  it('a text recogniser: its token strip, read as 1×40 from the map it was flattened from', () => {
    const m = analyseModel(tinyStripRecogniser(), 'ocr');
    const s = suggestCamLayer(m)!;
    equal(s.kind, 'tokens');
    match(s.reason, /1x40 grid/);
    deepEqual(tokenSourceGrid(m, '/Transpose_output_0')!.h, 1);
    deepEqual(tokenGridAt(m, '/Transpose_output_0', 40, [32, 160]), { extraTokens: 0, h: 1, w: 40 });
    // What the token count alone says (the bug): 4 register tokens and a 6×6 grid.
    deepEqual(tokenGrid(40), { extraTokens: 4, h: 6, w: 6 });
  });

  it('token grids from the input geometry when no map is found; an error instead of a guess', () => {
    const vitLike = analyseModel(tinyTokenModel(), 'vit');
    deepEqual(tokenGridAt(vitLike, '/ln/LayerNormalization_output_0', 16, [16, 16]), { extraTokens: 0, h: 4, w: 4 });
    // A value with no source map: one square stride over 224×224 (197 = class token + 14×14).
    deepEqual(tokenGridAt(vitLike, 'input', 197, [224, 224]), { extraTokens: 1, h: 14, w: 14 });
    throws(
      () => tokenGridAt(vitLike, 'input', 40, [32, 160]),
      (e: unknown) => e instanceof CamLensError && /40 tokens.*32x160/.test(e.message),
    );
  });

  it('a layer the target is not computed from is an error naming both', () => {
    const m = analyseModel(tinyProbabilityClassifier(), 'cls');
    equal(suggestCamLayer(m, 'probs')!.value, '/block2/Relu_output_0');
    throws(
      () => camLayers(m, ['/side/Relu_output_0'], 'probs'),
      (e: unknown) =>
        e instanceof CamLensError && /Layer "\/side\/Relu_output_0" cannot reach the output "probs"/.test(e.message) && /It feeds "side"/.test(e.message),
    );
    deepEqual(camLayers(m, ['/block1/Relu_output_0'], 'side'), ['/block1/Relu_output_0']);
  });
});
