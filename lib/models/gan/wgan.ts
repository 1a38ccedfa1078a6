/**
 * Wasserstein GANs: a critic f (no sigmoid) estimates W₁(p_data, p_G) through the
 * Kantorovich–Rubinstein duality  W₁ = sup_{‖f‖_L ≤ 1} E_x[f(x)] − E_z[f(G(z))],
 * and G minimizes the estimate. Two ways to keep f (roughly) 1-Lipschitz:
 *
 *  - **wgan** — Arjovsky, Chintala & Bottou (2017), Algorithm 1: clip every critic weight to
 *    [−c, c] after each critic update; RMSProp (lr 5e-5), n_critic = 5, c = 0.01.
 *  - **wgan-gp** — Gulrajani et al. (2017), Algorithm 1: no clipping; add λ·E[(‖∇f(x̂)‖ − 1)²] on
 *    random interpolates x̂ of real and fake (eq. 3, lib/nn/losses.ts `gradientPenalty`); Adam
 *    (lr 1e-4, β = (0, 0.9)), n_critic = 5, λ = 10, and no batch norm in the critic (the penalty
 *    is per sample).
 *
 * Networks: MLPs on 2-D points (`--dataset toy:8gaussians`), DCGAN's conv G and a conv critic
 * without normalization on images (`network: auto` picks by the data). One trainer step = one
 * critic step; a G step follows it on trainer steps 1, n_critic + 1, 2·n_critic + 1, ….
 * Reported: critic_loss, g_loss, w_estimate = E f(x) − E f(G(z)) (the critic's W₁ estimate),
 * and gp for wgan-gp.
 *
 * Layout: config → model → registry entries.
 */
import * as tf from "@tensorflow/tfjs";
import {
  gradientPenalty,
  wassersteinCriticLoss,
  wassersteinGeneratorLoss,
} from "../../nn/losses.ts";
import type { WeightOwner } from "../../nn/state.ts";
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
  applyLinearDecay,
  buildMlp,
  generatorEmaSpec,
  isPointData,
  optimizeStep,
  trainableVariables,
  TRAINING_EXTRAS,
} from "./common.ts";

// ---------------------------------------------------------------------------------------------
// config

/** Conv networks need image sides divisible by 4 (DCGAN's two stride-2 layers). */
const convNeedsImages = (
  config: { network: string },
  data: { height: number; width: number; channels: number },
) =>
  config.network === "mlp" || isPointData(data) && config.network === "auto" ||
    (data.height % 4 === 0 && data.width % 4 === 0)
    ? undefined
    : `network '${config.network}' needs image sides divisible by 4, got ${data.height}×${data.width}` +
      " (use --set network=mlp)";

const NETWORKS = {
  latentDim: int(100, { min: 1, max: 4096 }, "dimension of the latent z ~ N(0, I)"),
  network: oneOf(
    ["auto", "mlp", "conv"],
    "auto",
    "networks: MLPs (points) or DCGAN-style convs (images); auto picks by the data",
  ),
  hiddenUnits: int(256, { min: 1, max: 8192 }, "MLP: units per hidden layer"),
  hiddenLayers: int(3, { min: 1, max: 8 }, "MLP: hidden layers of G and of the critic"),
  generatorFilters: int(64, { min: 1, max: 1024 }, "conv: channels of G's last hidden layer"),
  criticFilters: int(64, { min: 1, max: 1024 }, "conv: channels of the critic's first layer"),
  criticSteps: int(5, { min: 1, max: 100 }, "n_critic: critic steps per G step"),
  ...TRAINING_EXTRAS,
};

export const WGAN_CONFIG = defineConfig("wgan", {
  ...NETWORKS,
  learningRate: number(5e-5, { gt: 0, max: 1 }, "RMSProp learning rate (paper: 5e-5)"),
  clipValue: number(0.01, { gt: 0, max: 10 }, "c: critic weights are clipped to [−c, c]"),
}, { dataRules: [convNeedsImages] });
export type WganConfig = ConfigOf<typeof WGAN_CONFIG>;

