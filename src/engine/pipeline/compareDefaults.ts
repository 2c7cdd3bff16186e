// The panel's default "Compare methods" selection. Pure (the extension host reads it; the
// comparison itself is compare.ts, which runs models).
import type { CamMethodName } from '../explainTypes';

/** Grad-CAM, Grad-CAM++, LayerCAM, Score-CAM, FullGrad, Integrated Gradients: the ones the registry has are used. */
export const DEFAULT_COMPARE_METHODS: readonly string[] = ['gradcam', 'gradcam++', 'layercam', 'scorecam', 'fullgrad', 'integrated-gradients'];

/** The methods of `wanted` that `available` has, in `wanted`'s order. */
export function availableMethods(wanted: readonly string[], available: readonly string[]): CamMethodName[] {
  return wanted.filter((m): m is CamMethodName => available.includes(m));
}
