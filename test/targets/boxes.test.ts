// --box all: every detection after NMS explained, one map each, its target the detection's class
// score at its anchor; the CLI names the files S, S.box1, S.box2… (two detections of one class
// would otherwise write the same S.classK files).
import { deepEqual, equal, ok } from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { explain } from '../../src/engine/explain';
import { writeNpy } from '../../src/engine/npy';
import { serializeModel } from '../../src/engine/onnx/io';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { randomArray } from '../helpers/models';
import { YOLO_LIKE, yoloLike } from '../helpers/yolo';

const sessions = new SessionCache();
after(() => sessions.releaseAll());

describe('--box all', () => {
  const dir = mkdtempSync(join(tmpdir(), 'camlens-boxes-'));
  const yolo = join(dir, 'yolo.onnx');
  writeFileSync(yolo, serializeModel(yoloLike({ size: 64 })));
  const input = join(dir, 'y.npy');
  writeNpy(
    input,
    randomArray(3 * 64 * 64, 5, 1).map((v) => v + 0.5),
    [1, 3, 64, 64],
  );

  it('explains every detection: one map per detection, each target its class score at its anchor', async () => {
    const r = await explain({ modelPath: yolo, input, layers: [YOLO_LIKE.neckP3], conf: 0.3, allBoxes: true, overlay: false }, { sessions });
    ok(r.detections!.length >= 2, `${r.detections!.length} detections`);
    equal(r.explanations.length, r.detections!.length);
    r.detections!.forEach((d, i) => {
      deepEqual(r.explanations[i].target?.index, d.index);
      equal(r.explanations[i].classIndex, d.class);
      ok(Math.abs(r.explanations[i].target!.score - d.score) < 1e-6);
    });
    const one = await explain({ modelPath: yolo, input, layers: [YOLO_LIKE.neckP3], conf: 0.3, box: 1, overlay: false }, { sessions });
    deepEqual(one.explanations[0].cam.data, r.explanations[1].cam.data);
  });

  it('the CLI writes S.boxN files and one S.json entry per detection', () => {
    const bin = resolve(__dirname, '../../../bin/camlens.js');
    const out = join(dir, 'out');
    const cli = spawnSync(
      process.execPath,
      [bin, 'explain', yolo, input, '--out', out, '--box', 'all', '--conf', '0.3', '--layer', YOLO_LIKE.neckP3, '--ep', 'cpu'],
      {
        encoding: 'utf8',
      },
    );
    equal(cli.status, 0, cli.stderr);
    const json = JSON.parse(readFileSync(join(out, 'y.json'), 'utf8'));
    equal(json.explanations.length, json.detections.length);
    json.explanations.forEach((e: { files: string; target: { index: number[] } }, i: number) => {
      equal(e.files, i ? `y.box${i}` : 'y');
      deepEqual(e.target.index, json.detections[i].index);
      ok(existsSync(join(out, `${e.files}.cam.npy`)));
    });
  });
});
