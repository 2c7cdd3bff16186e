// Shared code of the benchmarks, bundled by esbuild.mjs to dist/bench/lib.js (CommonJS), so
// plain .mjs benchmark scripts can `require` it.
export { buildResNet50, parameterCount, RESNET50_STAGES, type ResNet50Options } from './resnet50';
export { parseModel, serializeModel } from '../../src/engine/onnx/io';
// The CPU tail of an explanation, for bench/gradcam.mjs's in-process breakdown.
export { aggregateLayers } from '../../src/engine/cam/postprocess';
export { blend } from '../../src/engine/image/blend';
// The model an explanation runs (forward + backward), for comparing run times with the forward model.
export { buildGradientModel } from '../../src/engine/pipeline/gradientModel';
export { loadModel } from '../../src/engine/model';
// The client the extension and the CLI use, so benchmarks start and talk to the worker the same way.
export { WorkerClient } from '../../src/worker/client';
// A YOLOv8-like detector (C2f, SPPF, FPN/PAN, DFL head) for bench/detect.mjs; the tests' own model.
export { yoloLike, YOLO_LIKE } from '../../test/helpers/yolo';
// What `camlens explain` asks the worker and writes, for bench/plain.mjs's CLI side.
export { cliExplainRequest, explainParamsFromArgs, writeExplanation } from '../../src/cli/commands/explain';
// Agreement of approximate maps with exact ones (bench/scorecam.mjs).
export { pearson } from '../../src/engine/metrics/stats';
// Every method the registry offers, for bench/methods.mjs's default list and reference names.
export { INPUT_SPACE_INFO, LAYER_CAMS } from '../../src/engine/cam/registry';
// What the panel does with an explain answer: the host's result message and the map the webview
// draws from it (rebuilt from the layer's map when the answer left it there), for bench/plain.mjs.
export { explainView } from '../../src/host/panel/explainView';
export { withShownMap } from '../../src/panel/protocol';
export { PictureReuse } from '../../src/host/panel/pictureReuse';
