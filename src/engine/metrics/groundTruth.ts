// Ground truth for the localisation metrics, found beside the image or in a file given with
// --gt, and brought to the model's input geometry (the same resize/crop the image went through).
//   - a mask image: S.mask.png or S_mask.png beside S.png (non-zero = object)
//   - a labels.json beside the image (the shapes fixtures' format: items [{file, mask?, bbox_xyxy?}])
//   - --gt FILE: COCO JSON (images + annotations, bbox [x, y, w, h]), the labels.json format,
//     Pascal VOC XML (one file, or a folder holding S.xml), or CSV rows file,x0,y0,x1,y1
// Boxes are kept as continuous pixel rectangles [x0, x1) × [y0, y1) in 0-based image pixels; a
// pixel belongs to the object when its centre lies inside one of them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCsv } from '../csv';
import { CamLensError } from '../errors';
import { decodeImage } from '../image/decode';
import { imageGeometry, inputPixelCentres } from '../image/geometry';
import type { ResizeMode } from '../image/config';

export type Box = [x0: number, y0: number, x1: number, y1: number];

export interface GroundTruth {
  kind: 'mask' | 'bbox';
  /** The file it came from. */
  source: string;
  maskFile?: string;
  boxes?: Box[];
}

const stemOf = (file: string) => path.basename(file).replace(/\.[^.]+$/, '');
const inclusive = (b: number[]): Box => [b[0], b[1], b[2] + 1, b[3] + 1];

interface LabelItem {
  file?: string;
  mask?: string;
  bbox_xyxy?: number[];
}

function fromLabelItems(items: LabelItem[], image: string, source: string): GroundTruth | undefined {
  const base = path.basename(image);
  const hit = items.find((it) => it.file && (it.file === base || path.basename(it.file) === base));
  if (!hit) return undefined;
  if (hit.mask) {
    const maskFile = path.resolve(path.dirname(source), hit.mask);
    if (fs.existsSync(maskFile)) return { kind: 'mask', source, maskFile };
  }
  if (Array.isArray(hit.bbox_xyxy) && hit.bbox_xyxy.length === 4) return { kind: 'bbox', source, boxes: [inclusive(hit.bbox_xyxy)] };
  return undefined;
}

function fromJson(file: string, image: string): GroundTruth | undefined {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CamLensError('BAD_ARGUMENT', `Ground truth ${file} is not valid JSON: ${(e as Error).message}.`);
  }
  const obj = json as { images?: Array<{ id: number; file_name: string }>; annotations?: Array<{ image_id: number; bbox?: number[] }>; items?: LabelItem[] };
  if (Array.isArray(obj.images) && Array.isArray(obj.annotations)) {
    const base = path.basename(image);
    const img = obj.images.find((i) => i.file_name === base || path.basename(i.file_name ?? '') === base);
    if (!img) return undefined;
    const boxes = obj.annotations
      .filter((a) => a.image_id === img.id && Array.isArray(a.bbox) && a.bbox.length === 4)
      .map((a): Box => [a.bbox![0], a.bbox![1], a.bbox![0] + a.bbox![2], a.bbox![1] + a.bbox![3]]);
    return boxes.length ? { kind: 'bbox', source: file, boxes } : undefined;
  }
  const items = Array.isArray(json) ? (json as LabelItem[]) : obj.items;
  if (Array.isArray(items)) return fromLabelItems(items, image, file);
  throw new CamLensError('BAD_ARGUMENT', `Ground truth ${file}: expected COCO JSON (images + annotations) or a list of {file, mask | bbox_xyxy}.`);
}

function fromVoc(file: string): GroundTruth | undefined {
  const xml = fs.readFileSync(file, 'utf8');
  const num = (block: string, tag: string) => Number(new RegExp(`<${tag}>\\s*([-\\d.]+)\\s*</${tag}>`).exec(block)?.[1]);
  const boxes: Box[] = [];
  for (const m of xml.matchAll(/<bndbox>([\s\S]*?)<\/bndbox>/g)) {
    const [x0, y0, x1, y1] = ['xmin', 'ymin', 'xmax', 'ymax'].map((t) => num(m[1], t));
    // VOC coordinates are 1-based and inclusive.
    if ([x0, y0, x1, y1].every(Number.isFinite)) boxes.push([x0 - 1, y0 - 1, x1, y1]);
  }
  if (!boxes.length) throw new CamLensError('BAD_ARGUMENT', `Ground truth ${file}: no <bndbox> with xmin/ymin/xmax/ymax found.`);
  return { kind: 'bbox', source: file, boxes };
}

