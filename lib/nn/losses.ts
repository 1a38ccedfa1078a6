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

/** Minimax (saturating) generator loss, the G half of eq. 1 taken literally: minimize
 * log(1 − D(G(z))) = −softplus(z). Its gradient w.r.t. the logit is −σ(z), which vanishes where
 * D confidently rejects the fakes (D(G(z)) ≈ 0) — the reason for the non-saturating loss. */
export function minimaxGeneratorLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(tf.softplus(fakeLogits)));
}

/** LSGAN discriminator loss (Mao et al. 2017, eq. 9 with a = 0, b = 1):
 * ½·E[(D(x) − 1)²] + ½·E[D(G(z))²] on the raw (unsquashed) outputs. */
export function lsganDiscriminatorLoss(realOut: tf.Tensor, fakeOut: tf.Tensor): tf.Scalar {
  return tf.add(
    tf.mul(0.5, tf.mean(tf.square(tf.sub(realOut, 1)))),
    tf.mul(0.5, tf.mean(tf.square(fakeOut))),
  );
}

/** LSGAN generator loss (Mao et al. 2017, eq. 9 with c = 1): ½·E[(D(G(z)) − 1)²]. */
export function lsganGeneratorLoss(fakeOut: tf.Tensor): tf.Scalar {
  return tf.mul(0.5, tf.mean(tf.square(tf.sub(fakeOut, 1))));
}

/** Hinge discriminator loss (Lim & Ye 2017; Miyato et al. 2018, eq. 16):
 * E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]. */
export function hingeDiscriminatorLoss(realOut: tf.Tensor, fakeOut: tf.Tensor): tf.Scalar {
  return tf.add(
    tf.mean(tf.relu(tf.sub(1, realOut))),
    tf.mean(tf.relu(tf.add(1, fakeOut))),
  );
}

/** Hinge generator loss: −E[D(G(z))] (the same as WGAN's generator loss). */
export function hingeGeneratorLoss(fakeOut: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(fakeOut));
}

/** WGAN critic loss (Arjovsky et al. 2017, Algorithm 1): minimize E[f(G(z))] − E[f(x)], the
 * negative of the Kantorovich–Rubinstein estimate of W₁(p_data, p_G). */
export function wassersteinCriticLoss(realOut: tf.Tensor, fakeOut: tf.Tensor): tf.Scalar {
  return tf.sub(tf.mean(fakeOut), tf.mean(realOut));
}

/** WGAN generator loss: −E[f(G(z))]. */
export function wassersteinGeneratorLoss(fakeOut: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(fakeOut));
}

/** WGAN-GP's gradient penalty (Gulrajani et al. 2017, eq. 3): E[(‖∇ₓ̂ f(x̂)‖₂ − 1)²] at
 * x̂ = εx + (1 − ε)x̃, ε ~ U[0, 1] per sample. `critic` must be differentiable w.r.t. its input;
 * the penalty is itself differentiated w.r.t. the critic's weights (a gradient of a gradient).
 * `epsilon` has shape [N] (drawn by the caller, so steps stay seeded). */
export function gradientPenalty(
  critic: (x: tf.Tensor) => tf.Tensor,
  real: tf.Tensor,
  fake: tf.Tensor,
  epsilon: tf.Tensor1D,
): tf.Scalar {
  const n = real.shape[0];
  const eps = tf.reshape(epsilon, [n, ...real.shape.slice(1).map(() => 1)]);
  const interpolates = tf.add(tf.mul(eps, real), tf.mul(tf.sub(1, eps), fake));
  const gradient = tf.grad((x: tf.Tensor) => tf.sum(critic(x)))(interpolates);
  const axes = gradient.shape.slice(1).map((_, i) => i + 1);
  // sqrt(·+1e-12): the norm's own gradient is finite even where ∇f = 0.
  const norm = tf.sqrt(tf.add(tf.sum(tf.square(gradient), axes), 1e-12));
  return tf.mean(tf.square(tf.sub(norm, 1)));
}
