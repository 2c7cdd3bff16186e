// Models with several inputs: the image input is the float 4-D (or 5-D, video) one; every other
// input is bound in memory to a constant — the config's value (broadcast to the input's static
// shape) or .npy, or, for an input that also has an initializer, that default. The bound model
// has the image as its only input, so every run of the pipeline feeds it as a single-input model.
import { CamLensError } from '../errors';
import type { ModelConfig } from '../image/config';
import { analyseModel, type LoadedModel } from '../model';
import { readNpy } from '../npy';
import { makeTensor, isFloatType, dataTypeName } from '../onnx/tensor';
import { DataType } from '../onnx/types';

/** The input the image (or clip) is fed to: the first float input of rank 4 or 5, else the first input. */
export function imageInputOf(model: LoadedModel): string {
  const inputs = model.graph.inputs;
  return (
    inputs.find((n) => {
      const t = model.shapes.get(n);
      return t && isFloatType(t.dtype) && (t.shape?.length === 4 || t.shape?.length === 5);
    }) ?? inputs[0]
  );
}

const bound = new WeakMap<LoadedModel, Map<string, LoadedModel>>();

/**
 * `model` with every input but the image bound to a constant (itself when it has one input).
 * An input with neither a configured value nor a default is an error that names it.
 */
export function withBoundInputs(model: LoadedModel, config: ModelConfig): LoadedModel {
  if (model.graph.inputs.length <= 1) return model;
  const key = JSON.stringify(config.inputs ?? {});
  const known = bound.get(model)?.get(key);
  if (known) return known;
  const image = imageInputOf(model);
  const graph = model.proto.graph!;
  const initializer = [...graph.initializer];
  for (const name of model.graph.inputs) {
    if (name === image) continue;
    const spec = config.inputs?.[name];
    const type = model.shapes.get(name);
    if (!spec) {
      throw new CamLensError(
        'BAD_ARGUMENT',
        `The model has ${model.graph.inputs.length} inputs (${model.graph.inputs.join(', ')}); the image goes to "${image}". Give "${name}" a value in the model's config: "inputs": {"${name}": {"value": 1}} or {"npy": "${name}.npy"}.`,
      );
    }
    const dtype = type?.dtype || DataType.FLOAT;
    let dims: number[];
    let values: ArrayLike<number>;
    if ('npy' in spec) {
      const npy = readNpy(spec.npy);
      dims = npy.shape;
      values = npy.data;
    } else {
      const shape = type?.shape ?? [];
      if (!shape.every((d) => typeof d === 'number')) {
        throw new CamLensError(
          'BAD_ARGUMENT',
          `Input "${name}" has shape [${shape.map((d) => d ?? '?').join(', ')}]; a constant "value" needs a static shape. Give it as {"npy": "<file>.npy"}.`,
        );
      }
      dims = shape as number[];
      values = new Array<number>(dims.reduce((a, b) => a * b, 1)).fill(spec.value);
    }
    if (![DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.INT64, DataType.INT32, DataType.INT8, DataType.UINT8, DataType.BOOL].includes(dtype)) {
      throw new CamLensError('BAD_ARGUMENT', `Input "${name}" has element type ${dataTypeName(dtype)}, which a config value cannot give.`);
    }
    const integer = !isFloatType(dtype);
    const cast = integer ? Array.from(values, (v) => Math.round(v)) : values;
    const at = initializer.findIndex((t) => t.name === name);
    const tensor = makeTensor(name, dtype, dims, cast);
    if (at >= 0) initializer[at] = tensor;
    else initializer.push(tensor);
  }
  // Inputs with an initializer are optional: not listed by model.graph.inputs, they keep their default.
  const proto = {
    ...model.proto,
    graph: { ...graph, initializer, input: graph.input.filter((i) => i.name === image || initializer.some((t) => t.name === i.name)) },
  };
  // The path carries the bound values, so that sessions of differently bound models (keyed by path) are not shared.
  const result = analyseModel(proto, `${model.path}#inputs=${key}`, model.fileBytes);
  if (!bound.has(model)) bound.set(model, new Map());
  bound.get(model)!.set(key, result);
  return result;
}
