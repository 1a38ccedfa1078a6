/**
 * Functional building blocks on plain tf.Variables: parameters live in a `ParamScope`, every
 * block is a small class whose `apply` is pure tfjs ops (so tf.grad / optimizer.minimize see
 * through it). NHWC layout throughout.
 *
 *  - ParamScope  seeded, named variable factory shared by all blocks of one model
 *  - silu        x·σ(x) (Swish; Ramachandran et al. 2017), DDPM's nonlinearity
 *  - groupNorm   Wu & He 2018, statistics over (H, W, C/groups) per sample and group
 *  - Conv2d, Dense, GroupNorm, ResBlock, Downsample, Upsample
 */
import * as tf from "@tensorflow/tfjs";
import {
  GROUP_NORM,
  GROUP_NORM_GRAD,
  GROUP_NORM_MAX_GROUPS,
  SILU,
  SILU_GRAD,
} from "../backend/native/fused.ts";
import { glorotUniform } from "./init.ts";
import type { Rng } from "../util/rng.ts";

let scopeCounter = 0;

/** Creates and collects a model's variables. Children share the list and the Rng; names are
 * readable paths (`unet3/down0/res0/conv1/kernel`) made unique per model instance, since tfjs
 * refuses two live variables with the same name. */
export class ParamScope {
  readonly variables: tf.Variable[];
  readonly rng: Rng;
  readonly prefix: string;

  constructor(rng: Rng, prefix: string, variables: tf.Variable[] = []) {
    this.rng = rng;
    this.prefix = prefix;
    this.variables = variables;
  }

  /** A new root scope: `name` gets an instance number so several models can coexist. */
  static root(rng: Rng, name: string): ParamScope {
    return new ParamScope(rng, `${name}${scopeCounter++}`);
  }

  child(name: string): ParamScope {
    return new ParamScope(this.rng, `${this.prefix}/${name}`, this.variables);
  }

  #add(name: string, value: tf.Tensor): tf.Variable {
    const v = tf.variable(value, true, `${this.prefix}/${name}`);
    value.dispose();
    this.variables.push(v);
    return v;
  }

  /** Glorot-uniform (DDPM's variance_scaling(1, fan_avg, uniform)), seeded from the Rng. */
  glorot(name: string, shape: number[]): tf.Variable {
    return this.#add(name, glorotUniform(this.rng).apply(shape));
  }

  zeros(name: string, shape: number[]): tf.Variable {
    return this.#add(name, tf.zeros(shape));
  }

  ones(name: string, shape: number[]): tf.Variable {
    return this.#add(name, tf.ones(shape));
  }
}

/**
 * SiLU / Swish: x·σ(x), with its derivative in closed form, σ(x)·(1 + x·(1 − σ(x))): 3 passes
 * over the tensor in the backward pass where autograd of x·σ(x) takes 5. Where the backend has
 * the fused kernels (native), forward and backward are one pass each that recompute σ from x.
 */
export function silu<T extends tf.Tensor>(x: T): T {
  const fused = x.dtype === "float32" && tf.getKernel(SILU, tf.getBackend()) !== undefined &&
    tf.getKernel(SILU_GRAD, tf.getBackend()) !== undefined;
  return (fused ? fusedSilu(x) : siluWithGrad(x)) as T;
}

const siluWithGrad = tf.customGrad((x, save) => {
  const sigmoid = tf.sigmoid(x as tf.Tensor);
  (save as tf.GradSaveFunc)([x as tf.Tensor, sigmoid]);
  return {
    value: tf.mul(x as tf.Tensor, sigmoid),
    gradFunc: (dy, saved) => {
      const [input, s] = saved;
      return tf.mul(dy, tf.mul(s, tf.add(1, tf.mul(input, tf.sub(1, s)))));
    },
  };
});

const fusedSilu = tf.customGrad((x, save) => {
  (save as tf.GradSaveFunc)([x as tf.Tensor]);
  return {
    value: tf.engine().runKernel(SILU, { x: x as tf.Tensor }) as tf.Tensor,
    gradFunc: (dy, saved) =>
      tf.engine().runKernel(SILU_GRAD, { dy: dy as tf.Tensor, x: saved[0] }) as tf.Tensor,
  };
});

/**
 * Group normalization (Wu & He 2018): split C into `groups`, normalize each (sample, group) by
 * its mean and variance over (H, W, C/groups), then apply the per-channel affine γ, β.
 *
 * The backward pass is written out (as cuDNN and PyTorch do) instead of differentiating the
 * forward ops: with x̂ = (x − μ)/σ and g = γ·∂L/∂y,
 *   ∂L/∂x = (g − mean_G(g) − x̂·mean_G(g·x̂)) / σ,  ∂L/∂γ = Σ ∂L/∂y·x̂,  ∂L/∂β = Σ ∂L/∂y,
 * means over each (sample, group). That is about half the full-tensor passes of autograd through
 * moments/sub/div/sqrt, which dominated a U-Net training step once the convolutions were fast.
 * `activation: "silu"` returns SiLU(GN(x)) (every DDPM block's GN is followed by SiLU).
 */
