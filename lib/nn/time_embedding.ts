/**
 * Sinusoidal timestep embedding: the Transformer's positional encoding (Vaswani et al. 2017,
 * "Attention Is All You Need", §3.5) applied to the diffusion step t, as in DDPM (Ho et al. 2020,
 * Appendix B: "diffusion time t is specified by adding the Transformer sinusoidal position
 * embedding into each residual block").
 *
 *   freq_i = 10000^(−2i/d),  i = 0 … d/2 − 1
 *   emb(t) = [sin(t·freq_0) … sin(t·freq_{d/2−1}), cos(t·freq_0) … cos(t·freq_{d/2−1})]
 *
 * (sin half first, then cos half — the layout of the DDPM reference code, so emb(0) = [0…, 1…].)
 */
import * as tf from "@tensorflow/tfjs";

/** The d/2 frequencies 10000^(−2i/d). */
export function sinusoidalFrequencies(dim: number, maxPeriod = 10000): Float32Array {
  if (dim % 2 !== 0 || dim < 2) {
    throw new Error(`sinusoidal embedding dim must be even, got ${dim}`);
  }
  const half = dim / 2;
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) freqs[i] = Math.pow(maxPeriod, (-2 * i) / dim);
  return freqs;
}

/** [B] timesteps → [B, dim] embedding (no trainable parameters). */
export function sinusoidalEmbedding(t: tf.Tensor1D, dim: number, maxPeriod = 10000): tf.Tensor2D {
  return tf.tidy(() => {
    const freqs = tf.tensor2d(sinusoidalFrequencies(dim, maxPeriod), [1, dim / 2]);
    const args = tf.mul(tf.reshape(tf.cast(t, "float32"), [-1, 1]), freqs); // [B, d/2]
    return tf.concat([tf.sin(args), tf.cos(args)], 1) as tf.Tensor2D;
  });
}
