// The real exported models the benchmarks measure against plain onnxruntime (issue 17):
// BENCH_MODEL=resnet50 (default; torchvision export with BatchNorm folded, made by
// scripts/refs/export_resnet50.py into /tmp/models, or BENCH_MODEL_PATH) or resnet18 (the shared
// fixtures' export). Each with its last block's output as the CAM layer, and the stage before's
// last output as a second layer for multi-layer methods (RefineCAM in bench/methods.mjs).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const FIXTURES = process.env.CAMLENS_FIXTURES ?? resolve('../shared/fixtures');
const MODELS = {
  resnet50: {
    path: '/tmp/models/resnet50.onnx',
    layer: '/layer4/layer4.2/relu_2/Relu_output_0',
    earlierLayer: '/layer3/layer3.5/relu_2/Relu_output_0',
    make: '/usr/bin/python3 scripts/refs/export_resnet50.py',
  },
  resnet18: {
    path: `${FIXTURES}/models/resnet18.onnx`,
    layer: '/layer4/layer4.1/relu_1/Relu_output_0',
    earlierLayer: '/layer3/layer3.1/relu_1/Relu_output_0',
    make: 'the shared fixtures',
  },
};

/** { id, name, path, layer, earlierLayer }, or { skipped } naming how to make the model when its file is absent. */
export function benchModel() {
  const name = process.env.BENCH_MODEL ?? 'resnet50';
  const known = MODELS[name];
  if (!known) return { skipped: `BENCH_MODEL=${name}: expected ${Object.keys(MODELS).join(' or ')}` };
  const path = process.env.BENCH_MODEL_PATH ?? known.path;
  if (!existsSync(path)) return { skipped: `${path} not found (make it with ${known.make}, or set BENCH_MODEL_PATH)` };
  return { id: name, name: `${name} (torchvision export, BN folded)`, path, layer: process.env.BENCH_LAYER ?? known.layer, earlierLayer: known.earlierLayer };
}
