// One loaded model: the parsed proto, its Graph, inferred shapes and scope tree. Parsing a
// large model is the slowest step of a small request, so loads are cached by path + mtime.
import * as fs from 'node:fs';
import { Graph } from './onnx/graph';
import { loadExternalTensors, modelDirOf } from './onnx/external';
import { readModelFile } from './onnx/io';
import { buildScopeTree, type Scope } from './onnx/scopes';
import { inferShapes } from './onnx/shapes';
import type { ShapeMap } from './onnx/shapes/types';
import type { ModelProto } from './onnx/types';

export interface LoadedModel {
  readonly path: string;
  readonly proto: ModelProto;
  readonly graph: Graph;
  readonly shapes: ShapeMap;
  readonly scopes: Scope;
  readonly fileBytes: number;
}

export function analyseModel(proto: ModelProto, path: string, fileBytes = 0): LoadedModel {
  const graph = Graph.fromModel(proto, path);
  const shapes = inferShapes(graph);
  return { path, proto, graph, shapes, scopes: buildScopeTree(graph), fileBytes };
}

const cache = new Map<string, { mtimeMs: number; size: number; model: LoadedModel }>();
const CACHE_LIMIT = 4;

export function loadModel(path: string): LoadedModel {
  const stat = fs.statSync(path, { throwIfNoEntry: false });
  const hit = stat && cache.get(path);
  if (hit && stat && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) {
    cache.delete(path);
    cache.set(path, hit); // most recently used last
    return hit.model;
  }
  // External weights are read here, relative to the model's folder and through our containment
  // checks (onnx/external.ts): sessions are created from bytes, and onnxruntime would otherwise
  // look for the data files in the process's working folder.
  const model = analyseModel(loadExternalTensors(readModelFile(path), modelDirOf(path)), path, stat?.size ?? 0);
  if (stat) {
    cache.set(path, { mtimeMs: stat.mtimeMs, size: stat.size, model });
    while (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  }
  return model;
}

export function clearModelCache(): void {
  cache.clear();
}
