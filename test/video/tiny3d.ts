// A tiny 3-D CNN and a clip of a moving bright square, shared by the video tests (explain and
// batch). Built with the builder DSL, so the tests need no fixtures.
import { DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { serializeModel } from '../../src/engine/onnx/io';

export const T = 8,
  S = 32,
  OBJ = 8;
/** Top-left corner of the bright square in frame t: moves diagonally, then back along the bottom. */
export const objectAt = (t: number): [number, number] => [t < 4 ? 2 + 5 * t : 20, t < 4 ? 2 + 6 * t : 22 - 5 * (t - 4)];

export function frameRgb(t: number): Uint8Array {
  const out = new Uint8Array(S * S * 3).fill(30);
  const [y0, x0] = objectAt(t);
  for (let y = y0; y < y0 + OBJ; y++) for (let x = x0; x < x0 + OBJ; x++) out.fill(235, (y * S + x) * 3, (y * S + x) * 3 + 3);
  // A dim distractor that does not move.
  for (let y = 26; y < 30; y++) for (let x = 2; x < 6; x++) out.fill(90, (y * S + x) * 3, (y * S + x) * 3 + 3);
  return out;
}

/**
 * A tiny 3-D CNN whose hand-set weights respond to bright pixels: Conv3d 3x3x3 (mean over RGB
 * and the 3x3 window of the frame, plus a little of its neighbours, minus a threshold) → ReLU → MaxPool 1x2x2 → Conv3d 1x3x3 (spread, positive) →
 * ReLU → GlobalAveragePool → Gemm (class 0 = "bright thing", class 1 = its negative).
 */
export function tiny3dCnn(frames: number | string = T): Uint8Array {
  const b = ModelBuilder.create(17);
  const x = b.input('clip', DataType.FLOAT, [1, 3, frames, S, S]);
  const w1 = new Float32Array(2 * 3 * 27);
  // channel 0: brightness of this frame (centre time tap), a little of the neighbouring frames
  for (let c = 0; c < 3; c++) for (let dt = 0; dt < 3; dt++) for (let k = 0; k < 9; k++) w1[(c * 3 + dt) * 9 + k] = (dt === 1 ? 1 : 0.05) / 27;
  for (let i = 81; i < 162; i++) w1[i] = -1 / 162; // channel 1: darkness (weak)
  const c1 = b.op(
    'Conv',
    [x, b.floats('w1', [2, 3, 3, 3, 3], w1), b.floats('b1', [2], Float32Array.of(-1.0, 0.2))],
    { pads: [1, 1, 1, 1, 1, 1] },
    { name: '/conv1/Conv' },
  );
  const r1 = b.op('Relu', [c1], {}, { name: '/relu1/Relu' });
  const p1 = b.op('MaxPool', [r1], { kernel_shape: [1, 2, 2], strides: [1, 2, 2] }, { name: '/pool1/MaxPool' });
  const w2 = new Float32Array(3 * 2 * 9);
  for (let o = 0; o < 3; o++)
    for (let k = 0; k < 9; k++) {
      w2[o * 2 * 9 + k] = (1 + o) / 9;
      w2[(o * 2 + 1) * 9 + k] = -0.5 / 9;
    }
  const c2 = b.op('Conv', [p1, b.floats('w2', [3, 2, 1, 3, 3], w2)], { pads: [0, 1, 1, 0, 1, 1] }, { name: '/conv2/Conv' });
  const r2 = b.op('Relu', [c2], {}, { name: '/layer2/Relu' });
  const g = b.op('GlobalAveragePool', [r2], {}, { name: '/pool/GlobalAveragePool' });
  const f = b.op('Flatten', [g], {}, { name: '/Flatten' });
  b.op(
    'Gemm',
    [f, b.floats('fc.w', [2, 3], Float32Array.of(1, 1, 1, -1, -1, -1)), b.floats('fc.b', [2], Float32Array.of(0, 0.5))],
    { transB: 1 },
    { name: '/fc/Gemm', outputs: ['logits'] },
  );
  b.output('logits', DataType.FLOAT, [1, 2]);
  return serializeModel(b.build());
}
