// Multi-scale fusion needs the model to accept other input sizes: we make the input's spatial
// dims symbolic in an in-memory copy (the file is untouched), and resize the input tensor.
import { resizeBilinear } from '../cam/postprocess';
import { CamLensError } from '../errors';
import { analyseModel, type LoadedModel } from '../model';
import type { ModelProto } from '../onnx/types';
import type { PlainTensor } from '../runtime/tapRunner';

const flexible = new WeakMap<LoadedModel, LoadedModel>();

/** The model with symbolic H and W on its image input; stale value_info shapes dropped. */
export function withFlexibleSpatialDims(model: LoadedModel, layout: 'NCHW' | 'NHWC'): LoadedModel {
  const hit = flexible.get(model);
  if (hit) return hit;
  const g = model.proto.graph!;
  const inputName = model.graph.inputs[0];
  const [hAxis, wAxis] = layout === 'NCHW' ? [2, 3] : [1, 2];
  const input = g.input.map((vi) => {
    if (vi.name !== inputName || !vi.type?.tensorType?.shape) return vi;
    const dim = vi.type.tensorType.shape.dim.map((d, i) => (i === hAxis ? { dimParam: 'camlens_height' } : i === wAxis ? { dimParam: 'camlens_width' } : d));
    return { ...vi, type: { ...vi.type, tensorType: { ...vi.type.tensorType, shape: { dim } } } };
  });
  const proto: ModelProto = { ...model.proto, graph: { ...g, input, valueInfo: [] } };
  const result = analyseModel(proto, `${model.path}#flexible-size`, model.fileBytes);
  flexible.set(model, result);
  return result;
}

/** Resizes an image tensor [1, C, H, W] / [1, H, W, C] bilinearly (half-pixel centres). */
export function resizeInput(input: PlainTensor, size: [number, number], layout: 'NCHW' | 'NHWC'): PlainTensor {
  const data = input.data as Float32Array;
  if (layout === 'NCHW') {
    const [n, c, h, w] = input.dims;
    const resized = resizeBilinear({ data, shape: [n * c, h, w] }, size);
    return { dtype: 'float32', dims: [n, c, size[0], size[1]], data: resized.data };
  }
  const [n, h, w, c] = input.dims;
  const planar = new Float32Array(data.length);
  for (let p = 0; p < n * h * w; p++) for (let k = 0; k < c; k++) planar[k * n * h * w + p] = data[p * c + k];
  const resized = resizeBilinear({ data: planar, shape: [n * c, h, w] }, size).data;
  const out = new Float32Array(resized.length);
  const hw = size[0] * size[1];
  for (let p = 0; p < n * hw; p++) for (let k = 0; k < c; k++) out[p * c + k] = resized[k * n * hw + p];
  return { dtype: 'float32', dims: [n, size[0], size[1], c], data: out };
}

export function scaledSize(size: [number, number], scale: number): [number, number] {
  return [Math.max(1, Math.round(size[0] * scale)), Math.max(1, Math.round(size[1] * scale))];
}

/** Turns an onnxruntime failure at another input size into an explanation. */
export function multiScaleError(scale: number, size: [number, number], e: unknown): CamLensError {
  const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
  return new CamLensError(
    'BAD_ARGUMENT',
    `Multi-scale fusion needs the model to accept other input sizes, but at scale ${scale} (${size[0]}x${size[1]}) it failed: ${message}. ` +
      'The graph probably fixes the spatial size (e.g. a Reshape or Expand with constant dims, or a fixed-size Flatten→Gemm head); run without --scales.',
  );
}
