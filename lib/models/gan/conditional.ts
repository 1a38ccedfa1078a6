/**
 * Class-conditional GANs on DCGAN's networks (lib/models/gan/dcgan.ts):
 *
 *  - **cGAN** — Mirza & Osindero, "Conditional Generative Adversarial Nets" (2014), eq. 2:
 *    min_G max_D E[log D(x|y)] + E[log(1 − D(G(z|y)|y))]. G sees z ⊕ one-hot(y); D sees the image
 *    with K label channels appended (channel k is 1 where y = k), so D judges "a real *y*".
 *  - **ACGAN** — Odena, Olah & Shlens, "Conditional Image Synthesis with Auxiliary Classifier
 *    GANs" (2017), eqs. 2–3: D sees only the image and outputs a source logit plus K class logits.
 *    L_S = log-likelihood of the right source, L_C = of the right class; D maximizes L_S + L_C,
 *    G maximizes L_C − L_S (here with the non-saturating form of −L_S for G).
 *
 * Both need labelled data (MNIST, Fashion-MNIST). Fakes in a D step use the real batch's labels
 * (so the label distribution is the data's); `sample(n, {labels})` takes any labels, default a
 * cycle 0, 1, …, K−1, 0, … (one row per class in a 10-wide grid).
 *
 * Layout: config → model → registry entries.
 */
import * as tf from "@tensorflow/tfjs";
import { discriminatorLoss, nonSaturatingGeneratorLoss } from "../../nn/losses.ts";
import type { WeightOwner } from "../../nn/state.ts";
import { UserInputError } from "../../util/errors.ts";
import { Rng } from "../../util/rng.ts";
import { adam } from "../../nn/optimizers.ts";
import type {
  Batch,
  DataSpec,
  EmaSpec,
  GenerativeModel,
  ModelEntry,
  SampleOptions,
} from "../types.ts";
import { type ConfigOf, defineConfig, int, number } from "../config.ts";
import { buildDiscriminator, buildGenerator, DCGAN_DEFAULTS } from "./dcgan.ts";
import {
  appendLabelMaps,
  applyLinearDecay,
  generatorEmaSpec,
  meanProbability,
  oneHotLabels,
  optimizeStep,
  sampleLabels,
  trainableVariables,
  TRAINING_EXTRAS,
} from "./common.ts";

// ---------------------------------------------------------------------------------------------
// config

const SHARED = {
  latentDim: int(100, { min: 1, max: 4096 }, "dimension of the latent z ~ N(0, I)"),
  generatorFilters: int(64, { min: 1, max: 1024 }, "channels of G's last hidden layer"),
  discriminatorFilters: int(64, { min: 1, max: 1024 }, "channels of D's first conv layer"),
  learningRate: number(2e-4, { gt: 0, max: 1 }, "Adam learning rate (DCGAN: 2e-4)"),
  beta1: number(0.5, { min: 0, lt: 1 }, "Adam β₁"),
  ...TRAINING_EXTRAS,
};
const sidesDivisibleBy4 = (_c: unknown, data: { height: number; width: number }) =>
  data.height % 4 === 0 && data.width % 4 === 0
    ? undefined
    : `needs labelled images with sides divisible by 4, got ${data.height}×${data.width}`;

export const CGAN_CONFIG = defineConfig("cgan", SHARED, { dataRules: [sidesDivisibleBy4] });
export type CganConfig = ConfigOf<typeof CGAN_CONFIG>;

export const ACGAN_CONFIG = defineConfig("acgan", {
  ...SHARED,
  classWeight: number(1, { min: 0, max: 100 }, "weight of the auxiliary class loss L_C"),
}, { dataRules: [sidesDivisibleBy4] });
export type AcganConfig = ConfigOf<typeof ACGAN_CONFIG>;

// ---------------------------------------------------------------------------------------------
// model

export class ConditionalGan implements GenerativeModel {
  readonly rng: Rng;
  readonly numClasses: number;
  /** z ⊕ one-hot(y) → image. */
  readonly generator: tf.Sequential;
  /** cgan: image ⊕ label maps → logit; acgan: image → [source logit, K class logits]. */
  readonly discriminator: tf.Sequential;
  readonly #generatorOptimizer: tf.Optimizer;
  readonly #discriminatorOptimizer: tf.Optimizer;
  /** Set when `generatorEma` > 0 (common.ts `generatorEmaSpec`). */
  readonly ema?: () => EmaSpec;

  constructor(
    readonly name: "cgan" | "acgan",
    readonly config: CganConfig & { classWeight?: number },
    readonly dataSpec: DataSpec,
    numClasses: number,
    seed: number,
  ) {
    if (numClasses < 2) {
      throw new UserInputError(
        `${name} needs a labelled dataset (e.g. --dataset mnist), got one with ${numClasses} classes`,
      );
    }
    this.numClasses = numClasses;
    this.rng = new Rng(seed);
    const initRng = this.rng.fork();
    const dcgan = { ...DCGAN_DEFAULTS, ...config };
    this.generator = buildGenerator(
      { ...dcgan, latentDim: config.latentDim + numClasses },
      dataSpec,
      initRng,
    );
    this.discriminator = name === "cgan"
      ? buildDiscriminator(
        dcgan,
        { ...dataSpec, channels: dataSpec.channels + numClasses },
        initRng,
      )
      : buildDiscriminator(dcgan, dataSpec, initRng, 1 + numClasses);
    // tf.train.adam's math and state layout, one fused native update where the backend has it.
    const { learningRate, beta1 } = config;
    this.#generatorOptimizer = adam({ learningRate, beta1 });
    this.#discriminatorOptimizer = adam({ learningRate, beta1 });
    this.ema = generatorEmaSpec(this.generator, config.generatorEma);
  }

