/**
 * Spatial self-attention for feature maps (the DDPM U-Net's attention block at 16×16 — here at
 * 7×7; Ho et al. 2020, Appendix B, after Wang et al. 2018 non-local blocks):
 *
 *   h = GN(x);  q, k, v = h·W_q, h·W_k, h·W_v   (1×1 convs = matmuls over the H·W positions)
 *   out = x + softmax(q kᵀ / √d) v · W_o
 *
 * Scaled dot-product attention is "Attention Is All You Need" (Vaswani et al. 2017) §3.2.1.
 * Every position attends to every other, with no positional term, so the block is equivariant
 * to any permutation of the spatial positions.
 */
import * as tf from "@tensorflow/tfjs";
import { GroupNorm, type ParamScope } from "./blocks.ts";

/** softmax(q kᵀ / √d) v over the last two axes: q [..., N, d], k [..., M, d], v [..., M, e]. */
export function scaledDotProductAttention<T extends tf.Tensor>(q: T, k: T, v: T): T {
  return tf.tidy(() => {
    const d = q.shape[q.rank - 1];
    const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d));
    return tf.matMul(tf.softmax(scores, -1), v) as T;
  });
}

/** Multi-head self-attention over the H·W positions of an NHWC map, with a residual. */
export class SelfAttention2d {
  readonly norm: GroupNorm;
  readonly qkvKernel: tf.Variable;
  readonly qkvBias: tf.Variable;
  readonly outKernel: tf.Variable;
  readonly outBias: tf.Variable;

  constructor(
    p: ParamScope,
    readonly channels: number,
    groups: number,
    readonly heads = 1,
  ) {
    if (channels % heads !== 0) {
      throw new Error(`attention: ${channels} channels not divisible by ${heads} heads`);
    }
    this.norm = new GroupNorm(p.child("norm"), channels, groups);
    this.qkvKernel = p.glorot("qkv/kernel", [channels, 3 * channels]);
    this.qkvBias = p.zeros("qkv/bias", [3 * channels]);
    this.outKernel = p.glorot("out/kernel", [channels, channels]);
    this.outBias = p.zeros("out/bias", [channels]);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const n = h * w, heads = this.heads, d = c / heads;
      const flat = tf.reshape(this.norm.apply(x), [b * n, c]);
      const qkv = tf.add(tf.matMul(flat, this.qkvKernel as tf.Tensor2D), this.qkvBias);
      // [B·N, 3C] → three [B, heads, N, d]
      const toHeads = (t: tf.Tensor) =>
        tf.transpose(tf.reshape(t, [b, n, heads, d]), [0, 2, 1, 3]) as tf.Tensor4D;
      const [q, k, v] = tf.split(qkv, 3, 1).map(toHeads);
      const attended = scaledDotProductAttention(q, k, v); // [B, heads, N, d]
      const merged = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [b * n, c]);
      const out = tf.add(tf.matMul(merged, this.outKernel as tf.Tensor2D), this.outBias);
      return tf.add(x, tf.reshape(out, [b, h, w, c]));
    });
  }
}
