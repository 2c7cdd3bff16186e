// A model as every explaining path sees it: loaded (cached), its preprocessing config resolved,
// and inputs other than the image bound to the config's values (issue 15), so explain, batch and
// evaluate all see a model with one image input.
import { resolveModelConfig, type ModelConfig } from '../image/config';
import { loadModel, type LoadedModel } from '../model';
import { withBoundInputs } from '../surgery/bindInputs';

export function loadForExplain(modelPath: string, configPath?: string, labelsPath?: string): { model: LoadedModel; config: ModelConfig } {
  const loaded = loadModel(modelPath);
  const config = resolveModelConfig(modelPath, loaded.proto, configPath, labelsPath);
  return { model: withBoundInputs(loaded, config), config };
}
