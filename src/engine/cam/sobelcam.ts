// SobelCAM: pytorch-grad-cam's `sobel_cam`, the edge strength of the picture itself (no model
// internals): a baseline that shows what a map looks like when it only follows edges. OpenCV's
// uint8 pipeline step by step, so the values are the same integers: gray = RGB2GRAY (OpenCV 4's
// 15-bit fixed point; the 14-bit one of its scalar path differs by 1 on 0.3% of colours), 3×3 Sobel in x and y (border: reflect-101), |·| saturated to 255
// (convertScaleAbs), then their average rounded half to even (addWeighted 0.5, 0.5).
import { CamLensError } from '../errors';
import type { RgbImage } from '../image/decode';
import { BaseCam, type CamInput, type CamLowres } from './base';

/** OpenCV's RGB→gray weights 0.299, 0.587, 0.114 in 15-bit fixed point. */
const R2Y = 9798;
const G2Y = 19235;
const B2Y = 3735;

function gray(picture: RgbImage): Int32Array {
  const { data, width, height } = picture;
  const channels = data.length / (width * height);
  const out = new Int32Array(width * height);
  for (let p = 0; p < out.length; p++) {
    const o = p * channels;
    out[p] = (data[o] * R2Y + data[o + 1] * G2Y + data[o + 2] * B2Y + (1 << 14)) >> 15;
  }
  return out;
}

/** Reflect-101 index: -1 → 1, n → n - 2 (a one-pixel-wide image stays at 0). */
const reflect = (i: number, n: number): number => (n === 1 ? 0 : i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);

const roundHalfEven = (v: number): number => {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** The [H·W] edge map of the picture, values 0‥255 as pytorch-grad-cam's uint8 result. */
export function sobelMap(picture: RgbImage): Float32Array {
  const { width: w, height: h } = picture;
  const g = gray(picture);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const up = reflect(y - 1, h) * w;
    const mid = y * w;
    const down = reflect(y + 1, h) * w;
    for (let x = 0; x < w; x++) {
      const l = reflect(x - 1, w);
      const r = reflect(x + 1, w);
      const dx = g[up + r] - g[up + l] + 2 * (g[mid + r] - g[mid + l]) + g[down + r] - g[down + l];
      const dy = g[down + l] - g[up + l] + 2 * (g[down + x] - g[up + x]) + g[down + r] - g[up + r];
      out[mid + x] = roundHalfEven(0.5 * Math.min(Math.abs(dx), 255) + 0.5 * Math.min(Math.abs(dy), 255));
    }
  }
  return out;
}

export class SobelCam extends BaseCam {
  readonly id = 'sobelcam';
  readonly referenceName = 'sobel_cam';
  readonly needsGradients = false;

  /** The map at the picture's resolution (the model input's), whatever the layer. */
  override lowres(input: CamInput): CamLowres {
    const picture = input.picture;
    if (!picture) throw new CamLensError('BAD_ARGUMENT', 'SobelCAM reads the picture the model saw; none was given (video and multi-scale runs have none).');
    return { lowres: { data: sobelMap(picture), shape: [1, picture.height, picture.width] } };
  }
}