export const WGAN_GP_CONFIG = defineConfig("wgan-gp", {
  ...NETWORKS,
  learningRate: number(1e-4, { gt: 0, max: 1 }, "Adam learning rate (paper: 1e-4)"),
  beta1: number(0, { min: 0, lt: 1 }, "Adam β₁ (paper: 0)"),
  beta2: number(0.9, { min: 0, lt: 1 }, "Adam β₂ (paper: 0.9)"),
  penaltyWeight: number(10, { min: 0, max: 1000 }, "λ of the gradient penalty (paper: 10)"),
}, { dataRules: [convNeedsImages] });
export type WganGpConfig = ConfigOf<typeof WGAN_GP_CONFIG>;

type AnyWganConfig = WganConfig | WganGpConfig;

// ---------------------------------------------------------------------------------------------
// model

export class Wgan implements GenerativeModel {
  readonly rng: Rng;
  readonly generator: tf.Sequential;
  readonly critic: tf.Sequential;
  readonly #generatorOptimizer: tf.Optimizer;
  readonly #criticOptimizer: tf.Optimizer;
  readonly #mlp: boolean;
  /** Set when `generatorEma` > 0 (common.ts `generatorEmaSpec`). */
  readonly ema?: () => EmaSpec;
  #lastGeneratorLoss = Number.NaN;

  constructor(
    readonly name: "wgan" | "wgan-gp",
    readonly config: AnyWganConfig,
    readonly dataSpec: DataSpec,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    const initRng = this.rng.fork();
    this.#mlp = config.network === "mlp" || (config.network === "auto" && isPointData(dataSpec));
    const dim = dataSpec.height * dataSpec.width * dataSpec.channels;
    if (this.#mlp) {
      const shared = {
        hiddenUnits: config.hiddenUnits,
        hiddenLayers: config.hiddenLayers,
        activation: "relu" as const,
        rng: initRng,
      };
      this.generator = buildMlp({
        ...shared,
        name: "generator",
        inputDim: config.latentDim,
        outputUnits: dim,
        outputActivation: isPointData(dataSpec) ? "linear" : "tanh",
      });
      this.critic = buildMlp({
        ...shared,
        name: "critic",
        inputDim: dim,
        outputUnits: 1,
        outputActivation: "linear",
      });
    } else {
      const dcgan = {
        ...DCGAN_DEFAULTS,
        latentDim: config.latentDim,
        generatorFilters: config.generatorFilters,
        discriminatorFilters: config.criticFilters,
        discriminatorNorm: "none" as const,
      };
      this.generator = buildGenerator(dcgan, dataSpec, initRng);
      this.critic = buildDiscriminator(dcgan, dataSpec, initRng);
    }
    if (name === "wgan") {
      this.#generatorOptimizer = tf.train.rmsprop(config.learningRate);
      this.#criticOptimizer = tf.train.rmsprop(config.learningRate);
    } else {
      const { learningRate, beta1, beta2 } = config as WganGpConfig;
      // tf.train.adam's math and state layout, one fused native update where the backend has it.
      this.#generatorOptimizer = adam({ learningRate, beta1, beta2 });
      this.#criticOptimizer = adam({ learningRate, beta1, beta2 });
    }
    this.ema = generatorEmaSpec(this.generator, config.generatorEma);
  }

