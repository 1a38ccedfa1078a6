/**
 * Invertible layers for normalizing flows (NHWC; 2-D points are [N, 1, 1, 2] tensors).
 *
 * Change of variables (Dinh et al. 2017, eq. 2–3): for an invertible z = f(x),
 *
 *   log p_X(x) = log p_Z(f(x)) + log |det ∂f/∂x|,
 *
 * and for a composition the log-dets add. Every layer returns its log|det J| per example, [N].
 *
 *   ActNorm         y = (x + b) ⊙ exp(s)                      log|det| = H·W·Σ_c s_c   (Glow §3.1)
 *   AffineCoupling  y = m⊙x + (1−m)⊙(x⊙exp(s(m⊙x)) + t(m⊙x))  log|det| = Σ (1−m)⊙s   (RealNVP eq. 9)
 *                   additive (NICE, Dinh et al. 2015 eq. 6): s ≡ 0, volume preserving
 *   Squeeze         [H, W, C] → [H/2, W/2, 4C] (a permutation) log|det| = 0          (RealNVP §3.6)
 *   logit preprocessing (RealNVP §4.1) in `logitTransform`.
 *
 * The mask m is a checkerboard over (H, W) or a split of the channels (RealNVP Fig. 3); the
 * scale/shift network sees only m⊙x, so the Jacobian is triangular and its log-det is a sum.
 */
import * as tf from "@tensorflow/tfjs";
import type { ParamScope } from "../../nn/blocks.ts";

export interface FlowLayer {
  readonly kind: string;
  /** x → (y, log|det ∂y/∂x| per example). */
  forward(x: tf.Tensor4D): { y: tf.Tensor4D; logDet: tf.Tensor1D };
  inverse(y: tf.Tensor4D): tf.Tensor4D;
  dispose?(): void;
}

// ---------------------------------------------------------------------------------------------
// masks

export type MaskKind = "checkerboard" | "channel";

/** m as [1, H, W, C]: checkerboard ((i + j + parity) even → 1) or channels (first half → 1,
 * swapped by parity). */
export function couplingMask(
  kind: MaskKind,
  height: number,
  width: number,
  channels: number,
  parity: 0 | 1,
): tf.Tensor4D {
  const values = new Float32Array(height * width * channels);
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      for (let c = 0; c < channels; c++) {
        const on = kind === "checkerboard"
          ? (i + j + parity) % 2 === 0
          : (c < channels / 2) === (parity === 0);
        values[(i * width + j) * channels + c] = on ? 1 : 0;
      }
    }
  }
  return tf.tensor4d(values, [1, height, width, channels]);
}

// ---------------------------------------------------------------------------------------------
// layers

/** Per-channel affine map with data-dependent init (zero mean, unit variance on a batch). */
export class ActNorm implements FlowLayer {
  readonly kind = "actnorm";
  readonly logScale: tf.Variable;
  readonly bias: tf.Variable;

  constructor(p: ParamScope, channels: number) {
    this.logScale = p.zeros("logScale", [channels]);
    this.bias = p.zeros("bias", [channels]);
  }

  /** Set b = −mean, s = −log std per channel from a batch (Glow §3.1). */
  initialize(x: tf.Tensor4D): void {
    tf.tidy(() => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      this.bias.assign(mean.neg());
      this.logScale.assign(variance.add(1e-6).sqrt().log().neg());
    });
  }

  forward(x: tf.Tensor4D) {
    return tf.tidy(() => {
      const [n, h, w] = x.shape;
      const y = x.add(this.bias).mul(this.logScale.exp()) as tf.Tensor4D;
      const logDet = tf.fill([n], 1).mul(this.logScale.sum().mul(h * w)) as tf.Tensor1D;
      return { y, logDet };
    });
  }

  inverse(y: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => y.mul(this.logScale.neg().exp()).sub(this.bias));
  }
}

/** The s/t network of a coupling: conv(k) → ReLU → [conv(k) → ReLU]×depth → conv(k) → 2C,
 * last layer zero-initialised so every coupling starts as the identity. */
export class CouplingNetwork {
  readonly kernels: tf.Variable[] = [];
  readonly biases: tf.Variable[] = [];
  readonly scale: tf.Variable;

  constructor(
    p: ParamScope,
    channels: number,
    hidden: number,
    depth: number,
    readonly kernelSize: number,
  ) {
    const sizes = [channels, ...Array(depth + 1).fill(hidden), 2 * channels];
    for (let i = 0; i + 1 < sizes.length; i++) {
      const shape = [kernelSize, kernelSize, sizes[i], sizes[i + 1]];
      const last = i + 2 === sizes.length;
      this.kernels.push(last ? p.zeros(`kernel${i}`, shape) : p.glorot(`kernel${i}`, shape));
      this.biases.push(p.zeros(`bias${i}`, [sizes[i + 1]]));
    }
    this.scale = p.ones("scale", [channels]);
  }

