// Similarity to a concept: the reference embedding (a .npy vector, or the same value of this
// model for a reference image), and the cosine target (engine/targets/embedding) whose gradient
// is fed as the cotangent.
import * as path from 'node:path';
import type { ExplainParams } from '../explainTypes';
import type { ModelConfig } from '../image/config';
import type { LoadedModel } from '../model';
import { readNpy } from '../npy';
import type { PlainTensor } from '../runtime/tapRunner';
import { cosineTarget } from '../targets/embedding';
import type { GradientRunContext } from './gradientRun';
import { loadModelInput } from './input';
import { readValue, type ValueTarget } from './targetRun';

/** Row 0 of `t`, flattened. */
const firstRow = (t: PlainTensor): ArrayLike<number> => (t.data as Float32Array).subarray(0, t.data.length / Math.max(1, t.dims[0] ?? 1));

async function referenceEmbedding(model: LoadedModel, ctx: GradientRunContext, config: ModelConfig, file: string, value: string): Promise<ArrayLike<number>> {
  if (path.extname(file).toLowerCase() === '.npy') return readNpy(file).data;
  const ref = await loadModelInput(file, model, config);
  return firstRow(await readValue(model, ctx, value, { dtype: 'float32', dims: ref.dims, data: ref.tensor }));
}

export async function resolveEmbedding(
  model: LoadedModel,
  ctx: GradientRunContext,
  params: ExplainParams & { embedding: string },
  config: ModelConfig,
  value: string,
  input: PlainTensor,
): Promise<ValueTarget> {
  const reference = await referenceEmbedding(model, ctx, config, params.embedding, value);
  const v = await readValue(model, ctx, value, input);
  const name = path.basename(params.embedding);
  const cos = cosineTarget(value, firstRow(v), reference, name);
  const cotangent = new Float32Array(v.data.length);
  cotangent.set(cos.gradient);
  return {
    spec: { value, select: { kind: 'sum' } },
    dims: v.dims,
    classIndex: -1,
    label: `cosine to ${name}`,
    score: cos.score,
    fed: {
      cotangent: { dtype: 'float32', dims: v.dims, data: cotangent },
      target: { value, index: [], score: cos.score, reduce: 'cosine', reference: name },
    },
  };
}