  #latent(n: number, seed = this.rng.seed()): tf.Tensor2D {
    return tf.randomNormal([n, this.config.latentDim], 0, 1, "float32", seed);
  }

  #generate(z: tf.Tensor2D, oneHot: tf.Tensor2D, training: boolean): tf.Tensor4D {
    return this.generator.apply(tf.concat([z, oneHot], 1), { training }) as tf.Tensor4D;
  }

  /** Source logits [N, 1] and (acgan) class logits [N, K] of D. */
  #discriminate(x: tf.Tensor4D, oneHot: tf.Tensor2D): { source: tf.Tensor; classes?: tf.Tensor } {
    if (this.name === "cgan") {
      return {
        source: this.discriminator.apply(appendLabelMaps(x, oneHot), {
          training: true,
        }) as tf.Tensor,
      };
    }
    const out = this.discriminator.apply(x, { training: true }) as tf.Tensor2D;
    return {
      source: tf.slice(out, [0, 0], [-1, 1]),
      classes: tf.slice(out, [0, 1], [-1, this.numClasses]),
    };
  }

  #classLoss(classLogits: tf.Tensor, oneHot: tf.Tensor2D): tf.Scalar {
    return tf.losses.softmaxCrossEntropy(oneHot, classLogits) as tf.Scalar;
  }

  /** D step on real images with their labels and fakes generated for the same labels. */
  async discriminatorStep(real: tf.Tensor4D, labels: tf.Tensor1D): Promise<Record<string, number>> {
    const oneHot = oneHotLabels(labels, this.numClasses);
    const weight = this.config.classWeight ?? 1;
    const z = this.#latent(real.shape[0]);
    const fake = tf.tidy(() => this.#generate(z, oneHot, true));
    const out = await optimizeStep(
      this.#discriminatorOptimizer,
      trainableVariables(this.discriminator),
      () => {
        const onReal = this.#discriminate(real, oneHot);
        const onFake = this.#discriminate(fake, oneHot);
        let loss = discriminatorLoss(onReal.source, onFake.source);
        const stats: Record<string, tf.Scalar> = {
          d_real: meanProbability(onReal.source),
          d_fake: meanProbability(onFake.source),
        };
        if (onReal.classes && onFake.classes) {
          const classLoss: tf.Scalar = tf.add(
            this.#classLoss(onReal.classes, oneHot),
            this.#classLoss(onFake.classes, oneHot),
          );
          stats.class_loss = classLoss;
          loss = tf.add(loss, tf.mul(weight, classLoss));
        }
        return { loss, stats };
      },
    );
    tf.dispose([oneHot, z, fake]);
    return out;
  }

  /** G step for the given labels: non-saturating source loss (+ class loss for ACGAN). */
  async generatorStep(labels: tf.Tensor1D): Promise<number> {
    const oneHot = oneHotLabels(labels, this.numClasses);
    const weight = this.config.classWeight ?? 1;
    const z = this.#latent(labels.shape[0]);
    const { loss } = await optimizeStep(
      this.#generatorOptimizer,
      trainableVariables(this.generator),
      () => {
        const onFake = this.#discriminate(this.#generate(z, oneHot, true), oneHot);
        let loss = nonSaturatingGeneratorLoss(onFake.source);
        if (onFake.classes) {
          loss = tf.add(loss, tf.mul(weight, this.#classLoss(onFake.classes, oneHot)));
        }
        return { loss };
      },
    );
    tf.dispose([oneHot, z]);
    return loss;
  }

  async trainStep(batch: Batch, step: number): Promise<Record<string, number>> {
    if (!batch.labels) throw new Error(`${this.name}: the batch has no labels`);
    const { learningRate, decaySteps } = this.config;
    applyLinearDecay(
      [this.#generatorOptimizer, this.#discriminatorOptimizer],
      learningRate,
      step,
      decaySteps,
    );
    const { loss, ...stats } = await this.discriminatorStep(batch.x, batch.labels);
    const generator = await this.generatorStep(batch.labels);
    return { d_loss: loss, g_loss: generator, ...stats };
  }

  sample(n: number, options: SampleOptions = {}): Promise<tf.Tensor4D> {
    const labels = sampleLabels(n, this.numClasses, options.labels);
    return Promise.resolve(tf.tidy(() => {
      const oneHot = oneHotLabels(tf.tensor1d(labels, "int32"), this.numClasses);
      return this.#generate(this.#latent(n, options.seed), oneHot, false);
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
// registry entries

const QUICK = { generatorFilters: 16, discriminatorFilters: 16, steps: 20, batch: 16 };

export const cganEntry: ModelEntry<CganConfig> = {
  name: "cgan",
  description: "conditional GAN (Mirza & Osindero 2014) on DCGAN's networks: G(z, y), D(x, y)",
  config: CGAN_CONFIG,
  quick: QUICK,
  defaultDataset: "mnist",
  create: (config, data, seed) => new ConditionalGan("cgan", config, data, data.numClasses, seed),
};

export const acganEntry: ModelEntry<AcganConfig> = {
  name: "acgan",
  description: "ACGAN (Odena et al. 2017): G(z, y); D(x) → real/fake logit + class logits",
  config: ACGAN_CONFIG,
  quick: QUICK,
  defaultDataset: "mnist",
  create: (config, data, seed) => new ConditionalGan("acgan", config, data, data.numClasses, seed),
};
