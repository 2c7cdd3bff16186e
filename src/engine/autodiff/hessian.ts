// Hessian-vector products by reverse over reverse: the gradient graph's output ∇_A f is itself
// differentiated, with the vector v as its cotangent, giving d<∇_A f, v>/dA = H·v (H symmetric).
// The second pass runs the same rules over the backward nodes the first pass emitted, so it
// needs rules for them too (Where, ConvTranspose, Expand, ScatterElements, ...). A value computed
// before A is a constant of the second pass, as it is for torch.autograd.grad on a hooked
// activation (pytorch-grad-cam's ShapleyCAM).
import type { ShapeMap } from '../onnx/shapes/types';
import type { ModelProto } from '../onnx/types';
import { buildGradientGraph, type GradientGraph } from './gradient';

export interface HessianVectorRequest {
  /** Values whose H·v is wanted; each must be a `wrt` value of the gradient graph. */
  wrt: readonly string[];
  /** 'self': v = A, the value itself (ShapleyCAM's H·A); 'fed': v is a new graph input per value. */
  vector: 'self' | 'fed';
  shapes?: ShapeMap;
}

export interface HessianVectorGraph {
  model: ModelProto;
  /** wrt value → graph output holding H·v. */
  products: Record<string, string>;
  /** wrt value → the input that feeds v ('fed' only). */
  vectors: Record<string, string>;
}

export function appendHessianVectorProducts(grad: GradientGraph, request: HessianVectorRequest): HessianVectorGraph {
  let model = grad.model;
  const products: Record<string, string> = {};
  const vectors: Record<string, string> = {};
  for (const w of request.wrt) {
    const gradient = grad.gradients[w];
    if (!gradient) throw new Error(`appendHessianVectorProducts: "${w}" is not differentiated by this gradient graph`);
    // Each pass extends the graph the previous one built; one scalar per value, so one pass each.
    const second = buildGradientGraph(model, { target: gradient, wrt: [w], shapes: request.shapes, seed: request.vector === 'self' ? w : undefined });
    model = second.model;
    products[w] = second.gradients[w];
    if (request.vector === 'fed') vectors[w] = second.cotangent;
  }
  return { model, products, vectors };
}
