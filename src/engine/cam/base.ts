// The plumbing every CAM method shares, after pytorch-grad-cam's BaseCAM: validate A (and G),
// get the method's per-channel weights from its small `weights()` hook, form
// lowres = Σ_c w_c·A_c (or, for element-wise methods, Σ_c f(A, G) per position), optionally
// replace the channel sum by the first principal component (eigen_smooth), then the shared map
// pipeline (postprocess.ts). A method file says only how its weights (or its element-wise term,
// or its whole map) are computed.
import { CamLensError } from '../errors';
import type { ExplainParams, LayerCamMethod } from '../explainTypes';
import type { RgbImage } from '../image/decode';
import { firstComponentProjection } from './eigen';
import type { KpcaKernel } from './kernelPca';
import { aggregateLayers, finalCam, reluMaps, type Size } from './postprocess';
import { checkTensor, sameShape, type ConceptFactorization, type FeatureMaps, type Maps } from './tensor';

/** What a method reads. Scores come from the runtime for the methods that need model runs. */
export interface CamInput {
  /** The target layer's activations as [N, C, h, w] (see layout.ts for other layouts). */
  activations: FeatureMaps;
  /** d score / d activations, same shape; required when the method's `needsGradients`. */
  gradients?: FeatureMaps;
  /** H·A: the Hessian of the score at the layer times the activations, same shape (second-order methods: ShapleyCAM). */
  hessianVectorProducts?: FeatureMaps;
  /**
   * [N, C] target scores, one per channel: ScoreCAM's scores of the masked inputs, AblationCAM's
   * scores with that channel ablated (see scorecam.ts / ablationcam.ts for how to produce them).
   */
  channelScores?: Float32Array;
  /** [N] unablated target scores (AblationCAM). */
  baseScores?: Float32Array;
  /**
   * [C] the bias the layer's op adds per channel (FullGrad's layers are the graph's biases); absent
   * for FullGrad's input term, whose map is |input · gradient|.
   */
  bias?: Float32Array;
  /** The picture the model saw (RGB at the input size), for the methods whose registry entry `readsPicture`. */
  picture?: RgbImage;
  /** DFF: the layer's concepts and, per concept, the target class's softmax probability under the head. */
  concepts?: { factorization: ConceptFactorization; classProbs: ArrayLike<number> };
}

export interface CamOptions {
  /** Replace the channel sum by the first principal component of the weighted activations. */
  eigenSmooth?: boolean;
  /** KPCA-CAM: the kernel (default sigmoid) and how many components are summed (default 1). */
  kernel?: KpcaKernel;
  components?: number;
}

/** The options a request gives `lowres` (explain and the stacked batch read them the same way). */
export const camOptionsOf = (params: Pick<ExplainParams, 'eigenSmooth' | 'kernel' | 'components'>): CamOptions => ({
  eigenSmooth: params.eigenSmooth,
  kernel: params.kernel,
  components: params.components,
});

export interface CamLowres {
  /** The map at layer resolution before ReLU and normalisation, [N, h, w]. */
  lowres: Maps;
  /** [N, C] channel weights, for the methods that have them. */
  weights?: Float32Array;
}

export interface CamResult extends CamLowres {
  /** relu(lowres): the CLI's `cam_raw`. */
  raw: Maps;
  /** The final map, [N, H, W] in [0, 1]. */
  cam: Maps;
}

/** Every layer's contribution made into one map: the final one and the raw one the CLI saves as `cam_raw`. */
export interface CombinedMaps {
  /** [N, H, W] in [0, 1]. */
  final: Maps;
  raw: Maps;
}

/** Per (image, channel) reducer: `a` and `g` are the NCHW arrays, `o` the plane's offset. */
export type ChannelReducer = (a: Float32Array, g: Float32Array | undefined, o: number, hw: number) => number;

export abstract class BaseCam {
  abstract readonly id: LayerCamMethod;
  /** pytorch-grad-cam's class name (and the fixtures' `<M>`). */
  abstract readonly referenceName: string;
  abstract readonly needsGradients: boolean;

  /**
   * Channel weights [N, C]. Methods whose map is not a weighted channel sum leave this as is
   * and override `elementTerm` or `camImage`.
   */
  weights(_input: CamInput): Float32Array | undefined {
    return undefined;
  }

  /** The per-position, per-channel term summed over channels by element-wise methods. */
  protected elementTerm(_a: number, _g: number): number {
    throw new Error(`${this.referenceName} defines neither weights() nor elementTerm()`);
  }

  /** Runs `reduce` over every (image, channel) plane: the building block of `weights()`. */
  protected perChannel(input: CamInput, reduce: ChannelReducer): Float32Array {
    const [n, c, h, w] = input.activations.shape;
    const hw = h * w;
    const out = new Float32Array(n * c);
    const a = input.activations.data;
    const g = input.gradients?.data;
    for (let i = 0; i < n * c; i++) out[i] = reduce(a, g, i * hw, hw);
    return out;
  }

