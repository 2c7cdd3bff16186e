// Finding a transformer's attention probabilities from the graph alone: the Softmax over the
// last axis whose output (through shape-preserving ops such as Dropout/Cast/Identity) is the
// left operand of a MatMul, i.e. P in P·V. Q·Kᵀ scores, gating softmaxes and the classifier's
// softmax fail that test and are reported as "considered" when nothing qualifies.
import { CamLensError } from '../errors';
import type { LoadedModel } from '../model';
import { attrInt } from '../onnx/attributes';
import type { GraphNode } from '../onnx/graph';

export interface AttentionSoftmax {
  /** The Softmax node's name. */
  node: string;
  /** Its output: the attention probabilities [B, heads, N, N] (or [B·heads, N, N]). */
  value: string;
  /** The MatMul that applies them to the values. */
  matmul: string;
  /** Static shape when inferred. */
  shape?: readonly (number | string | null)[];
}

export interface ConsideredSoftmax {
  node: string;
  value: string;
  reason: string;
}

export interface AttentionDiscovery {
  attention: AttentionSoftmax[];
  considered: ConsideredSoftmax[];
}

/** Ops that pass the probabilities on unchanged (in inference) on the way to P·V. */
const PASS_THROUGH = new Set(['Dropout', 'Identity', 'Cast']);

export function findAttentionSoftmax(model: LoadedModel): AttentionDiscovery {
  const { graph, shapes } = model;
  const attention: AttentionSoftmax[] = [];
  const considered: ConsideredSoftmax[] = [];
  for (const node of graph.nodes) {
    if (node.opType !== 'Softmax' || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
    const value = node.outputs[0];
    const shape = shapes.get(value)?.shape ?? undefined;
    const rank = shape?.length ?? shapes.get(node.inputs[0])?.shape?.length;
    const axis = attrInt(node.proto, 'axis', graph.opset() >= 13 ? -1 : 1);
    const lastAxis = rank === undefined ? axis === -1 : axis === -1 || axis === rank - 1;
    if (!lastAxis) {
      considered.push({ node: node.name, value, reason: `softmax over axis ${axis}, not the last axis` });
      continue;
    }
    if (rank !== undefined && rank < 3) {
      considered.push({ node: node.name, value, reason: `rank ${rank} output (a classifier softmax, not [B, heads, N, N])` });
      continue;
    }
    if (shape && rank !== undefined) {
      const [n1, n2] = [shape[rank - 2], shape[rank - 1]];
      if (typeof n1 === 'number' && typeof n2 === 'number' && n1 !== n2) {
        considered.push({ node: node.name, value, reason: `not square over the last two axes (${n1}x${n2})` });
        continue;
      }
    }
    const matmul = leftMatMulOperand(model, value);
    if (!matmul) {
      considered.push({ node: node.name, value, reason: 'its output is not the left operand of a MatMul with the values' });
      continue;
    }
    attention.push({ node: node.name, value, matmul: matmul.name, shape: shape ? [...shape] : undefined });
  }
  return { attention, considered };
}

function leftMatMulOperand(model: LoadedModel, value: string, depth = 0): GraphNode | undefined {
  if (depth > 4) return undefined;
  for (const c of model.graph.consumersOf(value)) {
    if (c.opType === 'MatMul' && c.inputs[0] === value) return c;
    if (PASS_THROUGH.has(c.opType) && c.outputs[0]) {
      const found = leftMatMulOperand(model, c.outputs[0], depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

/** The attention Softmax nodes in graph order, or a clear error naming what was considered. */
export function requireAttention(model: LoadedModel): AttentionSoftmax[] {
  const { attention, considered } = findAttentionSoftmax(model);
  if (attention.length) return attention;
  const list = considered.length
    ? `Softmax nodes considered: ${considered.map((c) => `"${c.node}" (${c.reason})`).join('; ')}`
    : 'the graph has no Softmax node';
  throw new CamLensError(
    'BAD_ARGUMENT',
    `No attention probabilities found in ${model.path}: attention rollout needs Softmax nodes over the last axis whose output feeds a MatMul with the value tensor (P·V); ${list}. ` +
      'Use a gradient method (gradcam) on a token layer instead.',
  );
}

/**
 * ViT-style suggestion (pytorch-grad-cam's `blocks[-1].norm1`): the output of the first
 * LayerNormalization of the last attention block, i.e. the last LayerNormalization that is an
 * ancestor of the last attention Softmax, when it is a token sequence [B, N, C].
 */
export function lastBlockNorm1(model: LoadedModel): string | undefined {
  const { attention } = findAttentionSoftmax(model);
  if (!attention.length) return undefined;
  const { graph, shapes } = model;
  const last = attention[attention.length - 1];
  const ancestors = new Set<string>();
  const stack = [last.value];
  while (stack.length) {
    const v = stack.pop()!;
    if (ancestors.has(v)) continue;
    ancestors.add(v);
    const p = graph.producerOf(v);
    if (p) for (const i of p.inputs) if (i) stack.push(i);
  }
  let best: { value: string; index: number } | undefined;
  graph.nodes.forEach((node, index) => {
    if (node.opType !== 'LayerNormalization' || !ancestors.has(node.outputs[0])) return;
    if (shapes.get(node.outputs[0])?.shape?.length !== 3) return;
    if (!best || index > best.index) best = { value: node.outputs[0], index };
  });
  return best?.value;
}
