// A tensor shape as text, for tables, tree items and tooltips: `[1, 3, 224, 224]`, unknown
// dimensions as `?`, symbolic ones by name. Pure, so the extension host can use it too.
export type ShapeLike = ReadonlyArray<number | string | null> | null | undefined;

export const formatShape = (shape: ShapeLike, separator = ', '): string =>
  shape == null ? '?' : `[${shape.map((d) => (d === null ? '?' : String(d))).join(separator)}]`;