  /** masked x → (s, t), s = scale ⊙ tanh(raw) (bounded log-scales keep training stable). */
  apply(x: tf.Tensor4D): { s: tf.Tensor4D; t: tf.Tensor4D } {
    return tf.tidy(() => {
      let h: tf.Tensor4D = x;
      this.kernels.forEach((kernel, i) => {
        h = tf.conv2d(h, kernel as tf.Tensor4D, 1, "same").add(this.biases[i]);
        if (i + 1 < this.kernels.length) h = tf.relu(h);
      });
      const [raw, t] = tf.split(h, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
      return { s: tf.tanh(raw).mul(this.scale) as tf.Tensor4D, t };
    });
  }
}

/** Affine (RealNVP) or additive (NICE) coupling with a fixed mask m. */
export class AffineCoupling implements FlowLayer {
  readonly kind: string;

  constructor(
    readonly network: CouplingNetwork,
    readonly mask: tf.Tensor4D,
    readonly additive: boolean,
  ) {
    this.kind = `${additive ? "additive" : "affine"} coupling`;
  }

  forward(x: tf.Tensor4D) {
    return tf.tidy(() => {
      const inverseMask = tf.sub(1, this.mask);
      const conditioner = x.mul(this.mask) as tf.Tensor4D;
      const { s, t } = this.network.apply(conditioner);
      const sMasked = this.additive ? tf.zerosLike(s) : s.mul(inverseMask);
      const y = conditioner.add(inverseMask.mul(x.mul(sMasked.exp()).add(t))) as tf.Tensor4D;
      const logDet = sMasked.reshape([x.shape[0], -1]).sum(1) as tf.Tensor1D;
      return { y, logDet };
    });
  }

  inverse(y: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const inverseMask = tf.sub(1, this.mask);
      const conditioner = y.mul(this.mask) as tf.Tensor4D;
      const { s, t } = this.network.apply(conditioner);
      const sMasked = this.additive ? tf.zerosLike(s) : s.mul(inverseMask);
      return conditioner.add(inverseMask.mul(y.sub(t).mul(sMasked.neg().exp())));
    });
  }

  dispose(): void {
    this.mask.dispose();
  }
}

/** [N, H, W, C] → [N, H/2, W/2, 4C]: each 2×2 block becomes 4 channels (a permutation). */
export class Squeeze implements FlowLayer {
  readonly kind = "squeeze";

  forward(x: tf.Tensor4D) {
    return tf.tidy(() => {
      const [n, h, w, c] = x.shape;
      const y = x.reshape([n, h / 2, 2, w / 2, 2, c]).transpose([0, 1, 3, 2, 4, 5])
        .reshape([n, h / 2, w / 2, 4 * c]) as tf.Tensor4D;
      return { y, logDet: tf.zeros([n]) as tf.Tensor1D };
    });
  }

  inverse(y: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [n, h, w, c4] = y.shape;
      const c = c4 / 4;
      return y.reshape([n, h, w, 2, 2, c]).transpose([0, 1, 3, 2, 4, 5])
        .reshape([n, 2 * h, 2 * w, c]) as tf.Tensor4D;
    });
  }
}

// ---------------------------------------------------------------------------------------------
// preprocessing

/**
 * RealNVP §4.1: dequantized pixels y ∈ (0, 1) → x = logit(α + (1 − 2α)·y), so the flow models an
 * unbounded variable. Its log-det is part of the likelihood of y:
 *
 *   log |dx/dy| = Σ_d [ log(1 − 2α) − log p_d − log(1 − p_d) ],   p = α + (1 − 2α) y.
 */
export function logitTransform(
  y: tf.Tensor4D,
  alpha: number,
): { x: tf.Tensor4D; logDet: tf.Tensor1D } {
  return tf.tidy(() => {
    const p = y.mul(1 - 2 * alpha).add(alpha);
    const x = p.log().sub(tf.sub(1, p).log()) as tf.Tensor4D;
    const perDim = p.log().add(tf.sub(1, p).log()).neg().add(Math.log(1 - 2 * alpha));
    return { x, logDet: perDim.reshape([y.shape[0], -1]).sum(1) as tf.Tensor1D };
  });
}

/** Inverse of logitTransform: x → y = (σ(x) − α)/(1 − 2α). */
export function inverseLogitTransform(x: tf.Tensor4D, alpha: number): tf.Tensor4D {
  return tf.tidy(() => tf.sigmoid(x).sub(alpha).div(1 - 2 * alpha));
}

/** log N(z; 0, I) per example: −½ Σ z² − (D/2) log 2π. */
export function standardNormalLogProb(z: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const flat = z.reshape([z.shape[0], -1]);
    const d = flat.shape[1]!;
    return flat.square().sum(1).mul(-0.5).sub(0.5 * d * Math.log(2 * Math.PI)) as tf.Tensor1D;
  });
}
