/**
 * The reference DDPM denoising U-Net for 28×28×1 images: ε_θ(x_t, t [, y]) → ε̂, same shape as x_t.
 *
 * After Ho et al. 2020, "Denoising Diffusion Probabilistic Models", Appendix B (a PixelCNN++-like
 * U-Net of Wide-ResNet blocks with group normalization, self-attention at one low resolution,
 * and the Transformer sinusoidal embedding of t added into every residual block), scaled down
 * to Fashion-MNIST: channels 32/64/128 over resolutions 28/14/7, one self-attention block at 7×7.
 * With the defaults it has exactly 1,035,457 parameters, the count NOTES measured for the PyTorch
 * reference (this layout was chosen as the natural one that reproduces that count exactly):
 *
 *   t ─ sinusoid(32) ─ Dense 32→128 ─ SiLU ─ Dense 128→128 ───────────────── temb (to every block)
 *   x 28×28×1 ─ conv3×3 → 32
 *     level 0 (28×28):  Res 32→32              ──skip──┐
 *     down:             conv3×3/2   28→14              │
 *     level 1 (14×14):  Res 32→64              ──skip┐ │
 *     down:             conv3×3/2   14→7             │ │
 *     middle (7×7):     Res 64→128 · SelfAttn 128 · Res 128→128
 *     up:               nearest×2 + conv3×3 128→64   │ │
 *     level 1 (14×14):  Res [64 ‖ 64]→64      ◀──────┘ │
 *     up:               nearest×2 + conv3×3 64→32      │
 *     level 0 (28×28):  Res [32 ‖ 32]→32      ◀────────┘
 *   GN ─ SiLU ─ conv3×3 32→1 ─ ε̂
 *
 * Channels change in the first residual block of a level; downsampling keeps them and
 * upsampling brings them back to the level's width. Pure functional tfjs on tf.Variables, so
 * `tf.variableGrads` / `optimizer.minimize` work directly and any sampler can wrap `apply`.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../util/rng.ts";
import {
  Conv2d,
  Dense,
  Downsample,
  GroupNorm,
  ParamScope,
  ResBlock,
  silu,
  Upsample,
} from "../../nn/blocks.ts";
import { SelfAttention2d } from "../../nn/attention.ts";
import { sinusoidalEmbedding } from "../../nn/time_embedding.ts";

// ───────────────────────────── config ─────────────────────────────

export interface UNetConfig {
  /** Width of level 0; level i has baseChannels · channelMults[i]. */
  baseChannels: number;
  /** One entry per resolution; the last level is the middle (bottleneck). */
  channelMults: number[];
  /** Residual blocks per non-bottleneck level, on the way down (and up). */
  resBlocksPerLevel: number;
  /** Spatial sizes (e.g. 7 for 7×7) that get a self-attention block after each res block. */
  attentionResolutions: number[];
  /** Group-norm groups (must divide every channel count). */
  groups: number;
  /** Width of the time-embedding MLP (DDPM: 4 · baseChannels). The sinusoid has baseChannels. */
  timeEmbeddingDim: number;
  /** Attention heads (no effect on the parameter count). */
  attentionHeads: number;
  imageChannels: number;
  /** Input height = width; must be divisible by 2^(levels − 1). */
  imageSize: number;
  /** Number of classes for class conditioning (a learned embedding added to temb); null = none. */
  numClasses: number | null;
}

export const UNET_DEFAULTS: Readonly<UNetConfig> = Object.freeze({
  baseChannels: 32,
  channelMults: [1, 2, 4],
  resBlocksPerLevel: 1,
  attentionResolutions: [7],
  groups: 8,
  timeEmbeddingDim: 128,
  attentionHeads: 1,
  imageChannels: 1,
  imageSize: 28,
  numClasses: null,
});

// ───────────────────────────── model ─────────────────────────────

interface Level {
  resolution: number;
  blocks: ResBlock[];
  attentions: (SelfAttention2d | null)[];
}

export class UNet {
  readonly config: Readonly<UNetConfig>;
  readonly #params: ParamScope;
  readonly #timeMlp: [Dense, Dense];
  readonly #classEmbedding: tf.Variable | null;
  readonly #stem: Conv2d;
  readonly #down: Level[] = [];
  readonly #downsamples: Downsample[] = [];
  readonly #middle: { block1: ResBlock; attention: SelfAttention2d | null; block2: ResBlock };
  readonly #up: Level[] = [];
  readonly #upsamples: Upsample[] = [];
  readonly #outNorm: GroupNorm;
  readonly #outConv: Conv2d;

