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
  /**
   * The file's size, mtime, ctime and inode when it was read (loadModel only): the on-disk
   * session cache keys a model by its content hash only while the file still has this stamp.
   * Undefined for models made in memory and for models with external data.
   */
  readonly fileStamp?: string;
}

/** A file's identity without reading it: any write changes ctime, whatever tools do to mtime. */
export const fileStampOf = (st: fs.Stats): string => `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}:${st.dev}`;

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
  const proto = readModelFile(path);
  const inlined = loadExternalTensors(proto, modelDirOf(path));
  const external = inlined !== proto; // the same object when nothing was external
  const analysed = analyseModel(inlined, path, stat?.size ?? 0);
  // The weights of a model with external data are not in the file the stamp describes.
  const model: LoadedModel = stat && !external ? { ...analysed, fileStamp: fileStampOf(stat) } : analysed;
  if (stat) {
    cache.set(path, { mtimeMs: stat.mtimeMs, size: stat.size, model });
    while (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  }
  return model;
}

export function clearModelCache(): void {
  cache.clear();
}