  /** The [N·h·w] map before ReLU (pytorch-grad-cam's `get_cam_image`). */
  protected camImage(input: CamInput, weights: Float32Array | undefined, options: CamOptions): Float32Array {
    const [n, c, h, w] = input.activations.shape;
    const hw = h * w;
    const a = input.activations.data;
    const g = input.gradients?.data;
    const out = new Float32Array(n * hw);
    if (options.eigenSmooth) {
      const terms = new Float32Array(a.length);
      if (weights) {
        for (let i = 0; i < n * c; i++) {
          const wi = weights[i];
          for (let p = i * hw, end = p + hw; p < end; p++) terms[p] = wi * a[p];
        }
      } else {
        for (let p = 0; p < a.length; p++) terms[p] = this.elementTerm(a[p], g ? g[p] : 0);
      }
      for (let b = 0; b < n; b++) firstComponentProjection(terms, b * c * hw, c, hw, out, b * hw);
      return out;
    }
    const acc = new Float64Array(hw);
    for (let b = 0; b < n; b++) {
      acc.fill(0);
      if (weights) {
        weightedChannelSum(a, weights, b, c, hw, acc);
      } else {
        for (let ch = 0; ch < c; ch++) {
          const o = (b * c + ch) * hw;
          for (let p = 0; p < hw; p++) acc[p] += this.elementTerm(a[o + p], g ? g[o + p] : 0);
        }
      }
      for (let p = 0; p < hw; p++) out[b * hw + p] = acc[p];
    }
    return out;
  }

  protected validate(input: CamInput): void {
    checkTensor(input.activations, 4, 'activations');
    if (this.needsGradients) {
      if (!input.gradients) {
        throw new CamLensError(
          'BAD_ARGUMENT',
          `${this.referenceName} needs the gradient of the target score at the layer; ` + 'use eigencam, scorecam or ablationcam for a model without gradients',
        );
      }
      checkTensor(input.gradients, 4, 'gradients');
      if (!sameShape(input.gradients.shape, input.activations.shape)) {
        throw new CamLensError(
          'BAD_ARGUMENT',
          `gradients have shape [${input.gradients.shape.join(', ')}] but activations ` + `[${input.activations.shape.join(', ')}]; they must be the same`,
        );
      }
    }
  }

  /** Weights and the map at layer resolution. */
  lowres(input: CamInput, options: CamOptions = {}): CamLowres {
    this.validate(input);
    const [n, , h, w] = input.activations.shape;
    const weights = this.weights(input);
    const data = this.camImage(input, weights, options);
    return { lowres: { data, shape: [n, h, w] }, ...(weights ? { weights } : {}) };
  }

  /**
   * The layers' maps (lowres, each [N, h_i, w_i]) into the final [N, H, W] map: pytorch-grad-cam's
   * `aggregate_multi_layers` (mean of the per-layer final maps), and the first layer's relu'd map
   * as the raw one. Methods that combine layers otherwise (RefineCAM, FullGrad) override it.
   */
  combine(lowres: readonly Maps[], size: Size): CombinedMaps {
    return { final: aggregateLayers(lowres, size), raw: reluMaps(lowres[0]) };
  }

  /**
   * Whether one layer's final map is its raw map upsampled (cam/layerMap.ts: layerMapAt): true
   * unless the method combines layers its own way.
   */
  get finalIsLayerMap(): boolean {
    return this.combine === BaseCam.prototype.combine;
  }

  /** Everything: weights, lowres, relu'd lowres and the final map at `size` = [H, W]. */
  compute(input: CamInput, size: Size, options: CamOptions = {}): CamResult {
    const low = this.lowres(input, options);
    return { ...low, raw: reluMaps(low.lowres), cam: finalCam(low.lowres, size) };
  }
}

/**
 * acc[p] += Σ_ch weights[b, ch] · a[b, ch, p]: the weighted sum of image b's channel planes,
 * four channels per pass over acc (ResNet-50's 2048×7×7 layer: 0.36 ms against 0.62 ms one
 * channel at a time; this runs on every explanation).
 */
function weightedChannelSum(a: Float32Array, weights: Float32Array, b: number, c: number, hw: number, acc: Float64Array): void {
  let ch = 0;
  for (; ch + 4 <= c; ch += 4) {
    const o = (b * c + ch) * hw;
    const w0 = weights[b * c + ch],
      w1 = weights[b * c + ch + 1],
      w2 = weights[b * c + ch + 2],
      w3 = weights[b * c + ch + 3];
    if (w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0) continue;
    for (let p = 0; p < hw; p++) acc[p] += w0 * a[o + p] + w1 * a[o + hw + p] + w2 * a[o + 2 * hw + p] + w3 * a[o + 3 * hw + p];
  }
  for (; ch < c; ch++) {
    const wi = weights[b * c + ch];
    if (wi === 0) continue;
    const o = (b * c + ch) * hw;
    for (let p = 0; p < hw; p++) acc[p] += wi * a[o + p];
  }
}
