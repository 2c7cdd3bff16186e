// A small YOLOv8-like detector written with the DSL, for detection tests and bench/detect.mjs:
// Conv+SiLU stem, C2f blocks (split, bottlenecks with a residual, concat), SPPF (a MaxPool chain
// + concat), an FPN/PAN neck (upsample + concat, strided conv + concat) and a decoupled head per
// level with DFL (softmax over 16 bins · arange) and dist2bbox, as ultralytics exports it:
// output [1, 4+K, A] (cx, cy, w, h in input pixels, then K sigmoid class scores), no NMS.
import { DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import type { ModelProto } from '../../src/engine/onnx/types';
import { randomArray } from './models';

export interface YoloLikeOptions {
  /** Input side (multiple of 16); default 64. */
  size?: number;
  classes?: number;
  /** Channels of the first stage; default 8. */
  width?: number;
  seed?: number;
}

/** Names tests and the bench use. */
export const YOLO_LIKE = {
  input: 'images',
  output: 'output0',
  /** The stride-8 neck output (a good CAM layer: the finest level the head reads). */
  neckP3: '/neck/p3/cv2/act/Mul_output_0',
  /** The stride-16 neck output. */
  neckP4: '/neck/p4/cv2/act/Mul_output_0',
} as const;

export function yoloLike(o: YoloLikeOptions = {}): ModelProto {
  const size = o.size ?? 64;
  const k = o.classes ?? 3;
  const w = o.width ?? 8;
  let seed = o.seed ?? 100;
  const b = ModelBuilder.create(17);
  const x = b.input(YOLO_LIKE.input, DataType.FLOAT, [1, 3, size, size]);
  const chans = new Map<string, number>([[x, 3]]);

  /** Conv (with bias) + SiLU; names its output `${name}/act/Mul_output_0`. */
  const conv = (input: string, cout: number, kernel: number, stride: number, name: string, act = true): string => {
    const cin = chans.get(input)!;
    const fan = cin * kernel * kernel;
    const wt = b.floats(`${name}.weight`, [cout, cin, kernel, kernel], randomArray(cout * fan, seed++, 1.7 / Math.sqrt(fan)));
    const bias = b.floats(`${name}.bias`, [cout], randomArray(cout, seed++, 0.1));
    const p = (kernel - 1) >> 1;
    const y = b.op('Conv', [input, wt, bias], { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [p, p, p, p] }, { name: `${name}/conv/Conv` });
    chans.set(y, cout);
    if (!act) return y;
    const s = b.op('Sigmoid', [y], {}, { name: `${name}/act/Sigmoid` });
    const out = b.op('Mul', [y, s], {}, { name: `${name}/act/Mul`, outputs: [`${name}/act/Mul_output_0`] });
    chans.set(out, cout);
    return out;
  };
  const concat = (inputs: string[], name: string): string => {
    const y = b.op('Concat', inputs, { axis: 1 }, { name });
    chans.set(
      y,
      inputs.reduce((s, i) => s + chans.get(i)!, 0),
    );
    return y;
  };
  /** C2f: cv1 → split in two → n bottlenecks on the second half, each kept → concat → cv2. */
  const c2f = (input: string, cout: number, n: number, name: string): string => {
    const h = cout / 2;
    const y = conv(input, cout, 1, 1, `${name}/cv1`);
    const [a, c] = b.node('Split', [y, b.int64s(`${name}/split`, [h, h])], { axis: 1 }, { name: `${name}/Split`, outputCount: 2 });
    chans.set(a, h).set(c, h);
    const parts = [a, c];
    let last = c;
    for (let i = 0; i < n; i++) {
      const m1 = conv(last, h, 3, 1, `${name}/m.${i}/cv1`);
      const m2 = conv(m1, h, 3, 1, `${name}/m.${i}/cv2`);
      last = b.op('Add', [last, m2], {}, { name: `${name}/m.${i}/Add` });
      chans.set(last, h);
      parts.push(last);
    }
    return conv(concat(parts, `${name}/Concat`), cout, 1, 1, `${name}/cv2`);
  };
  /** SPPF: cv1 → three 5×5 max pools in a chain → concat of all four → cv2. */
  const sppf = (input: string, name: string): string => {
    const c = chans.get(input)!;
    const y = conv(input, c / 2, 1, 1, `${name}/cv1`);
    const pools = [y];
    for (let i = 0; i < 3; i++) {
      const p = b.op('MaxPool', [pools[i]], { kernel_shape: [5, 5], strides: [1, 1], pads: [2, 2, 2, 2] }, { name: `${name}/m.${i}/MaxPool` });
      chans.set(p, c / 2);
      pools.push(p);
    }
    return conv(concat(pools, `${name}/Concat`), c, 1, 1, `${name}/cv2`);
  };

  // Backbone: strides 2, 4, 8 (P3), 16 (P4).
  const s1 = conv(x, w, 3, 2, '/model.0');
  const s2 = c2f(conv(s1, 2 * w, 3, 2, '/model.1'), 2 * w, 1, '/model.2');
  const p3 = c2f(conv(s2, 4 * w, 3, 2, '/model.3'), 4 * w, 1, '/model.4');
  const p4 = sppf(c2f(conv(p3, 8 * w, 3, 2, '/model.5'), 8 * w, 1, '/model.6'), '/model.7');
  // Neck: FPN (P4 up to P3) and PAN (back down to P4).
  const scales = b.floats('/neck/up/scales', [4], [1, 1, 2, 2]);
  const up = b.op('Resize', [p4, '', scales], { mode: 'nearest' }, { name: '/neck/up/Resize' });
  chans.set(up, 8 * w);
  const n3 = c2f(concat([up, p3], '/neck/p3/Concat'), 4 * w, 1, '/neck/p3');
  const down = conv(n3, 4 * w, 3, 2, '/neck/down');
  const n4 = c2f(concat([down, p4], '/neck/p4/Concat'), 8 * w, 1, '/neck/p4');

  // Decoupled head per level: box (4·16 DFL bins) and class branches; then flattened anchors.
  const levels = [
    { feature: n3, stride: 8, name: '/head/0' },
    { feature: n4, stride: 16, name: '/head/1' },
  ];
  const boxes: string[] = [];
  const classes: string[] = [];
  const anchorXY: number[][] = [[], []];
  const strideOf: number[] = [];
  for (const { feature, stride, name } of levels) {
    const g = size / stride;
    const box = conv(conv(feature, 4 * w, 3, 1, `${name}/cv2.0`), 64, 1, 1, `${name}/cv2.1`, false);
    const cls = conv(conv(feature, 4 * w, 3, 1, `${name}/cv3.0`), k, 1, 1, `${name}/cv3.1`, false);
    boxes.push(b.op('Reshape', [box, b.int64s(`${name}/box_shape`, [1, 64, g * g])], {}, { name: `${name}/box/Reshape` }));
    classes.push(b.op('Reshape', [cls, b.int64s(`${name}/cls_shape`, [1, k, g * g])], {}, { name: `${name}/cls/Reshape` }));
    for (let y = 0; y < g; y++)
      for (let xx = 0; xx < g; xx++) {
        anchorXY[0].push(xx + 0.5);
        anchorXY[1].push(y + 0.5);
        strideOf.push(stride);
      }
  }
  const a = strideOf.length;
  const box = b.op('Concat', boxes, { axis: 2 }, { name: '/head/box/Concat' });
  const cls = b.op('Concat', classes, { axis: 2 }, { name: '/head/cls/Concat' });
  // DFL: the expected bin of a softmax over 16 bins, per side (left, top, right, bottom).
  const bins = b.op('Reshape', [box, b.int64s('/dfl/shape', [1, 4, 16, a])], {}, { name: '/dfl/Reshape' });
  const soft = b.op('Softmax', [bins], { axis: 2 }, { name: '/dfl/Softmax' });
  const arange = b.floats(
    '/dfl/arange',
    [1, 1, 16, 1],
    Array.from({ length: 16 }, (_, i) => i),
  );
  const weighted = b.op('Mul', [soft, arange], {}, { name: '/dfl/Mul' });
  const dist = b.op('ReduceSum', [weighted, b.int64s('/dfl/axes', [2])], { keepdims: 0 }, { name: '/dfl/ReduceSum' });
  // dist2bbox: centre = anchor + (rb − lt)/2, size = lt + rb, both × stride.
  const slice = (from: number, to: number, name: string) =>
    b.op('Slice', [dist, b.int64s(`${name}/starts`, [from]), b.int64s(`${name}/ends`, [to]), b.int64s(`${name}/axes`, [1])], {}, { name });
  const lt = slice(0, 2, '/dist2bbox/lt');
  const rb = slice(2, 4, '/dist2bbox/rb');
  const anchors = b.floats('/dist2bbox/anchors', [1, 2, a], [...anchorXY[0], ...anchorXY[1]]);
  const half = b.floats('/dist2bbox/half', [1], [0.5]);
  const centre = b.op(
    'Add',
    [anchors, b.op('Mul', [b.op('Sub', [rb, lt], {}, { name: '/dist2bbox/Sub' }), half], {}, { name: '/dist2bbox/Mul' })],
    {},
    { name: '/dist2bbox/Add' },
  );
  const wh = b.op('Add', [lt, rb], {}, { name: '/dist2bbox/Add_1' });
  const xywh = b.op('Concat', [centre, wh], { axis: 1 }, { name: '/dist2bbox/Concat' });
  const pixels = b.op('Mul', [xywh, b.floats('/dist2bbox/strides', [1, 1, a], strideOf)], {}, { name: '/dist2bbox/Mul_1' });
  const scores = b.op('Sigmoid', [cls], {}, { name: '/head/cls/Sigmoid' });
  b.op('Concat', [pixels, scores], { axis: 1 }, { name: '/head/Concat', outputs: [YOLO_LIKE.output] });
  b.output(YOLO_LIKE.output, DataType.FLOAT, [1, 4 + k, a]);
  return b.build();
}
