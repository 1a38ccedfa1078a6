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
 *  - **InfoGAN** — Chen et al., "InfoGAN: Interpretable Representation Learning by Information
 *    Maximizing Generative Adversarial Nets" (2016), eq. 5 with one categorical code c ~ Cat(K):
 *    min_{G,Q} max_D V(D, G) − λ·L_I(G, Q), where L_I = E[log Q(c | G(z, c))] is the variational
 *    lower bound (eq. 4) on the mutual information I(c; G(z, c)). Q is ACGAN's class head on D's
 *    trunk, but it is trained on fakes only: **no labels are used**. G is pushed to make c
 *    recoverable from the image, so on MNIST the code tends to pick up the digit (the paper's
 *    Fig. 2a): a mixture of K modes instead of one continuous z stretched over ten clusters.
 *
 * cGAN and ACGAN need labelled data (MNIST, Fashion-MNIST). Their fakes in a D step use the real
 * batch's labels (so the label distribution is the data's); InfoGAN draws its codes uniformly and
 * ignores labels. `sample(n, {labels})` takes any labels (InfoGAN: codes), default a cycle 0, 1,
 * …, K−1, 0, … (one row per class or code in a 10-wide grid; for InfoGAN exactly its uniform prior).
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
import { type ConfigOf, defineConfig, int, number, oneOf } from "../config.ts";
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

/** Options of every GAN on DCGAN's networks conditioned on a discrete index (also scgan's). */
export const CONDITIONAL_GAN_OPTIONS = {
  latentDim: int(100, { min: 1, max: 4096 }, "dimension of the latent z ~ N(0, I)"),
  generatorFilters: int(64, { min: 1, max: 1024 }, "channels of G's last hidden layer"),
  discriminatorFilters: int(64, { min: 1, max: 1024 }, "channels of D's first conv layer"),
  learningRate: number(2e-4, { gt: 0, max: 1 }, "Adam learning rate (DCGAN: 2e-4)"),
  beta1: number(0.5, { min: 0, lt: 1 }, "Adam β₁"),
  discriminatorNorm: oneOf(
    ["batch", "none"],
    "batch",
    "normalization in D's hidden conv layer: DCGAN's batch norm, or none",
  ),
  ...TRAINING_EXTRAS,
};
/** DCGAN's networks halve the image twice: sides must be divisible by 4. `what` names the data
 * the model needs in the one-line error (cgan: labelled images; scgan: images, no labels). */
export const sidesDivisibleBy4 =
  (what = "labelled images") => (_c: unknown, data: { height: number; width: number }) =>
    data.height % 4 === 0 && data.width % 4 === 0
      ? undefined
      : `needs ${what} with sides divisible by 4, got ${data.height}×${data.width}`;

export const CGAN_CONFIG = defineConfig("cgan", CONDITIONAL_GAN_OPTIONS, {
  dataRules: [sidesDivisibleBy4()],
});
export type CganConfig = ConfigOf<typeof CGAN_CONFIG>;

export const ACGAN_CONFIG = defineConfig("acgan", {
  ...CONDITIONAL_GAN_OPTIONS,
  classWeight: number(1, { min: 0, max: 100 }, "weight of the auxiliary class loss L_C"),
}, { dataRules: [sidesDivisibleBy4()] });
export type AcganConfig = ConfigOf<typeof ACGAN_CONFIG>;

export const INFOGAN_CONFIG = defineConfig("infogan", {
  ...CONDITIONAL_GAN_OPTIONS,
  categories: int(
    10,
    { min: 2, max: 1000 },
    "K of the categorical code c ~ Cat(K) (the paper: 10 on MNIST)",
  ),
  infoWeight: number(1, { min: 0, max: 100 }, "λ of the mutual-information term (paper: 1)"),
}, { dataRules: [sidesDivisibleBy4()] });
export type InfoganConfig = ConfigOf<typeof INFOGAN_CONFIG>;

type ConditionalName = "cgan" | "acgan" | "infogan";

// ---------------------------------------------------------------------------------------------
// model

export class ConditionalGan implements GenerativeModel {
  readonly rng: Rng;
  readonly numClasses: number;
  /** z ⊕ one-hot(y) → image. */
  readonly generator: tf.Sequential;
  /** cgan: image ⊕ label maps → logit; acgan/infogan: image → [source logit, K class logits]. */
  readonly discriminator: tf.Sequential;
  readonly #generatorOptimizer: tf.Optimizer;
  readonly #discriminatorOptimizer: tf.Optimizer;
  /** Set when `generatorEma` > 0 (common.ts `generatorEmaSpec`). */
  readonly ema?: () => EmaSpec;

  constructor(
    readonly name: ConditionalName,
    readonly config: CganConfig & { classWeight?: number; infoWeight?: number },
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

  /** λ of the auxiliary term: ACGAN's class weight or InfoGAN's information weight. */
  get #auxiliaryWeight(): number {
    return (this.name === "infogan" ? this.config.infoWeight : this.config.classWeight) ?? 1;
  }

  /** InfoGAN's codes for a batch: c ~ Cat(K) uniform, drawn from the model's seeded stream. */
  #sampleCodes(n: number): tf.Tensor1D {
    return tf.tensor1d(Array.from({ length: n }, () => this.rng.int(this.numClasses)), "int32");
  }

  /** D step on real images and fakes generated for the same labels (InfoGAN: fresh codes).
   * ACGAN's class loss L_C covers reals and fakes; InfoGAN's −L_I only fakes (Q(c | G(z, c))). */
  async discriminatorStep(real: tf.Tensor4D, labels: tf.Tensor1D): Promise<Record<string, number>> {
    const oneHot = oneHotLabels(labels, this.numClasses);
    const weight = this.#auxiliaryWeight;
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
        if (this.name === "infogan" && onFake.classes) {
          const infoLoss = this.#classLoss(onFake.classes, oneHot);
          stats.info_loss = infoLoss;
          loss = tf.add(loss, tf.mul(weight, infoLoss));
        } else if (onReal.classes && onFake.classes) {
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

  /** G step for the given labels (codes): non-saturating source loss (+ the class loss for
   * ACGAN, + λ·(−L_I) for InfoGAN — the same cross-entropy of Q's head on G's output). */
  async generatorStep(labels: tf.Tensor1D): Promise<number> {
    const oneHot = oneHotLabels(labels, this.numClasses);
    const weight = this.#auxiliaryWeight;
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
    const { learningRate, decaySteps } = this.config;
    applyLinearDecay(
      [this.#generatorOptimizer, this.#discriminatorOptimizer],
      learningRate,
      step,
      decaySteps,
    );
    if (this.name === "infogan") {
      const n = batch.x.shape[0];
      const discriminatorCodes = this.#sampleCodes(n);
      const generatorCodes = this.#sampleCodes(n);
      const { loss, ...stats } = await this.discriminatorStep(batch.x, discriminatorCodes);
      const generator = await this.generatorStep(generatorCodes);
      tf.dispose([discriminatorCodes, generatorCodes]);
      return { d_loss: loss, g_loss: generator, ...stats };
    }
    if (!batch.labels) throw new Error(`${this.name}: the batch has no labels`);
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

export const infoganEntry: ModelEntry<InfoganConfig> = {
  name: "infogan",
  description:
    "InfoGAN (Chen et al. 2016) on DCGAN's networks: G(z, c) with a categorical code c; Q(c|x) on D; no labels",
  config: INFOGAN_CONFIG,
  quick: QUICK,
  defaultDataset: "mnist",
  create: (config, data, seed) =>
    new ConditionalGan("infogan", config, data, config.categories, seed),
};
