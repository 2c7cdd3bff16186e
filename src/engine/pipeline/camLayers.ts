// Which output holds the scores and which layers the maps come from, for explain() and the
// batch alike: the named ones (checked), else the model's first output and the suggested layer.
import { CamLensError } from '../errors';
import { ancestorsOf, outputsFedBy, suggestCamLayer } from '../layers';
import type { LoadedModel } from '../model';
import { checkTappable } from '../surgery/taps';

export function scoreOutput(model: LoadedModel, named: string | undefined): string {
  const output = named ?? model.graph.outputs[0];
  if (!model.graph.outputs.includes(output)) {
    throw new CamLensError('UNKNOWN_VALUE', `The model has no output "${output}"; its outputs are ${model.graph.outputs.map((o) => `"${o}"`).join(', ')}.`);
  }
  return output;
}

/**
 * The CAM layers for `output`: the named ones, else the one suggested for it. A layer `output`
 * is not computed from is refused: its gradient is zero everywhere and its map says nothing
 * about the target (it was once an all-zero map with exit 0).
 */
export function camLayers(model: LoadedModel, named: readonly string[] | undefined, output: string): string[] {
  const layers = named?.length ? [...named] : [suggestCamLayer(model, output)?.value ?? ''];
  if (!layers[0]) throw new CamLensError('BAD_ARGUMENT', 'No CAM layer could be suggested for this model; name one with --layer (see `camlens layers`).');
  for (const layer of layers) checkTappable(model.graph, layer);
  checkLayersReach(model, layers, output);
  return layers;
}

/**
 * Every value `value` is computed from, per loaded model (a loaded model's graph never changes):
 * the walk over the whole graph ran on every request (0.15 ms of a 26 ms ResNet-50 explanation).
 */
const feedingCache = new WeakMap<LoadedModel, Map<string, ReadonlySet<string>>>();
function feedingValues(model: LoadedModel, value: string): ReadonlySet<string> {
  let byValue = feedingCache.get(model);
  if (!byValue) feedingCache.set(model, (byValue = new Map()));
  let feeding = byValue.get(value);
  if (!feeding) byValue.set(value, (feeding = ancestorsOf(model, [value])));
  return feeding;
}

/** An error naming the first layer that `value` (the target's value: an output or any value) is not computed from. */
export function checkLayersReach(model: LoadedModel, layers: readonly string[], value: string): void {
  const feeding = feedingValues(model, value);
  for (const layer of layers) {
    if (feeding.has(layer)) continue;
    const fed = outputsFedBy(model, layer);
    throw new CamLensError(
      'BAD_ARGUMENT',
      `Layer "${layer}" cannot reach the output "${value}": "${value}" is not computed from it, so its map for that target would be empty. ` +
        (fed.length
          ? `It feeds ${fed.map((o) => `"${o}"`).join(', ')} (choose that with --output), or choose a layer on the path to "${value}" (see \`camlens layers\`).`
          : `It feeds no output at all; choose a layer on the path to "${value}" (see \`camlens layers\`).`),
    );
  }
}