export function groupNorm(
  x: tf.Tensor4D,
  groups: number,
  gamma?: tf.Tensor,
  beta?: tf.Tensor,
  eps = 1e-5,
  activation: "none" | "silu" = "none",
): tf.Tensor4D {
  const c = x.shape[3];
  if (c % groups !== 0) throw new Error(`groupNorm: ${c} channels not divisible by ${groups}`);
  // A fused kernel where the backend has one (native: 2 passes each way instead of ~10).
  const fused = x.dtype === "float32" && groups <= GROUP_NORM_MAX_GROUPS &&
    tf.getKernel(GROUP_NORM, tf.getBackend()) !== undefined &&
    tf.getKernel(GROUP_NORM_GRAD, tf.getBackend()) !== undefined;
  return tf.tidy(() => {
    const scale = gamma ?? tf.ones([c]);
    const shift = beta ?? tf.zeros([c]);
    if (fused) return fusedGroupNormOp(groups, eps, activation)(x, scale, shift) as tf.Tensor4D;
    const y = groupNormOp(groups, eps)(x, scale, shift) as tf.Tensor4D;
    return activation === "silu" ? silu(y) : y;
  });
}

type GroupNormOp = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;

/** One customGrad op per (variant, groups, ε), built on first use. */
const groupNormOps = new Map<string, GroupNormOp>();

function cachedOp(key: string, build: () => GroupNormOp): GroupNormOp {
  let op = groupNormOps.get(key);
  if (op === undefined) groupNormOps.set(key, op = build());
  return op;
}

/** The native kernels; with activation "silu" they compute SiLU(GN(x)) and its gradient in the
 * same passes (GN's output is recomputed from x in the backward pass instead of being stored). */
function fusedGroupNormOp(groups: number, eps: number, activation: "none" | "silu"): GroupNormOp {
  const silu = activation === "silu";
  return cachedOp(
    `fused/${groups}/${eps}/${activation}`,
    () =>
      tf.customGrad((x, gamma, beta, save) => {
        const [y, mean, invStd] = tf.engine().runKernel(
          GROUP_NORM,
          { x: x as tf.Tensor, gamma: gamma as tf.Tensor, beta: beta as tf.Tensor },
          { groups, eps, silu },
        ) as tf.Tensor[];
        (save as tf.GradSaveFunc)([
          x as tf.Tensor,
          gamma as tf.Tensor,
          beta as tf.Tensor,
          mean,
          invStd,
        ]);
        return {
          value: y,
          gradFunc: (dy, saved) => {
            const [input, scale, shift, m, s] = saved;
            return tf.engine().runKernel(
              GROUP_NORM_GRAD,
              { dy: dy as tf.Tensor, x: input, gamma: scale, beta: shift, mean: m, invStd: s },
              { groups, silu },
            ) as tf.Tensor[];
          },
        };
      }) as GroupNormOp,
  );
}

function groupNormOp(groups: number, eps: number): GroupNormOp {
  return cachedOp(`composite/${groups}/${eps}`, () =>
    tf.customGrad((x, gamma, beta, save) => {
      const [b, h, w, c] = (x as tf.Tensor4D).shape;
      const grouped = tf.reshape(x as tf.Tensor, [b, h, w, groups, c / groups]);
      const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
      const invStd = tf.rsqrt(tf.add(variance, eps));
      const normed = tf.reshape(tf.mul(tf.sub(grouped, mean), invStd), [b, h, w, c]);
      (save as tf.GradSaveFunc)([normed, invStd, gamma as tf.Tensor]);
      return {
        value: tf.add(tf.mul(normed, gamma as tf.Tensor), beta as tf.Tensor),
        gradFunc: (dy, saved) => {
          const [xHat, inv, g] = saved;
          const dyT = dy as tf.Tensor4D;
          const dBeta = tf.sum(dyT, [0, 1, 2]);
          const dGamma = tf.sum(tf.mul(dyT, xHat), [0, 1, 2]);
          const shape5 = [b, h, w, groups, c / groups];
          const gHat = tf.reshape(tf.mul(dyT, g), shape5);
          const xHat5 = tf.reshape(xHat, shape5);
          const meanG = tf.mean(gHat, [1, 2, 4], true);
          const meanGX = tf.mean(tf.mul(gHat, xHat5), [1, 2, 4], true);
          const dx = tf.mul(tf.sub(tf.sub(gHat, meanG), tf.mul(xHat5, meanGX)), inv);
          return [tf.reshape(dx, [b, h, w, c]), dGamma, dBeta];
        },
      };
    }) as GroupNormOp);
}

