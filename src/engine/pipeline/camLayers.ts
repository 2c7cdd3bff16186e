// Which output holds the scores and which layers the maps come from, for explain() and the
// batch alike: the named ones (checked), else the model's first output and the suggested layer.
import { CamLensError } from '../errors';
import { suggestCamLayer } from '../layers';
import type { LoadedModel } from '../model';
import { checkTappable } from '../surgery/taps';

export function scoreOutput(model: LoadedModel, named: string | undefined): string {
  const output = named ?? model.graph.outputs[0];
  if (!model.graph.outputs.includes(output)) {
    throw new CamLensError('UNKNOWN_VALUE', `The model has no output "${output}"; its outputs are ${model.graph.outputs.map((o) => `"${o}"`).join(', ')}.`);
  }
  return output;
}

export function camLayers(model: LoadedModel, named: readonly string[] | undefined): string[] {
  const layers = named?.length ? [...named] : [suggestCamLayer(model)?.value ?? ''];
  if (!layers[0]) throw new CamLensError('BAD_ARGUMENT', 'No CAM layer could be suggested for this model; name one with --layer (see `camlens layers`).');
  for (const layer of layers) checkTappable(model.graph, layer);
  return layers;
}
