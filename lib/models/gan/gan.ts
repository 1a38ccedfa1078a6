/**
 * The original GAN — Goodfellow et al., "Generative Adversarial Nets" (2014) — with MLPs for G
 * and D, on images (flattened) or on 2-D points (`--dataset toy:8gaussians`).
 *
 * The minimax game (eq. 1):  min_G max_D  E_x[log D(x)] + E_z[log(1 − D(G(z)))].
 * Algorithm 1: k steps of D (ascending V), then one step of G. For G, either
 *  - "minimax":        minimize log(1 − D(G(z)))  — the game as written; saturates when D wins;
 *  - "non-saturating": minimize −log D(G(z))      — §3's fix: same fixed point, strong gradient
 *                                                   early on (see lib/nn/losses.ts).
 *
 * One trainer step = one D step; a G step follows the D step on trainer steps 1, k+1, 2k+1, …
 * (so k D steps per G step, `--steps 3000` with k = 3 is 1,000 G steps; a resumed run continues
 * the same schedule). Reported: d_loss, g_loss (the latest G step), d_real = mean D(x) and
 * d_fake = mean D(G(z)) from the D step.
 *
 * Layout: config → model → registry entry.
 */
import * as tf from "@tensorflow/tfjs";
import {
  discriminatorLoss,
  minimaxGeneratorLoss,
  nonSaturatingGeneratorLoss,
} from "../../nn/losses.ts";
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
import {
  applyLinearDecay,
  buildMlp,
  generatorEmaSpec,
  isPointData,
  meanProbability,
  optimizeStep,
  trainableVariables,
  TRAINING_EXTRAS,
} from "./common.ts";

// ---------------------------------------------------------------------------------------------
// config

export const GAN_CONFIG = defineConfig("gan", {
  latentDim: int(100, { min: 1, max: 4096 }, "dimension of the latent z ~ N(0, I)"),
  hiddenUnits: int(256, { min: 1, max: 8192 }, "units of every hidden layer of G and D"),
  hiddenLayers: int(2, { min: 1, max: 8 }, "hidden layers of G and of D"),
  generatorLoss: oneOf(
    ["non-saturating", "minimax"],
    "non-saturating",
    "G's loss: −log D(G(z)) (non-saturating, §3) or log(1 − D(G(z))) (minimax, eq. 1)",
  ),
  discriminatorSteps: int(1, { min: 1, max: 100 }, "k: D steps per G step (Algorithm 1)"),
  learningRate: number(2e-4, { gt: 0, max: 1 }, "Adam learning rate of G and D"),
  beta1: number(0.5, { min: 0, lt: 1 }, "Adam β₁"),
  ...TRAINING_EXTRAS,
});
export type GanConfig = ConfigOf<typeof GAN_CONFIG>;

// ---------------------------------------------------------------------------------------------
// model

export class Gan implements GenerativeModel {
  readonly name = "gan";
  readonly rng: Rng;
  /** z → x (flat); tanh output for images in [−1, 1], linear for points. */
  readonly generator: tf.Sequential;
  /** x (flat) → one logit. */
  readonly discriminator: tf.Sequential;
  readonly #generatorOptimizer: tf.AdamOptimizer;
  readonly #discriminatorOptimizer: tf.AdamOptimizer;
  /** Set when `generatorEma` > 0 (common.ts `generatorEmaSpec`). */
  readonly ema?: () => EmaSpec;
  #lastGeneratorLoss = Number.NaN;