export class GroupNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;

  constructor(p: ParamScope, readonly channels: number, readonly groups: number) {
    this.gamma = p.ones("gamma", [channels]);
    this.beta = p.zeros("beta", [channels]);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return groupNorm(x, this.groups, this.gamma, this.beta);
  }

  /** SiLU(GN(x)): one fused kernel each way where the backend has it. */
  applySilu(x: tf.Tensor4D): tf.Tensor4D {
    return groupNorm(x, this.groups, this.gamma, this.beta, 1e-5, "silu");
  }
}

/** k×k convolution with bias, "same" padding; stride 2 halves H and W (28 → 14 → 7). */
export class Conv2d {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly stride: number;

  constructor(
    p: ParamScope,
    inChannels: number,
    outChannels: number,
    { kernelSize = 3, stride = 1 }: { kernelSize?: number; stride?: number } = {},
  ) {
    this.kernel = p.glorot("kernel", [kernelSize, kernelSize, inChannels, outChannels]);
    this.bias = p.zeros("bias", [outChannels]);
    this.stride = stride;
  }

  /** One FusedConv2D kernel: the bias rides in the convolution (native: inside oneDNN), and its
   * registered gradient (lib/backend/gradients.ts) computes only the gradients needed. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.engine().runKernel(
      "FusedConv2D",
      { x, filter: this.kernel, bias: this.bias },
      { strides: this.stride, pad: "same", dataFormat: "NHWC", dilations: 1, activation: "linear" },
    ) as tf.Tensor4D;
  }
}

/** Fully connected layer: [B, in] → [B, out]. */
export class Dense {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  constructor(p: ParamScope, inFeatures: number, outFeatures: number) {
    this.kernel = p.glorot("kernel", [inFeatures, outFeatures]);
    this.bias = p.zeros("bias", [outFeatures]);
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.kernel as tf.Tensor2D), this.bias) as tf.Tensor2D;
  }
}

/**
 * DDPM residual block (Ho et al. 2020, Appendix B; Wide-ResNet style with group norm):
 *
 *   h = conv₁(SiLU(GN(x))) + Dense(SiLU(temb))   ← time embedding added per block
 *   h = conv₂(SiLU(GN(h)))
 *   out = skip(x) + h                             skip = 1×1 conv when channels change
 *
 * (Dropout, 0.1 in DDPM's CIFAR model, is left out: this network is trained on 28×28 data.)
 */
export class ResBlock {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly timeProj: Dense;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly skip: Conv2d | null;

  constructor(
    p: ParamScope,
    inChannels: number,
    outChannels: number,
    timeDim: number,
    groups: number,
  ) {
    this.norm1 = new GroupNorm(p.child("norm1"), inChannels, groups);
    this.conv1 = new Conv2d(p.child("conv1"), inChannels, outChannels);
    this.timeProj = new Dense(p.child("time"), timeDim, outChannels);
    this.norm2 = new GroupNorm(p.child("norm2"), outChannels, groups);
    this.conv2 = new Conv2d(p.child("conv2"), outChannels, outChannels);
    this.skip = inChannels === outChannels
      ? null
      : new Conv2d(p.child("skip"), inChannels, outChannels, { kernelSize: 1 });
  }

  apply(x: tf.Tensor4D, temb: tf.Tensor2D): tf.Tensor4D {
    let h = this.conv1.apply(this.norm1.applySilu(x));
    const t = this.timeProj.apply(silu(temb));
    h = tf.add(h, tf.reshape(t, [t.shape[0], 1, 1, t.shape[1]]));
    h = this.conv2.apply(this.norm2.applySilu(h));
    return tf.add(this.skip ? this.skip.apply(x) : x, h);
  }
}

/** Stride-2 3×3 convolution: H×W → ⌈H/2⌉×⌈W/2⌉. */
export class Downsample {
  readonly conv: Conv2d;

  constructor(p: ParamScope, inChannels: number, outChannels: number) {
    this.conv = new Conv2d(p.child("conv"), inChannels, outChannels, { stride: 2 });
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return this.conv.apply(x);
  }
}

/** Nearest-neighbour 2× upsampling, then a 3×3 convolution (avoids transposed-conv checkerboards). */
export class Upsample {
  readonly conv: Conv2d;

  constructor(p: ParamScope, inChannels: number, outChannels: number) {
    this.conv = new Conv2d(p.child("conv"), inChannels, outChannels);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [, h, w] = x.shape;
    return this.conv.apply(tf.image.resizeNearestNeighbor(x, [2 * h, 2 * w]));
  }
}
