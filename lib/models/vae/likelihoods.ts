/**
 * Decoder likelihoods p(x | z) for the autoencoder family, one per kind of data:
 *
 *   bernoulli  binarized images x ∈ {0,1} (dataSpec.range "binary"): one logit per pixel;
 *              −log p = softplus(ℓ) − xℓ. Gives the binarized-MNIST nats of the literature.
 *   logistic   8-bit images on [-1,1]: discretized logistic (PixelCNN++ with one component),
 *              two parameters per pixel (mean, log scale); a discrete likelihood, so its NLL is
 *              directly −log P(bytes).
 *   gaussian   8-bit images on [-1,1]: a Gaussian density with a per-pixel mean and log-variance,
 *              trained on uniformly dequantized data; its NLL converts to a discrete bound by
 *              adding D·log(256/2) (lib/metrics/likelihood.ts, discreteNllFromContinuous).
 *
 * The decoder network outputs `paramsPerPixel` numbers per pixel; these functions read them.
 */
import * as tf from "@tensorflow/tfjs";
import {
  bernoulliNll,
  discretizedLogisticLogProb,
  normalLogPdf,
} from "../../metrics/likelihood.ts";
import type { DataSpec } from "../types.ts";

export type LikelihoodName = "bernoulli" | "logistic" | "gaussian";

export interface PixelLikelihood {
  readonly name: LikelihoodName;
  /** Decoder outputs per pixel. */
  readonly paramsPerPixel: number;
  /** The data range this likelihood is defined on. */
  readonly range: DataSpec["range"];
  /** Data as the likelihood sees it (gaussian: uniformly dequantized with `seed`). */
  prepare(x: tf.Tensor4D, seed: number): tf.Tensor4D;
  /** log p(x | params), summed over the last three (H, W, C) axes. params: [..., H, W,
   * C·paramsPerPixel]; leading axes broadcast against x's (e.g. x [1, N, H, W, C] against
   * params [S, N, H, W, 2C] for S importance samples, without tiling x). */
  logProb(x: tf.Tensor, params: tf.Tensor): tf.Tensor;
  /** The decoder's mean image in [-1, 1] (what grids show). */
  mean(params: tf.Tensor4D): tf.Tensor4D;
  /** Nats to add to a (continuous) NLL to get the discrete one: gaussian D·log 128, else 0. */
  discreteOffset(dims: number): number;
}

function splitParams<T extends tf.Tensor>(params: T): [T, T] {
  const c = params.shape[params.rank - 1] / 2;
  return tf.split(params, [c, c], -1) as [T, T];
}

/** Sum over the last three axes (H, W, C): per-image totals with any leading axes. */
function sumImage(t: tf.Tensor): tf.Tensor {
  return t.sum([-3, -2, -1]);
}

const bernoulli: PixelLikelihood = {
  name: "bernoulli",
  paramsPerPixel: 1,
  range: "binary",
  prepare: (x) => x.clone(),
  logProb: (x, logits) => tf.tidy(() => sumImage(bernoulliNll(x, logits)).neg()),
  mean: (logits) => tf.tidy(() => tf.sigmoid(logits).mul(2).sub(1) as tf.Tensor4D),
  discreteOffset: () => 0,
};

const logistic: PixelLikelihood = {
  name: "logistic",
  paramsPerPixel: 2,
  range: "[-1,1]",
  prepare: (x) => x.clone(),
  logProb: (x, params) =>
    tf.tidy(() => {
      const [mean, logScale] = splitParams(params);
      // tf.where does not broadcast: give x the parameters' shape first (a cheap broadcast add).
      const xFull = x.add(tf.zerosLike(mean));
      return sumImage(discretizedLogisticLogProb(xFull, mean, logScale.clipByValue(-7, 5)));
    }),
  mean: (params) => tf.tidy(() => splitParams(params)[0].clipByValue(-1, 1) as tf.Tensor4D),
  discreteOffset: () => 0,
};

const gaussian: PixelLikelihood = {
  name: "gaussian",
  paramsPerPixel: 2,
  range: "[-1,1]",
  // Bytes k = (x + 1)·127.5 → x' = −1 + (k + u)/128, u ~ U[0,1): the dequantization of
  // lib/metrics/likelihood.ts on [-1,1] (bins of width 2/256).
  prepare: (x, seed) =>
    tf.tidy(() => {
      const k = x.add(1).mul(127.5).round();
      const u = tf.randomUniform(x.shape, 0, 1, "float32", seed);
      return k.add(u).div(128).sub(1) as tf.Tensor4D;
    }),
  logProb: (x, params) =>
    tf.tidy(() => {
      const [mean, logVar] = splitParams(params);
      return sumImage(normalLogPdf(x, mean, logVar.clipByValue(-12, 4)));
    }),
  mean: (params) => tf.tidy(() => splitParams(params)[0].clipByValue(-1, 1) as tf.Tensor4D),
  discreteOffset: (dims) => dims * Math.log(128),
};

export const LIKELIHOODS: Record<LikelihoodName, PixelLikelihood> = {
  bernoulli,
  logistic,
  gaussian,
};