  constructor(readonly config: GanConfig, readonly dataSpec: DataSpec, seed: number) {
    this.rng = new Rng(seed);
    const initRng = this.rng.fork();
    const dim = dataSpec.height * dataSpec.width * dataSpec.channels;
    const { hiddenUnits, hiddenLayers } = config;
    this.generator = buildMlp({
      name: "generator",
      inputDim: config.latentDim,
      hiddenUnits,
      hiddenLayers,
      activation: "relu",
      outputUnits: dim,
      outputActivation: isPointData(dataSpec) ? "linear" : "tanh",
      rng: initRng,
    });
    this.discriminator = buildMlp({
      name: "discriminator",
      inputDim: dim,
      hiddenUnits,
      hiddenLayers,
      activation: "leakyRelu",
      outputUnits: 1,
      outputActivation: "linear",
      rng: initRng,
    });
    this.#generatorOptimizer = tf.train.adam(config.learningRate, config.beta1);
    this.#discriminatorOptimizer = tf.train.adam(config.learningRate, config.beta1);
    this.ema = generatorEmaSpec(this.generator, config.generatorEma);
  }

  #latent(n: number, seed = this.rng.seed()): tf.Tensor2D {
    return tf.randomNormal([n, this.config.latentDim], 0, 1, "float32", seed);
  }

  #flat(x: tf.Tensor4D): tf.Tensor2D {
    return tf.reshape(x, [x.shape[0], -1]);
  }

  /** D step: minimize −log D(x) − log(1 − D(G(z))) over D's weights. */
  async discriminatorStep(real: tf.Tensor4D): Promise<Record<string, number>> {
    const z = this.#latent(real.shape[0]);
    const fake = tf.tidy(() => this.generator.apply(z) as tf.Tensor2D);
    const realFlat = this.#flat(real);
    const out = await optimizeStep(
      this.#discriminatorOptimizer,
      trainableVariables(this.discriminator),
      () => {
        const realLogits = this.discriminator.apply(realFlat) as tf.Tensor;
        const fakeLogits = this.discriminator.apply(fake) as tf.Tensor;
        return {
          loss: discriminatorLoss(realLogits, fakeLogits),
          stats: { d_real: meanProbability(realLogits), d_fake: meanProbability(fakeLogits) },
        };
      },
    );
    tf.dispose([z, fake, realFlat]);
    return out;
  }

  /** G step with the configured loss (minimax or non-saturating) over G's weights. */
  async generatorStep(n: number): Promise<number> {
    const z = this.#latent(n);
    const lossOf = this.config.generatorLoss === "minimax"
      ? minimaxGeneratorLoss
      : nonSaturatingGeneratorLoss;
    const { loss } = await optimizeStep(
      this.#generatorOptimizer,
      trainableVariables(this.generator),
      () => ({
        loss: lossOf(this.discriminator.apply(this.generator.apply(z) as tf.Tensor) as tf.Tensor),
      }),
    );
    z.dispose();
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
    const { loss, d_real, d_fake } = await this.discriminatorStep(batch.x);
    if ((step - 1) % this.config.discriminatorSteps === 0) {
      this.#lastGeneratorLoss = await this.generatorStep(batch.x.shape[0]);
    }
    // g_loss is the latest G step's (absent before the first G step of this process).
    const generator: Record<string, number> = Number.isNaN(this.#lastGeneratorLoss)
      ? {}
      : { g_loss: this.#lastGeneratorLoss };
    return { d_loss: loss, ...generator, d_real, d_fake };
  }

  sample(n: number, options: SampleOptions = {}): Promise<tf.Tensor4D> {
    const { height, width, channels } = this.dataSpec;
    return Promise.resolve(tf.tidy(() => {
      const flat = this.generator.apply(this.#latent(n, options.seed)) as tf.Tensor2D;
      return tf.reshape(flat, [n, height, width, channels]) as tf.Tensor4D;
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

export const ganEntry: ModelEntry<GanConfig> = {
  name: "gan",
  description:
    "vanilla GAN (Goodfellow et al. 2014): MLP G and D, minimax or non-saturating G loss",
  config: GAN_CONFIG,
  quick: { hiddenUnits: 32, latentDim: 16, steps: 20, batch: 16 },
  defaultDataset: "mnist",
  create: (config, data, seed) => new Gan(config, data, seed),
};
