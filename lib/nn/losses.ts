/**
 * Losses shared by model families. All take logits (numerically stable softplus forms).
 */
import * as tf from "@tensorflow/tfjs";

/** Binary cross-entropy with logits against a constant target: mean softplus(−z) for target 1,
 * mean softplus(z) for target 0. (−log σ(z) = softplus(−z).) */
export function bceWithLogits(logits: tf.Tensor, target: 0 | 1): tf.Scalar {
  return tf.mean(tf.softplus(target === 1 ? tf.neg(logits) : logits));
}

/** GAN discriminator loss (Goodfellow et al. 2014, eq. 1): −log D(x) − log(1 − D(G(z))). */
export function discriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.add(bceWithLogits(realLogits, 1), bceWithLogits(fakeLogits, 0));
}

/** Non-saturating generator loss (Goodfellow et al. 2014, §3): maximize log D(G(z)) instead of
 * minimizing log(1 − D(G(z))), whose gradient vanishes early in training when D wins. */
export function nonSaturatingGeneratorLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return bceWithLogits(fakeLogits, 1);
}
