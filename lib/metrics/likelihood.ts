/**
 * Likelihood bookkeeping for the likelihood-based models (VAE, autoregressive, flows, diffusion).
 *
 * Units. An NLL is reported per image in nats; bits/dim = nats / (D · ln 2), D = H·W·C.
 *
 * 8-bit data and continuous densities (RealNVP, Glow, PixelCNN++ papers). A pixel k ∈ {0..255}
 * is a bin [k, k+1) on the byte scale. A model with a continuous density p on data scaled to an
 * interval of width w (w = 1 for [0,1], 2 for [-1,1], 256 for the raw byte scale), trained on
 * uniformly dequantized data x = a + w(k + u)/256, u ~ U[0,1)^D, gives the discrete model
 * P(k) = ∫_bin p_bytes, whose NLL is bounded by (Jensen; equality for a density constant on bins)
 *
 *   −log P(k) ≤ E_u[ −log p(x) ] + D · log(256 / w)       (nats),
 *
 * because the change of variables from the model's scale to the byte scale has Jacobian (w/256)^D.
 * So on [0,1]: bits/dim = (nll + D ln 256) / (D ln 2) = nll/(D ln 2) + 8; on [-1,1]: … + 7.
 * Example: the uniform density on [0,1]^D has nll = 0 → exactly 8 bits/dim, as a uniform
 * distribution over 256 values must.
 *
 * Discrete models (PixelCNN's 256-way softmax, discretized logistic / Gaussian) give −log P(k)
 * directly: no Jacobian term. Binarized data: Bernoulli likelihood, nats per image (the MNIST
 * literature reports these in nats, e.g. PixelCNN 81.3, VAE IWAE-5000 ≈ 86.8 on binarized MNIST).
 *
 * IWAE: log p(x) ≥ log (1/k) Σᵢ p(x, zᵢ) / q(zᵢ|x), zᵢ ~ q — computed with log-mean-exp.
 */
import * as tf from "@tensorflow/tfjs";

export const LN2 = Math.LN2;

/** The value range a model's data lives in, and its width w. */
export type DataRange = "[0,1]" | "[-1,1]" | "[0,255]";
export function rangeWidth(range: DataRange): number {
  return range === "[0,1]" ? 1 : range === "[-1,1]" ? 2 : 256;
}

/** nats per image → bits per dimension. */
export function bitsPerDim(natsPerImage: number, dims: number): number {
  return natsPerImage / (dims * LN2);
}

/** bits per dimension → nats per image. */
export function natsFromBitsPerDim(bits: number, dims: number): number {
  return bits * dims * LN2;
}

/**
 * Discrete 8-bit NLL (nats per image, an upper bound) from a continuous model's NLL of uniformly
 * dequantized data on `range`: nll + D·log(256/w). Average over dequantization noise first.
 */
export function discreteNllFromContinuous(
  continuousNll: number,
  dims: number,
  range: DataRange,
): number {
  return continuousNll + dims * Math.log(256 / rangeWidth(range));
}

/** Same, straight to bits/dim: nll/(D ln 2) + log2(256/w). */
export function bitsPerDimFromContinuous(
  continuousNll: number,
  dims: number,
  range: DataRange,
): number {
  return bitsPerDim(discreteNllFromContinuous(continuousNll, dims, range), dims);
}

/**
 * Uniform dequantization: bytes k (any numeric tensor with values 0..255) → x = a + w(k + u)/256
 * on `range`, u ~ U[0,1) drawn with `seed`.
 */
export function dequantize<T extends tf.Tensor>(
  bytes: T,
  seed: number,
  range: DataRange = "[0,1]",
): T {
  return tf.tidy(() => {
    const w = rangeWidth(range);
    const lo = range === "[-1,1]" ? -1 : 0;
    const u = tf.randomUniform(bytes.shape, 0, 1, "float32", seed);
    return bytes.toFloat().add(u).mul(w / 256).add(lo) as T;
  });
}

/** Sum over every axis but the first: per-example totals, shape [N]. */
export function sumPerExample(t: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => t.reshape([t.shape[0], -1]).sum(1) as tf.Tensor1D);
}

/**
 * log P(k) of a discretized logistic (PixelCNN++ with one component) for 8-bit data scaled to
 * [-1,1] (x = k/127.5 − 1, bins of width 2/255): log[σ((x+1/255−μ)/s) − σ((x−1/255−μ)/s)],
 * with the first and last bins extended to ∓∞ so the 256 probabilities sum to 1. Elementwise.
 */
