// What a gradient rule sees and returns. A rule handles one forward node: given the gradients of
// its outputs (those that reach the target), it emits nodes computing the gradients of its
// inputs and returns their names (undefined for inputs it does not differentiate).
import { attrFloat, attrInt, attrInts, attrString } from '../onnx/attributes';
import type { GraphNode } from '../onnx/graph';
import { CamLensError } from '../errors';
import type { Emitter } from './emitter';
import type { ShapeInference } from '../onnx/shapes';

export class RuleContext {
  constructor(
    readonly node: GraphNode,
    /** Gradient of each output; undefined where no gradient flows back into it. */
    readonly grads: readonly (string | undefined)[],
    private readonly active: readonly boolean[],
    readonly b: Emitter,
  ) {}

  get inputs(): readonly string[] {
    return this.node.inputs;
  }
  get outputs(): readonly string[] {
    return this.node.outputs;
  }
  /** The forward graph's shape inference: element types, shapes, known small tensors. */
  get shapes(): ShapeInference {
    return this.b.shapes;
  }
  /** The gradient of output 0 (the common case). */
  get gy(): string {
    const g = this.grads[0];
    if (!g) throw this.unsupported('no gradient reaches its first output');
    return g;
  }

  /** Whether input i lies on a path from a wrt value to the target (its gradient is wanted). */
  needs(i: number): boolean {
    return !!this.active[i];
  }

  int(name: string, fallback: number): number {
    return attrInt(this.node.proto, name, fallback);
  }
  ints(name: string): number[] | undefined {
    return attrInts(this.node.proto, name);
  }
  float(name: string, fallback: number): number {
    return attrFloat(this.node.proto, name, fallback);
  }
  string(name: string, fallback: string): string {
    return attrString(this.node.proto, name, fallback);
  }

  rank(value: string): number {
    const r = this.shapes.rank(value);
    if (r === undefined) throw this.unsupported(`the rank of "${value}" is not known statically`);
    return r;
  }

  /** An axis attribute or input normalised against `rank` (negative counts from the back). */
  axis(axis: number, rank: number): number {
    return axis < 0 ? axis + rank : axis;
  }

  /** A typed error for a variant of the op this rule cannot differentiate. */
  unsupported(why: string): CamLensError {
    const n = this.node;
    return new CamLensError(
      'UNSUPPORTED_OP',
      `Cannot differentiate node "${n.name}" (${n.opType}): ${why}. Gradient-free CAM methods (EigenCAM, ScoreCAM, AblationCAM) still work on this model.`,
      { opType: n.opType, node: n.name },
    );
  }
}

/** Returns one entry per forward input: its gradient's value name, or undefined. */
export type GradientRule = (ctx: RuleContext) => (string | undefined)[];