  constructor(config: Partial<UNetConfig> = {}, seed: number | Rng = 0) {
    const c: UNetConfig = { ...UNET_DEFAULTS, ...config };
    this.config = Object.freeze(c);
    const levels = c.channelMults.length;
    if (levels < 2) throw new Error("UNet needs at least two channelMults (one level + middle)");
    if (c.imageSize % 2 ** (levels - 1) !== 0) {
      throw new Error(`imageSize ${c.imageSize} is not divisible by 2^${levels - 1}`);
    }
    const rng = typeof seed === "number" ? new Rng(seed) : seed;
    const p = ParamScope.root(rng, "unet");
    this.#params = p;
    const T = c.timeEmbeddingDim, G = c.groups;
    const width = (i: number) => c.baseChannels * c.channelMults[i];
    const attend = (res: number, ch: number, name: string) =>
      c.attentionResolutions.includes(res)
        ? new SelfAttention2d(p.child(name), ch, G, c.attentionHeads)
        : null;

    this.#timeMlp = [
      new Dense(p.child("time/dense0"), c.baseChannels, T),
      new Dense(p.child("time/dense1"), T, T),
    ];
    this.#classEmbedding = c.numClasses === null
      ? null
      : p.glorot("class_embedding", [c.numClasses, T]);
    this.#stem = new Conv2d(p.child("stem"), c.imageChannels, width(0));

    // Down path: levels 0 … L−2, each followed by a stride-2 conv that keeps the width.
    let ch = width(0), res = c.imageSize;
    const skipChannels: number[] = [];
    for (let i = 0; i < levels - 1; i++) {
      const level: Level = { resolution: res, blocks: [], attentions: [] };
      for (let j = 0; j < c.resBlocksPerLevel; j++) {
        level.blocks.push(new ResBlock(p.child(`down${i}/res${j}`), ch, width(i), T, G));
        ch = width(i);
        level.attentions.push(attend(res, ch, `down${i}/attn${j}`));
        skipChannels.push(ch);
      }
      this.#down.push(level);
      this.#downsamples.push(new Downsample(p.child(`down${i}/downsample`), ch, ch));
      res /= 2;
    }

    // Middle (level L−1): Res → SelfAttention → Res.
    const mid = width(levels - 1);
    this.#middle = {
      block1: new ResBlock(p.child("mid/res0"), ch, mid, T, G),
      attention: attend(res, mid, "mid/attn"),
      block2: new ResBlock(p.child("mid/res1"), mid, mid, T, G),
    };
    ch = mid;

    // Up path: levels L−2 … 0, each entered by nearest-2× + conv to the level's width; every
    // res block takes the matching down-path activation concatenated on channels.
    for (let i = levels - 2; i >= 0; i--) {
      res *= 2;
      this.#upsamples.push(new Upsample(p.child(`up${i}/upsample`), ch, width(i)));
      ch = width(i);
      const level: Level = { resolution: res, blocks: [], attentions: [] };
      for (let j = 0; j < c.resBlocksPerLevel; j++) {
        const skip = skipChannels.pop()!;
        level.blocks.push(new ResBlock(p.child(`up${i}/res${j}`), ch + skip, width(i), T, G));
        ch = width(i);
        level.attentions.push(attend(res, ch, `up${i}/attn${j}`));
      }
      this.#up.push(level);
    }

    this.#outNorm = new GroupNorm(p.child("out/norm"), ch, G);
    this.#outConv = new Conv2d(p.child("out/conv"), ch, c.imageChannels);
  }

  /** The time (and class) embedding fed to every residual block: [B, timeEmbeddingDim]. */
  embed(t: tf.Tensor1D, labels?: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const [d0, d1] = this.#timeMlp;
      let temb = d1.apply(silu(d0.apply(sinusoidalEmbedding(t, this.config.baseChannels))));
      if (labels !== undefined) {
        if (!this.#classEmbedding) throw new Error("labels given to an unconditional UNet");
        temb = tf.add(temb, tf.gather(this.#classEmbedding, tf.cast(labels, "int32")));
      }
      return temb;
    });
  }

  /** Predict the noise ε in x_t at timesteps t (one per sample): output has x's shape. */
  apply(x: tf.Tensor4D, t: tf.Tensor1D, labels?: tf.Tensor1D): tf.Tensor4D {
    return tf.tidy(() => {
      const temb = this.embed(t, labels);
      let h = this.#stem.apply(x);
      const skips: tf.Tensor4D[] = [];
      this.#down.forEach((level, i) => {
        level.blocks.forEach((block, j) => {
          h = block.apply(h, temb);
          h = level.attentions[j]?.apply(h) ?? h;
          skips.push(h);
        });
        h = this.#downsamples[i].apply(h);
      });
      h = this.#middle.block1.apply(h, temb);
      h = this.#middle.attention?.apply(h) ?? h;
      h = this.#middle.block2.apply(h, temb);
      this.#up.forEach((level, i) => {
        h = this.#upsamples[i].apply(h);
        level.blocks.forEach((block, j) => {
          h = block.apply(tf.concat([h, skips.pop()!], 3), temb);
          h = level.attentions[j]?.apply(h) ?? h;
        });
      });
      return this.#outConv.apply(this.#outNorm.applySilu(h));
    });
  }

  /** All trainable variables, in construction order (stable: checkpoints use positions). */
  variables(): tf.Variable[] {
    return [...this.#params.variables];
  }

  countParams(): number {
    return this.#params.variables.reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    for (const v of this.#params.variables) v.dispose();
    this.#params.variables.length = 0;
  }
}