export function discretizedLogisticLogProb(
  x: tf.Tensor,
  mean: tf.Tensor,
  logScale: tf.Tensor,
): tf.Tensor {
  return tf.tidy(() => {
    const invS = tf.exp(tf.neg(logScale));
    const centered = x.sub(mean);
    const plusIn = centered.add(1 / 255).mul(invS);
    const minIn = centered.sub(1 / 255).mul(invS);
    const logCdfPlus = tf.neg(tf.softplus(tf.neg(plusIn))); // log σ(plus)
    const logOneMinusCdfMin = tf.neg(tf.softplus(minIn)); // log(1 − σ(min))
    // Stable: σ(a) − σ(b) = σ(a)·σ(−b)·(1 − e^{b−a}) for a > b.
    const logMid = logCdfPlus.add(tf.neg(tf.softplus(minIn))).add(
      tf.log1p(tf.neg(tf.exp(minIn.sub(plusIn)))),
    );
    const isFirst = x.less(-0.999);
    const isLast = x.greater(0.999);
    return tf.where(isFirst, logCdfPlus, tf.where(isLast, logOneMinusCdfMin, logMid));
  });
}

/** −log P(x) for binary data x ∈ {0,1} under independent Bernoullis with the given logits,
 * elementwise (nats): softplus(ℓ) − xℓ. Sum per image with sumPerExample. */
export function bernoulliNll(x: tf.Tensor, logits: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.softplus(logits).sub(x.mul(logits)));
}

/** log N(x; μ, exp(logVar)), elementwise. */
export function normalLogPdf(
  x: tf.Tensor,
  mean: tf.Tensor | number,
  logVar: tf.Tensor | number,
): tf.Tensor {
  return tf.tidy(() => {
    const lv = typeof logVar === "number" ? tf.scalar(logVar) : logVar;
    const diff = x.sub(mean);
    return diff.square().mul(tf.exp(tf.neg(lv))).add(lv).add(Math.log(2 * Math.PI)).mul(-0.5);
  });
}

/** log Σ exp(v), stable, in float64. */
export function logSumExp(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  if (max === -Infinity) return -Infinity;
  if (max === Infinity) return Infinity;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += Math.exp(values[i] - max);
  return max + Math.log(s);
}

/** log mean exp(v) = logSumExp(v) − log n. */
export function logMeanExp(values: ArrayLike<number>): number {
  return logSumExp(values) - Math.log(values.length);
}

/** Tensor log-mean-exp along an axis (stable; tf.logSumExp subtracts the max). */
export function logMeanExpTensor(t: tf.Tensor, axis = 0): tf.Tensor {
  return tf.tidy(() =>
    tf.logSumExp(t, axis).sub(Math.log(t.shape[axis < 0 ? t.rank + axis : axis]))
  );
}

/**
 * IWAE bound from k importance samples: logJoint[i, b] = log p(x_b, z_i), logQ[i, b] =
 * log q(z_i | x_b), both [k, batch] → [batch] of log (1/k) Σᵢ p(x_b, zᵢ)/q(zᵢ|x_b) ≤ log p(x_b).
 * k = 1 is the ELBO; the bound tightens as k grows and is exact when q is the true posterior.
 */
export function iwaeBound(logJoint: tf.Tensor2D, logQ: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => logMeanExpTensor(logJoint.sub(logQ), 0) as tf.Tensor1D);
}

/** Streaming IWAE for many samples in chunks (k too big for one batch): accumulate per-example
 * log-weights chunk by chunk, then `result()` = log mean exp over all of them. */
export class LogMeanExpAccumulator {
  #max: Float64Array;
  #sum: Float64Array;
  #count = 0;

  constructor(readonly size: number) {
    this.#max = new Float64Array(size).fill(-Infinity);
    this.#sum = new Float64Array(size);
  }

  /** Add one log-weight per example (length = size). */
  add(logWeights: ArrayLike<number>): void {
    for (let b = 0; b < this.size; b++) {
      const v = logWeights[b];
      if (v === -Infinity) continue;
      if (v > this.#max[b]) {
        this.#sum[b] = this.#sum[b] * Math.exp(this.#max[b] - v) + 1;
        this.#max[b] = v;
      } else {
        this.#sum[b] += Math.exp(v - this.#max[b]);
      }
    }
    this.#count++;
  }

  /** Per-example log mean exp of everything added. */
  result(): Float64Array {
    const out = new Float64Array(this.size);
    for (let b = 0; b < this.size; b++) {
      out[b] = this.#max[b] + Math.log(this.#sum[b] / this.#count);
    }
    return out;
  }
}