  #latent(n: number, seed = this.rng.seed()): tf.Tensor2D {
    return tf.randomNormal([n, this.config.latentDim], 0, 1, "float32", seed);
  }

  /** Generated samples in the data's NHWC shape. */
  #generate(z: tf.Tensor2D, training: boolean): tf.Tensor4D {
    const out = this.generator.apply(z, { training }) as tf.Tensor;
    const { height, width, channels } = this.dataSpec;
    return tf.reshape(out, [z.shape[0], height, width, channels]);
  }

  /** f(x), shape [N, 1]. */
  criticOf = (x: tf.Tensor): tf.Tensor => {
    const input = this.#mlp ? tf.reshape(x, [x.shape[0], -1]) : x;
    return this.critic.apply(input, { training: true }) as tf.Tensor;
  };

  /** Algorithm 1's critic update (plus clipping or the gradient penalty). */
  async criticStep(real: tf.Tensor4D): Promise<Record<string, number>> {
    const n = real.shape[0];
    const z = this.#latent(n);
    const fake = tf.tidy(() => this.#generate(z, true));
    const epsilon = tf.randomUniform([n], 0, 1, "float32", this.rng.seed()) as tf.Tensor1D;
    const lambda = this.name === "wgan-gp" ? (this.config as WganGpConfig).penaltyWeight : 0;
    const out = await optimizeStep(
      this.#criticOptimizer,
      trainableVariables(this.critic),
      () => {
        const critic = wassersteinCriticLoss(this.criticOf(real), this.criticOf(fake));
        const stats: Record<string, tf.Scalar> = { w_estimate: tf.neg(critic) };
        if (lambda === 0) return { loss: critic, stats };
        const gp = gradientPenalty(this.criticOf, real, fake, epsilon);
        stats.gp = gp;
        return { loss: tf.add(critic, tf.mul(lambda, gp)), stats };
      },
    );
    tf.dispose([z, fake, epsilon]);
    if (this.name === "wgan") this.clipCritic();
    return out;
  }

  /** WGAN's crude Lipschitz constraint: every critic weight into [−c, c]. */
  clipCritic(): void {
    const c = (this.config as WganConfig).clipValue;
    tf.tidy(() => {
      for (const v of trainableVariables(this.critic)) v.assign(tf.clipByValue(v, -c, c));
    });
  }

  async generatorStep(n: number): Promise<number> {
    const z = this.#latent(n);
    const { loss } = await optimizeStep(
      this.#generatorOptimizer,
      trainableVariables(this.generator),
      () => ({ loss: wassersteinGeneratorLoss(this.criticOf(this.#generate(z, true))) }),
    );
    z.dispose();
    return loss;
  }

  async trainStep(batch: Batch, step: number): Promise<Record<string, number>> {
    const { learningRate, decaySteps } = this.config;
    applyLinearDecay(
      [this.#generatorOptimizer, this.#criticOptimizer],
      learningRate,
      step,
      decaySteps,
    );
    const { loss, ...stats } = await this.criticStep(batch.x);
    if ((step - 1) % this.config.criticSteps === 0) {
      this.#lastGeneratorLoss = await this.generatorStep(batch.x.shape[0]);
    }
    // g_loss is the latest G step's (absent before the first G step of this process).
    const generator: Record<string, number> = Number.isNaN(this.#lastGeneratorLoss)
      ? {}
      : { g_loss: this.#lastGeneratorLoss };
    return { critic_loss: loss, ...generator, ...stats };
  }

  sample(n: number, options: SampleOptions = {}): Promise<tf.Tensor4D> {
    return Promise.resolve(tf.tidy(() => this.#generate(this.#latent(n, options.seed), false)));
  }

  weightGroups(): Record<string, WeightOwner> {
    return { generator: this.generator, critic: this.critic };
  }

  optimizers(): Record<string, tf.Optimizer> {
    return { generator: this.#generatorOptimizer, critic: this.#criticOptimizer };
  }

  dispose(): void {
    this.generator.dispose();
    this.critic.dispose();
    this.#generatorOptimizer.dispose();
    this.#criticOptimizer.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// registry entries

const QUICK = {
  hiddenUnits: 32,
  generatorFilters: 16,
  criticFilters: 16,
  latentDim: 16,
  steps: 20,
  batch: 16,
};

export const wganEntry: ModelEntry<WganConfig> = {
  name: "wgan",
  description: "WGAN (Arjovsky et al. 2017): critic with weight clipping, RMSProp, n_critic",
  config: WGAN_CONFIG,
  quick: QUICK,
  defaultDataset: "mnist",
  create: (config, data, seed) => new Wgan("wgan", config, data, seed),
};

export const wganGpEntry: ModelEntry<WganGpConfig> = {
  name: "wgan-gp",
  description: "WGAN-GP (Gulrajani et al. 2017): critic with a gradient penalty, Adam(0, 0.9)",
  config: WGAN_GP_CONFIG,
  quick: QUICK,
  defaultDataset: "mnist",
  create: (config, data, seed) => new Wgan("wgan-gp", config, data, seed),
};