function fromCsv(file: string, image: string): GroundTruth | undefined {
  const base = path.basename(image);
  const boxes: Box[] = [];
  for (const { cells } of readCsv(file, 'the ground-truth CSV')) {
    if (cells.length < 5) continue;
    const nums = cells.slice(1, 5).map(Number);
    if (!nums.every(Number.isFinite)) continue; // header
    if (cells[0] === base || path.basename(cells[0]) === base || path.resolve(path.dirname(file), cells[0]) === path.resolve(image))
      boxes.push(inclusive(nums));
  }
  return boxes.length ? { kind: 'bbox', source: file, boxes } : undefined;
}

/** The ground truth for one image, or undefined when none is found (localisation is then skipped). */
export function findGroundTruth(image: string, gt?: string): GroundTruth | undefined {
  if (gt) {
    if (!fs.existsSync(gt)) throw new CamLensError('BAD_ARGUMENT', `--gt: ${gt} does not exist.`);
    if (fs.statSync(gt).isDirectory()) {
      for (const name of [`${stemOf(image)}.xml`, `${stemOf(image)}.mask.png`, `${stemOf(image)}_mask.png`]) {
        const f = path.join(gt, name);
        if (fs.existsSync(f)) return name.endsWith('.xml') ? fromVoc(f) : { kind: 'mask', source: f, maskFile: f };
      }
      return undefined;
    }
    const ext = path.extname(gt).toLowerCase();
    if (ext === '.json') return fromJson(gt, image);
    if (ext === '.xml') return fromVoc(gt);
    if (ext === '.csv') return fromCsv(gt, image);
    if (['.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff'].includes(ext)) return { kind: 'mask', source: gt, maskFile: gt };
    throw new CamLensError('BAD_ARGUMENT', `--gt: ${gt}: expected a .json (COCO or labels), .xml (VOC), .csv (file,x0,y0,x1,y1), a mask image or a folder.`);
  }
  const dir = path.dirname(image);
  for (const name of [`${stemOf(image)}.mask.png`, `${stemOf(image)}_mask.png`]) {
    const f = path.join(dir, name);
    if (fs.existsSync(f) && path.resolve(f) !== path.resolve(image)) return { kind: 'mask', source: f, maskFile: f };
  }
  const labels = path.join(dir, 'labels.json');
  if (fs.existsSync(labels)) {
    try {
      return fromJson(labels, image);
    } catch {
      return undefined; // a labels.json of another format is not ground truth
    }
  }
  return undefined;
}

/**
 * Where each model-input pixel (x, y) came from in the original image of size w0×h0, for the
 * resize modes the image pipeline uses (geometry.ts).
 */
export function sourceCoordinates(w0: number, h0: number, W: number, H: number, mode: ResizeMode): { sx: Float64Array; sy: Float64Array } {
  return inputPixelCentres(imageGeometry({ width: w0, height: h0 }, { width: W, height: H }, mode));
}

/**
 * The ground truth as a binary mask [H·W] at the model's input size. `original` is the source
 * image's size (for .npy inputs: the tensor's own size).
 */
export async function rasteriseGroundTruth(
  gt: GroundTruth,
  original: { width: number; height: number },
  size: [number, number],
  mode: ResizeMode,
): Promise<Uint8Array> {
  const [H, W] = size;
  const out = new Uint8Array(H * W);
  if (gt.kind === 'bbox') {
    const { sx, sy } = sourceCoordinates(original.width, original.height, W, H, mode);
    for (const [x0, y0, x1, y1] of gt.boxes ?? []) {
      for (let y = 0; y < H; y++) {
        if (sy[y] < y0 || sy[y] >= y1) continue;
        for (let x = 0; x < W; x++) if (sx[x] >= x0 && sx[x] < x1) out[y * W + x] = 1;
      }
    }
    return out;
  }
  const mask = await decodeImage(gt.maskFile!);
  // A mask drawn at another size than the image (e.g. already at model size) is stretched onto it.
  const { sx, sy } =
    mask.width === original.width && mask.height === original.height
      ? sourceCoordinates(mask.width, mask.height, W, H, mode)
      : sourceCoordinates(mask.width, mask.height, W, H, 'stretch');
  for (let y = 0; y < H; y++) {
    const my = Math.min(mask.height - 1, Math.max(0, Math.floor(sy[y])));
    for (let x = 0; x < W; x++) {
      const mx = Math.min(mask.width - 1, Math.max(0, Math.floor(sx[x])));
      const p = (my * mask.width + mx) * 3;
      out[y * W + x] = mask.data[p] || mask.data[p + 1] || mask.data[p + 2] ? 1 : 0;
    }
  }
  return out;
}
