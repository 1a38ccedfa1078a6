/**
 * DCGAN — Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
 * Generative Adversarial Networks" (2016), sized for 28×28 grey images.
 *
 * The paper's guidelines (§3), all followed here:
 *  - strided convolutions instead of pooling (D) and fractionally-strided ones for upsampling (G);
 *  - batch norm in G and D, except G's output layer and D's input layer;
 *  - no fully connected hidden layers (only G's projection of z and D's final logit);
 *  - ReLU in G with tanh output; LeakyReLU(0.2) in D;
 *  - Adam, lr 2e-4, β₁ = 0.5; weights ~ N(0, 0.02).
 * Losses: the original minimax D loss and the non-saturating G loss (Goodfellow et al. 2014).
 *
 * Layout (read top to bottom): config → builders → model (one D step, one G step) → registry entry.
 */
import * as tf from "@tensorflow/tfjs";
import { dcganNormal } from "../../nn/init.ts";
import { discriminatorLoss, nonSaturatingGeneratorLoss } from "../../nn/losses.ts";
import { adam, type FusedAdam } from "../../nn/optimizers.ts";
import type { WeightOwner } from "../../nn/state.ts";
import { Rng } from "../../util/rng.ts";
import type {
  Batch,
  DataSpec,
  EmaSpec,
  GenerativeModel,
  ModelEntry,
  SampleOptions,
} from "../types.ts";
import { type ConfigOf, defineConfig, int, number, oneOf } from "../config.ts";
import { applyLinearDecay, generatorEmaSpec, TRAINING_EXTRAS } from "./common.ts";

// ---------------------------------------------------------------------------------------------
// config

/** DCGAN's options, declared once: defaults, ranges, `--help` and validation come from here. */
export const DCGAN_CONFIG = defineConfig("dcgan", {
  latentDim: int(100, { min: 1, max: 4096 }, "dimension of the latent z ~ N(0, I)"),
  generatorFilters: int(
    64,
    { min: 1, max: 1024 },
    "channels of G's last hidden layer (doubled once towards the projection)",
  ),
  discriminatorFilters: int(64, { min: 1, max: 1024 }, "channels of D's first conv layer"),
  learningRate: number(2e-4, { gt: 0, max: 1 }, "Adam learning rate (paper: 2e-4)"),
  beta1: number(0.5, { min: 0, lt: 1 }, "Adam β₁ (paper: 0.5)"),
  beta2: number(0.999, { min: 0, lt: 1 }, "Adam β₂"),
  kernelSize: int(4, { min: 1, max: 9 }, "kernel size of every (transposed) convolution"),
  discriminatorNorm: oneOf(
    ["batch", "none"],
    "batch",
    "normalization in D's hidden conv layer: the paper's batch norm, or none",
  ),
  ...TRAINING_EXTRAS,
}, {
  dataRules: [
    (_config, data) =>
      data.height % 4 === 0 && data.width % 4 === 0
        ? undefined
        : `needs image sides divisible by 4 (two stride-2 layers), got ${data.height}×${data.width}`,
  ],
});
export type DcganConfig = ConfigOf<typeof DCGAN_CONFIG>;
export const DCGAN_DEFAULTS: DcganConfig = DCGAN_CONFIG.defaults;

// ---------------------------------------------------------------------------------------------
// builders

/** G: z → dense(7·7·2f) → BN → ReLU → convT(f, s2) → BN → ReLU → convT(c, s2) → tanh. */
export function buildGenerator(config: DcganConfig, data: DataSpec, rng: Rng): tf.Sequential {
  const { latentDim, generatorFilters: f, kernelSize } = config;
  const h0 = data.height / 4;
  const w0 = data.width / 4;
  if (!Number.isInteger(h0) || !Number.isInteger(w0)) {
    throw new Error(`dcgan needs image sides divisible by 4, got ${data.height}×${data.width}`);
  }
  return tf.sequential({
    name: "generator",
    layers: [
      tf.layers.dense({
        inputShape: [latentDim],
        units: h0 * w0 * 2 * f,
        useBias: false,
        kernelInitializer: dcganNormal(rng),
      }),
      tf.layers.batchNormalization({ momentum: 0.9 }),
      tf.layers.reLU(),
      tf.layers.reshape({ targetShape: [h0, w0, 2 * f] }),
      tf.layers.conv2dTranspose({
        filters: f,
        kernelSize,
        strides: 2,
        padding: "same",
        useBias: false,
        kernelInitializer: dcganNormal(rng),
      }),
      tf.layers.batchNormalization({ momentum: 0.9 }),
      tf.layers.reLU(),
      tf.layers.conv2dTranspose({
        filters: data.channels,
        kernelSize,
        strides: 2,
        padding: "same",
        activation: "tanh",
        kernelInitializer: dcganNormal(rng),
      }),
    ],
  });
}

/** D: x → conv(f, s2) → LReLU → conv(2f, s2) → BN → LReLU → flatten → dense(1) (a logit).
 * `outputs` > 1 widens the last layer (ACGAN: a source logit plus class logits). */
