/**
 * The Gaussian pieces every autoencoder-family model shares (seed 002 §3, seed 004 problem 1):
 * the reparameterization trick, the closed-form KL to N(0, I), log-densities for importance
 * weights, and latent interpolation (linear and spherical).
 */
import * as tf from "@tensorflow/tfjs";
import { normalLogPdf } from "../../metrics/likelihood.ts";

/**
 * Reparameterization (Kingma & Welling 2014, §2.4): z = μ + σ ⊙ ε with ε ~ N(0, I), so the sample
 * is a differentiable function of (μ, log σ²) and gradients flow through it. `eps` has the shape
 * of μ, or a leading sample axis ([S, ...μ.shape]) for S samples per input.
 */
export function reparameterize(mean: tf.Tensor, logVar: tf.Tensor, eps: tf.Tensor): tf.Tensor {
  return tf.tidy(() => eps.mul(tf.exp(logVar.mul(0.5))).add(mean));
}

/**
 * KL(N(μ, diag σ²) ‖ N(0, I)) per example, summed over the latent axis (Kingma & Welling 2014,
 * appendix B; seed 004 problem 1-2): −½ Σⱼ (1 + log σⱼ² − μⱼ² − σⱼ²). Input [N, d] → [N].
 */
export function gaussianKlToStandard(mean: tf.Tensor2D, logVar: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => klPerDimension(mean, logVar).sum(1) as tf.Tensor1D);
}

/** The same KL, per example and latent dimension ([N, d]): which dimensions carry information
 * (dimensions with KL ≈ 0 are "collapsed": the posterior equals the prior there). */
export function klPerDimension(mean: tf.Tensor2D, logVar: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() =>
    tf.add(1, logVar).sub(mean.square()).sub(tf.exp(logVar)).mul(-0.5) as tf.Tensor2D
  );
}

/** log N(z; 0, I) summed over the last axis. */
export function standardNormalLogPdf(z: tf.Tensor): tf.Tensor {
  return tf.tidy(() => z.square().add(Math.log(2 * Math.PI)).sum(-1).mul(-0.5));
}

/** log N(z; μ, diag exp(logVar)) summed over the last axis (broadcasts a leading sample axis). */
export function diagonalNormalLogPdf(z: tf.Tensor, mean: tf.Tensor, logVar: tf.Tensor): tf.Tensor {
  return tf.tidy(() => normalLogPdf(z, mean, logVar).sum(-1));
}

// ---------------------------------------------------------------------------------------------
// interpolation in latent space

/** Linear interpolation between rows a and b: steps points (1 − t)a + tb, t ∈ [0, 1]. [steps, d]. */
export function lerpLatents(a: tf.Tensor1D, b: tf.Tensor1D, steps: number): tf.Tensor2D {
  return tf.tidy(() => {
    const t = tf.linspace(0, 1, steps).reshape([steps, 1]);
    return a.reshape([1, -1]).mul(tf.sub(1, t)).add(b.reshape([1, -1]).mul(t)) as tf.Tensor2D;
  });
}

/**
 * Spherical interpolation (Shoemake 1985; White 2016 "Sampling generative networks"): follows
 * the great circle between a and b, so the norm stays near the prior's typical radius √d where
 * a straight line through the origin's neighbourhood would pass through low-density short
 * vectors: slerp(t) = sin((1−t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b, cos Ω = â·b̂.
 * Falls back to the linear path when a and b are (anti)parallel.
 */
export function slerpLatents(a: tf.Tensor1D, b: tf.Tensor1D, steps: number): tf.Tensor2D {
  const av = a.dataSync(), bv = b.dataSync();
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < av.length; i++) {
    dot += av[i] * bv[i];
    na += av[i] * av[i];
    nb += bv[i] * bv[i];
  }
  const cos = Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb)));
  const omega = Math.acos(cos);
  if (Math.sin(omega) < 1e-6) return lerpLatents(a, b, steps);
  const out = new Float32Array(steps * av.length);
  for (let s = 0; s < steps; s++) {
    const t = steps === 1 ? 0 : s / (steps - 1);
    const wa = Math.sin((1 - t) * omega) / Math.sin(omega);
    const wb = Math.sin(t * omega) / Math.sin(omega);
    for (let i = 0; i < av.length; i++) out[s * av.length + i] = wa * av[i] + wb * bv[i];
  }
  return tf.tensor2d(out, [steps, av.length]);
}
