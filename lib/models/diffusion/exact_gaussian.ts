/**
 * The exact denoiser of a Gaussian data distribution N(m, Σ): a "network" with no training
 * error, so what a sampler produces with it is the sampler's own doing (notebooks, tests).
 *
 * With x_t = a·x_0 + s·ε (a = √ᾱ, s = √(1 − ᾱ)) and Σ = U Λ Uᵀ,
 *   E[ε | x_t] = s (a²Σ + s²I)⁻¹ (x_t − a m) = U diag(s / (a²λ_i + s²)) Uᵀ (x_t − a m),
 * exact at every t (the Gaussian case of Tweedie's formula). Fitted to Fashion-MNIST it samples
 * blurry garments: the best a Gaussian can do.
 */
import * as tf from "@tensorflow/tfjs";
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import type { DiffusionNet } from "./denoiser.ts";
import type { NoiseSchedule } from "./schedule.ts";

export interface GaussianFit {
  /** Mean image m, flattened: [D]. */
  mean: tf.Tensor1D;
  /** Eigenvectors of Σ as columns: [D, D]. */
  basis: tf.Tensor2D;
  /** Eigenvalues λ_i of Σ (≥ 0). */
  variances: Float64Array;
}

/** Fit N(m, Σ) to images [N, H, W, C] (sample mean and covariance; eigendecomposition in JS). */
export async function fitGaussian(images: tf.Tensor4D): Promise<GaussianFit> {
  const [n] = images.shape;
  const [mean, cov] = tf.tidy(() => {
    const flat = images.reshape([n, -1]) as tf.Tensor2D;
    const m = flat.mean(0) as tf.Tensor1D;
    const centred = tf.sub(flat, m);
    return [m, tf.div(tf.matMul(centred, centred, true, false), n - 1) as tf.Tensor2D];
  });
  const evd = new EigenvalueDecomposition(new Matrix(await cov.array()), { assumeSymmetric: true });
  cov.dispose();
  const basis = tf.tensor2d(evd.eigenvectorMatrix.to2DArray());
  const variances = Float64Array.from(evd.realEigenvalues, (v) => Math.max(v, 0));
  return { mean, basis, variances };
}

/** The ε-predicting net of N(m, Σ) under `schedule` (t may be fractional: Karras samplers). */
export function exactGaussianNet(fit: GaussianFit, schedule: NoiseSchedule): DiffusionNet {
  return (xt, t) =>
    tf.tidy(() => {
      const ab = schedule.alphaBarAt(t.dataSync()[0]);
      const a = Math.sqrt(ab), s = Math.sqrt(1 - ab);
      const gains = tf.tensor1d(Float32Array.from(fit.variances, (v) => s / (a * a * v + s * s)));
      const flat = tf.sub(xt.reshape([xt.shape[0], -1]), tf.mul(fit.mean, a)) as tf.Tensor2D;
      const inBasis = tf.mul(tf.matMul(flat, fit.basis), gains) as tf.Tensor2D;
      return tf.matMul(inBasis, fit.basis, false, true).reshape(xt.shape) as tf.Tensor4D;
    });
}

/** Exact samples of N(m, Σ) from standard normal z: m + U Λ^{1/2} z. */
export function sampleGaussian(fit: GaussianFit, z: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const scales = tf.tensor1d(Float32Array.from(fit.variances, Math.sqrt));
    const flat = tf.mul(z.reshape([z.shape[0], -1]), scales) as tf.Tensor2D;
    return tf.add(tf.matMul(flat, fit.basis, false, true), fit.mean).reshape(
      z.shape,
    ) as tf.Tensor4D;
  });
}

export function disposeGaussian(fit: GaussianFit): void {
  tf.dispose([fit.mean, fit.basis]);
}