export function buildDiscriminator(
  config: DcganConfig,
  data: DataSpec,
  rng: Rng,
  outputs = 1,
): tf.Sequential {
  const { discriminatorFilters: f, kernelSize } = config;
  return tf.sequential({
    name: "discriminator",
    layers: [
      tf.layers.conv2d({
        inputShape: [data.height, data.width, data.channels],
        filters: f,
        kernelSize,
        strides: 2,
        padding: "same",
        kernelInitializer: dcganNormal(rng),
      }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.conv2d({
        filters: 2 * f,
        kernelSize,
        strides: 2,
        padding: "same",
        useBias: config.discriminatorNorm === "none",
        kernelInitializer: dcganNormal(rng),
      }),
      ...(config.discriminatorNorm === "batch"
        ? [tf.layers.batchNormalization({ momentum: 0.9 })]
        : []),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: outputs, kernelInitializer: dcganNormal(rng) }),
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// model

export class Dcgan implements GenerativeModel {
  readonly name = "dcgan";
  readonly rng: Rng;
  readonly generator: tf.Sequential;
  readonly discriminator: tf.Sequential;
  readonly #generatorOptimizer: FusedAdam;
  readonly #discriminatorOptimizer: FusedAdam;
  /** With `generatorEma` > 0 the trainer keeps an EMA of all of G's weights (batch-norm moving
   * statistics included), used for sample grids, `sample` and `eval` (Karras et al. 2018;
   * Yazıcı et al. 2019: averaged generators give better samples than the last iterate). */
  readonly ema?: () => EmaSpec;

  constructor(readonly config: DcganConfig, readonly dataSpec: DataSpec, seed: number) {
    this.rng = new Rng(seed);
    const initRng = this.rng.fork();
    this.generator = buildGenerator(config, dataSpec, initRng);
    this.discriminator = buildDiscriminator(config, dataSpec, initRng);
    const { learningRate, beta1, beta2 } = config;
    // tf.train.adam's math and state layout, one fused native update where the backend has it.
    this.#generatorOptimizer = adam({ learningRate, beta1, beta2 });
    this.#discriminatorOptimizer = adam({ learningRate, beta1, beta2 });
    this.ema = generatorEmaSpec(this.generator, config.generatorEma);
  }

  #latent(n: number, seed = this.rng.seed()): tf.Tensor2D {
    return tf.randomNormal([n, this.config.latentDim], 0, 1, "float32", seed);
  }

  /** D step: minimize −log D(x) − log(1 − D(G(z))) over D's weights; G is held fixed. */
  async discriminatorStep(real: tf.Tensor4D): Promise<number> {
    const n = real.shape[0];
    const z = this.#latent(n);
    const loss = tf.tidy(() => {
      const fake = this.generator.apply(z, { training: true }) as tf.Tensor4D;
      return this.#discriminatorOptimizer.minimize(
        () => {
          const realLogits = this.discriminator.apply(real, { training: true }) as tf.Tensor;
          const fakeLogits = this.discriminator.apply(fake, { training: true }) as tf.Tensor;
          return discriminatorLoss(realLogits, fakeLogits);
        },
        true,
        this.discriminator.trainableWeights.map((w) => w.read() as tf.Variable),
      )!;
    });
    z.dispose();
    const [value] = await loss.data();
    loss.dispose();
    return value;
  }

  /** G step: minimize −log D(G(z)) (non-saturating) over G's weights; D is held fixed. */
  async generatorStep(n: number): Promise<number> {
    const z = this.#latent(n);
    const loss = tf.tidy(() =>
      this.#generatorOptimizer.minimize(
        () => {
          const fake = this.generator.apply(z, { training: true }) as tf.Tensor4D;
          const fakeLogits = this.discriminator.apply(fake, { training: true }) as tf.Tensor;
          return nonSaturatingGeneratorLoss(fakeLogits);
        },
        true,
        this.generator.trainableWeights.map((w) => w.read() as tf.Variable),
      )!
    );
    z.dispose();
    const [value] = await loss.data();
    loss.dispose();
    return value;
  }

  async trainStep(batch: Batch, step: number): Promise<Record<string, number>> {
    applyLinearDecay(
      [this.#generatorOptimizer, this.#discriminatorOptimizer],
      this.config.learningRate,
      step,
      this.config.decaySteps,
    );
    const discriminator = await this.discriminatorStep(batch.x);
    const generator = await this.generatorStep(batch.x.shape[0]);
    return { d_loss: discriminator, g_loss: generator };
  }

  sample(n: number, options: SampleOptions = {}): Promise<tf.Tensor4D> {
    return Promise.resolve(tf.tidy(() => {
      const z = this.#latent(n, options.seed);
      return this.generator.apply(z, { training: false }) as tf.Tensor4D;
    }));
  }

  weightGroups(): Record<string, WeightOwner> {
    return { generator: this.generator, discriminator: this.discriminator };
  }

  optimizers(): Record<string, tf.Optimizer> {
    return { generator: this.#generatorOptimizer, discriminator: this.#discriminatorOptimizer };
  }

  dispose(): void {
    this.generator.dispose();
    this.discriminator.dispose();
    this.#generatorOptimizer.dispose();
    this.#discriminatorOptimizer.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// registry entry

export const dcganEntry: ModelEntry<DcganConfig> = {
  name: "dcgan",
  description: "DCGAN (Radford et al. 2016) with the non-saturating generator loss",
  config: DCGAN_CONFIG,
  quick: { generatorFilters: 16, discriminatorFilters: 16, steps: 20, batch: 16 },
  defaultDataset: "mnist",
  create: (config, data, seed) => new Dcgan(config, data, seed),
};
