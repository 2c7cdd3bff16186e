// The model runs behind DFF's concept names: each concept embedding (a C-vector, cam/dff.ts) is
// fed to the part of the model after the layer as a map that holds the embedding at every
// position, and the head's scores name the concept. After the last convolutional block this is
// pytorch-grad-cam's "embedding through the classifier" exactly (global average pooling of a
// constant map is the embedding); after an earlier block it runs the rest of the network on it.
import { channelAxis, type ActivationLayout, type TokenGrid } from '../cam/layout';
import { DFF_TOP_CLASSES, factorizeActivations } from '../cam/dff';
import type { ConceptFactorization } from '../cam/tensor';
import type { LoadedModel } from '../model';
import type { PlainTensor } from '../runtime/tapRunner';
import { batchable, scoresOf, tailModel, type ChannelRunContext } from './channelScores';
import { layerFeatureMaps } from './layout';
import { softmax, topIndices } from './predictions';

export interface ConceptTable {
  factorization: ConceptFactorization;
  /** [K, classes]: the head's scores of each concept embedding, and their softmax. */
  scores: Float32Array;
  probs: Float64Array;
  classes: number;
  runs: number;
}

/** `raw`'s shape with K rows, every position of row k holding embedding k. */
function constantMaps(f: ConceptFactorization, raw: PlainTensor, layout: ActivationLayout, rows: readonly number[]): PlainTensor {
  const axis = channelAxis(layout);
  const dims = [rows.length, ...raw.dims.slice(1)];
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const c = dims[axis];
  const outer = dims.slice(1, axis).reduce((a, b) => a * b, 1);
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  let o = 0;
  for (const k of rows) {
    for (let u = 0; u < outer; u++) {
      for (let ch = 0; ch < c; ch++) {
        data.fill(f.embeddings[k * c + ch], o, o + inner);
        o += inner;
      }
    }
  }
  return { dtype: 'float32', dims, data };
}

/** Factorises one layer's activation into `concepts` concepts and scores each with the head. */
export async function conceptTable(
  model: LoadedModel,
  ctx: ChannelRunContext,
  layer: string,
  raw: PlainTensor,
  layout: ActivationLayout,
  grid: TokenGrid | undefined,
  output: string,
  concepts: number,
): Promise<ConceptTable> {
  const factorization = factorizeActivations(layerFeatureMaps(raw, layout, grid), concepts);
  const tail = tailModel(model, layer, output);
  const batch = batchable(tail, tail.graph.inputs[0]) ? Math.max(1, ctx.batchSize) : 1;
  const all = Array.from({ length: concepts }, (_, k) => k);
  let scores: Float32Array | undefined;
  let classes = 0;
  let runs = 0;
  for (let i = 0; i < concepts; i += batch) {
    const rows = all.slice(i, i + batch);
    const r = await scoresOf(tail, ctx, constantMaps(factorization, raw, layout, rows), output, 'dff-head');
    classes = r.k;
    scores ??= new Float32Array(concepts * r.k);
    scores.set(r.data.subarray(0, rows.length * r.k), i * r.k);
    runs++;
  }
  const probs = new Float64Array(concepts * classes);
  for (let k = 0; k < concepts; k++) probs.set(softmax(scores!.subarray(k * classes, (k + 1) * classes)), k * classes);
  return { factorization, scores: scores!, probs, classes, runs };
}

/** Per concept, the target class's probability (what picks DFF's map for that class). */
export const classProbs = (t: ConceptTable, classIndex: number): Float64Array =>
  Float64Array.from({ length: t.factorization.count }, (_, k) => t.probs[k * t.classes + classIndex]);

/** Per concept, its best classes (pytorch-grad-cam's legend: 2), best first. */
export const conceptTopClasses = (t: ConceptTable, labels: readonly string[] | undefined): { index: number; label: string; prob: number }[][] =>
  Array.from({ length: t.factorization.count }, (_, k) => {
    const p = t.probs.subarray(k * t.classes, (k + 1) * t.classes);
    return topIndices(p, Math.min(DFF_TOP_CLASSES, t.classes)).map((index) => ({ index, label: labels?.[index] ?? String(index), prob: p[index] }));
  });
