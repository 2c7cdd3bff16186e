// A tensor shape as text, for tables, tree items and tooltips: `[1, 3, 224, 224]`, unknown
// dimensions as `?`, symbolic ones by name; and a layer's name short enough for a caption.
// Pure, so the extension host and the webviews can use it too.
export type ShapeLike = ReadonlyArray<number | string | null> | null | undefined;

export const formatShape = (shape: ShapeLike, separator = ', '): string =>
  shape == null ? '?' : `[${shape.map((d) => (d === null ? '?' : String(d))).join(separator)}]`;

/** A value's name as a caption: its last two scopes, without ONNX's `_output_0` (`layer1.0/relu_1/Relu`). */
export const shortLayerName = (layer: string): string =>
  layer
    .replace(/_output_\d+$/, '')
    .split('/')
    .filter(Boolean)
    .slice(-2)
    .join('/');
