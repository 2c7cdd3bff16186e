// What shape inference knows about a value. A dimension is a number (static), a string
// (symbolic, e.g. "batch", kept as named by the model) or null (unknown until a runtime probe).
export type ShapeDim = number | string | null;

export interface ValueType {
  /** ONNX TensorProto.DataType; 0 when unknown. */
  dtype: number;
  /** undefined when even the rank is unknown. */
  shape?: ShapeDim[];
}

export type ShapeMap = Map<string, ValueType>;
