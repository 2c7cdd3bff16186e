// Shared code of the benchmarks, bundled by esbuild.mjs to dist/bench/lib.js (CommonJS), so
// plain .mjs benchmark scripts can `require` it.
export { buildResNet50, parameterCount, RESNET50_STAGES, type ResNet50Options } from './resnet50';
export { parseModel, serializeModel } from '../../src/engine/onnx/io';
