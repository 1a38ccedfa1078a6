/**
 * DDPM as a genlab model — Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models" (2020) —
 * built in diffusers' shape: a denoising network (the reference U-Net, unet.ts) plus a noise
 * schedule (schedule.ts), trained here; sampling is delegated to the separate samplers (ddpm.ts,
 * ddim.ts, dpm_solver.ts, karras.ts) through one `(x_t, t, labels?) → prediction` function.
 *
 * Training is Algorithm 1 of the paper, with the prediction target and the loss weighting as
 * options:
 *   x₀ ~ data, t ~ Uniform{0 … T−1}, ε ~ N(0, I)
 *   x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε                                  (eq. 4, q(x_t | x₀) in closed form)
 *   target = ε  |  x₀  |  v = √ᾱ_t ε − √(1 − ᾱ_t) x₀              (Salimans & Ho 2022, §4)
 *   loss = mean_b  w(t_b) · ‖target − net(x_t, t)‖² / D           (D = pixels; eq. 14 for w = 1, ε)
 * "simple" is w = 1 (L_simple). "min-snr" is Min-SNR-γ (Hang et al. 2023, "Efficient Diffusion
 * Training via Min-SNR Weighting Strategy", eq. 8 and §3.4): the x₀-space weight min(SNR, γ),
 * expressed for the chosen target —
 *   ε: min(SNR, γ) / SNR        x₀: min(SNR, γ)        v: min(SNR, γ) / (SNR + 1)
 * — which stops the nearly noise-free steps (huge SNR) from dominating the gradient.
 *
 * The trainer keeps an EMA of the weights (`ema()`, lib/train/ema.ts); sample grids, `sample`
 * and `eval` use it. Optional class conditioning adds a learned label embedding to the U-Net's
 * time embedding (unet.ts).
 *
 * Layout: config → model (loss, train step, sampling) → registry entry.
 */
import * as tf from "@tensorflow/tfjs";
import { adam } from "../../nn/optimizers.ts";
import type { WeightOwner } from "../../nn/state.ts";
import { UserInputError } from "../../util/errors.ts";
import { Rng } from "../../util/rng.ts";
import { learningRateAt, setLearningRate } from "../../train/lr_schedule.ts";
import { type ConfigOf, defineConfig, int, number, oneOf } from "../config.ts";
import type {
  Batch,
  DataSpec,
  EmaSpec,
  GenerativeModel,
  ModelEntry,
  SampleOptions,
} from "../types.ts";
import { UNet } from "./unet.ts";
import { BETA_SCHEDULES, NoiseSchedule, TERMINAL_SNR } from "./schedule.ts";
import { LOSS_WEIGHTINGS, lossWeight, PREDICTION_TYPES, predictionTarget } from "./prediction.ts";
import { Denoiser, type DiffusionNet } from "./denoiser.ts";
import { parseSamplingMethod, sampleDiffusion, SAMPLER_NAMES } from "./samplers.ts";

// ---------------------------------------------------------------------------------------------
// config

export const DDPM_CONFIG = defineConfig("ddpm", {
  schedule: oneOf(
    BETA_SCHEDULES,
    "linear",
    "β schedule (linear: Ho et al. 1e-4…0.02; cosine: Nichol & Dhariwal 2021)",
  ),
  timesteps: int(1000, { min: 2, max: 10000 }, "diffusion steps T"),
  terminalSnr: oneOf(
    TERMINAL_SNR,
    "as-is",
    "zero: rescale the schedule so ᾱ_T = 0 and x_T is pure noise (Lin et al. 2024; needs v or x0)",
  ),
  predictionType: oneOf(
    PREDICTION_TYPES,
    "epsilon",
    "what the network predicts: the noise ε, the clean image x₀, or v = √ᾱ ε − √(1−ᾱ) x₀",
  ),
  lossWeighting: oneOf(
    LOSS_WEIGHTINGS,
    "simple",
    "simple: plain MSE on the target (L_simple); min-snr: Min-SNR-γ (Hang et al. 2023)",
  ),
  minSnrGamma: number(5, { gt: 0, max: 1e6 }, "γ of Min-SNR-γ (paper: 5)"),
  inputPerturbation: number(
    0,
    { min: 0, max: 10 },
    "γ of input perturbation (Ning et al. 2023, DDPM-IP; paper: 0.1): x_t from ε + γξ, target from ε",
  ),
  timestepSampling: oneOf(
    ["uniform", "log-normal"],
    "uniform",
    "how training draws t: uniform (Algorithm 1) or EDM's log-normal σ (Karras et al. 2022, §5)",
  ),
  logSigmaMean: number(-1.2, { min: -20, max: 20 }, "log-normal: mean of ln σ (EDM P_mean: −1.2)"),
  logSigmaStd: number(1.2, { gt: 0, max: 20 }, "log-normal: std of ln σ (EDM P_std: 1.2)"),
  baseChannels: int(32, { min: 4, max: 512 }, "U-Net width at full resolution"),
  channelMults: oneOf(
    ["1,2,4", "1,2,2", "1,2", "1,1,2"],
    "1,2,4",
    "U-Net width multipliers per resolution (last = bottleneck)",
  ),
  attention: oneOf(
    ["bottleneck", "none"],
    "bottleneck",
    "self-attention at the bottleneck resolution (7×7 for 28×28), or none",
  ),
  groups: int(8, { min: 1, max: 64 }, "group-norm groups (must divide every width)"),
  conditioning: oneOf(
    ["none", "class"],
    "none",
    "class: a learned label embedding added to the time embedding (sample with labels)",
  ),
  learningRate: number(2e-4, { gt: 0, max: 1 }, "Adam learning rate (Ho et al.: 2e-4)"),
  warmupSteps: int(0, { min: 0, max: 1e6 }, "linear learning-rate warm-up steps (Ho et al.: 5000)"),
  learningRateDecay: oneOf(
    ["constant", "cosine"],
    "constant",
    "after warm-up: constant (Ho et al.) or cosine decay to 0 at step decaySteps",
  ),
  decaySteps: int(0, { min: 0, max: 1e8 }, "cosine: the step where the rate reaches 0 (--steps)"),
  gradClip: number(1, { min: 0, max: 1e6 }, "clip the global gradient norm to this (0 = off)"),
  emaDecay: number(0.999, { min: 0, lt: 1 }, "EMA decay of the weights used for sampling"),
  emaWarmup: int(10, { min: 0, max: 1e6 }, "EMA warm-up: decay_n = min(decay, (1+n)/(this+n))"),
  gridSampler: oneOf(
    SAMPLER_NAMES,
    "ddim",
    "sampler for the training-time sample grids (and `sample` without --sampler)",
  ),
  gridSteps: int(50, { min: 1, max: 10000 }, "steps of that sampler"),
}, {
  // The EMA never feeds back into training, so a resumed run may continue with another decay.
  resumable: ["emaDecay", "emaWarmup"],
  rules: [
    {
      check: (c) => c.channelMults.split(",").every((m) => (c.baseChannels * +m) % c.groups === 0),
      message: "groups must divide baseChannels × every channel multiplier",
    },
    {
      // ε alone cannot give x̂₀ where ᾱ = 0 (prediction.ts), so every sampler would fail at t = T.
      check: (c) => c.terminalSnr === "as-is" || c.predictionType !== "epsilon",
      message: "terminalSnr=zero needs predictionType=v (or x0): ε cannot give x̂₀ at ᾱ_T = 0",
    },
    {
      check: (c) => c.learningRateDecay === "constant" || c.decaySteps > c.warmupSteps,
      message: "learningRateDecay=cosine needs decaySteps > warmupSteps: set decaySteps=<--steps>",
    },
  ],
  dataRules: [
    (c, data) => {
      const levels = c.channelMults.split(",").length;
      return data.height === data.width && data.height % 2 ** (levels - 1) === 0
        ? undefined
        : `needs square images with sides divisible by ${
          2 ** (levels - 1)
        }, got ${data.height}×${data.width}`;
    },
  ],
});
export type DdpmConfig = ConfigOf<typeof DDPM_CONFIG>;

// ---------------------------------------------------------------------------------------------
// model

export class Ddpm implements GenerativeModel {
  readonly name = "ddpm";
  readonly rng: Rng;
  readonly network: UNet;
  readonly schedule: NoiseSchedule;
  readonly numClasses: number;
  readonly #optimizer: tf.Optimizer;
  /** √ᾱ_t, √(1−ᾱ_t) and the Min-SNR weight per t, float32 on the device (gathered per batch). */
  readonly #sqrtAlphaBar: tf.Tensor1D;
  readonly #sqrtOneMinusAlphaBar: tf.Tensor1D;
  readonly #lossWeight: tf.Tensor1D;

  constructor(
    readonly config: DdpmConfig,
    readonly dataSpec: DataSpec,
    numClasses: number,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    this.numClasses = numClasses;
    const levels = config.channelMults.split(",").map(Number);
    this.network = new UNet({
      baseChannels: config.baseChannels,
      channelMults: levels,
      attentionResolutions: config.attention === "bottleneck"
        ? [dataSpec.height / 2 ** (levels.length - 1)]
        : [],
      groups: config.groups,
      timeEmbeddingDim: 4 * config.baseChannels,
      imageChannels: dataSpec.channels,
      imageSize: dataSpec.height,
      numClasses: config.conditioning === "class" ? numClasses : null,
    }, this.rng.fork());
    const schedule = this.schedule = new NoiseSchedule({
      kind: config.schedule,
      timesteps: config.timesteps,
      terminalSnr: config.terminalSnr,
    });
    const weights = schedule.snr.map((snr) =>
      lossWeight(config.lossWeighting, config.predictionType, snr, config.minSnrGamma)
    );
    this.#sqrtAlphaBar = tf.tensor1d(Float32Array.from(schedule.sqrtAlphaBar));
    this.#sqrtOneMinusAlphaBar = tf.tensor1d(Float32Array.from(schedule.sqrtOneMinusAlphaBar));
    this.#lossWeight = tf.tensor1d(Float32Array.from(weights));
    // tf.train.adam's math and state layout, one fused native update where the backend has it.
    this.#optimizer = adam({
      learningRate: config.learningRate,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
    });
  }

  /** The Algorithm 1 loss for given x₀, timesteps t ([B] int32) and noise ε (a scalar). Public
   * so tests can check it against an independent computation with fixed t and ε.
   *
   * With `inputPerturbation` γ > 0 and a second draw ξ, the network sees x_t built from ε + γξ
   * but is still asked for the target of ε (Ning et al. 2023, "DDPM-IP"): training inputs carry
   * the kind of error the sampler's own earlier steps leave in x_t ("exposure bias"). */
  loss(
    x0: tf.Tensor4D,
    t: tf.Tensor1D,
    noise: tf.Tensor4D,
    labels?: tf.Tensor1D,
    perturbation?: tf.Tensor4D,
  ): tf.Scalar {
    return tf.tidy(() => {
      const col = (table: tf.Tensor1D) => tf.reshape(tf.gather(table, t), [-1, 1, 1, 1]);
      const a = col(this.#sqrtAlphaBar), s = col(this.#sqrtOneMinusAlphaBar);
      const gamma = this.config.inputPerturbation;
      const inputNoise = perturbation && gamma > 0
        ? tf.add(noise, tf.mul(gamma, perturbation))
        : noise;
      const xt = tf.add(tf.mul(a, x0), tf.mul(s, inputNoise)) as tf.Tensor4D;
      const target = predictionTarget(this.config.predictionType, x0, noise, { a, s });
      const output = this.network.apply(xt, t, this.#labelsFor(labels));
      const perImage = tf.mean(tf.square(tf.sub(output, target)), [1, 2, 3]);
      return tf.mean(tf.mul(tf.gather(this.#lossWeight, t), perImage)) as tf.Scalar;
    });
  }

  /** Training timesteps, drawn on the JS side from the model's RNG (checkpointed): uniform on
   * {0 … T−1} (Algorithm 1), or EDM's p_train — ln σ ~ N(P_mean, P_std²) with σ = √((1−ᾱ)/ᾱ)
   * (Karras et al. 2022, §5 and Table 1) — mapped to the t whose σ is nearest in log σ. */
  drawTimesteps(n: number): Int32Array {
    const t = new Int32Array(n);
    const { timestepSampling, logSigmaMean, logSigmaStd, timesteps } = this.config;
    for (let i = 0; i < n; i++) {
      t[i] = timestepSampling === "uniform" ? this.rng.int(timesteps) : Math.round(
        this.schedule.timeForSigma(Math.exp(this.rng.normal(logSigmaMean, logSigmaStd))),
      );
    }
    return t;
  }

  /** The step's learning rate: linear warm-up (Ho et al. App. B), then constant or a cosine
   * decay to 0 at `decaySteps` (Loshchilov & Hutter 2017, without restarts). */
  learningRateAt(step: number): number {
    const { warmupSteps, learningRate, learningRateDecay, decaySteps } = this.config;
    return learningRateAt(
      { base: learningRate, warmupSteps, decay: learningRateDecay, decaySteps },
      step,
    );
  }

  #labelsFor(labels?: tf.Tensor1D): tf.Tensor1D | undefined {
    return this.config.conditioning === "class" ? labels : undefined;
  }

  async trainStep(batch: Batch, step: number): Promise<Record<string, number>> {
    if (this.config.conditioning === "class" && !batch.labels) {
      throw new UserInputError("ddpm conditioning=class needs a dataset with labels");
    }
    const { gradClip } = this.config;
    setLearningRate(this.#optimizer, this.learningRateAt(step));
    const t = tf.tensor1d(this.drawTimesteps(batch.x.shape[0]), "int32");
    const noise = tf.randomNormal(batch.x.shape, 0, 1, "float32", this.rng.seed()) as tf.Tensor4D;
    // ξ is drawn only when used, so γ = 0 keeps the RNG stream (and the losses) of earlier runs.
    const perturbation = this.config.inputPerturbation > 0
      ? tf.randomNormal(batch.x.shape, 0, 1, "float32", this.rng.seed()) as tf.Tensor4D
      : undefined;
    const variables = this.network.variables();
    const [loss, gradNorm] = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => this.loss(batch.x, t, noise, batch.labels, perturbation),
        variables,
      );
      const norm = globalNorm(Object.values(grads));
      const scale = gradClip > 0
        ? tf.minimum(1, tf.div(gradClip, tf.maximum(norm, 1e-12)))
        : tf.scalar(1);
      this.#optimizer.applyGradients(
        variables.map((v) => ({ name: v.name, tensor: tf.mul(grads[v.name], scale) })),
      );
      return [value, norm];
    });
    t.dispose();
    noise.dispose();
    perturbation?.dispose();
    const [lossValue] = await loss.data();
    const [normValue] = await gradNorm.data();
    loss.dispose();
    gradNorm.dispose();
    return { loss: lossValue, grad_norm: normValue };
  }

  /** The network as the samplers see it: (x_t, t, labels?) → its raw prediction. */
  net(): DiffusionNet {
    return (x, t, labels) => this.network.apply(x, t, this.#labelsFor(labels));
  }

  async sample(n: number, options: SampleOptions = {}): Promise<tf.Tensor4D> {
    const method = parseSamplingMethod(
      options.method ?? {},
      options.method?.sampler === undefined
        ? { sampler: this.config.gridSampler, steps: this.config.gridSteps }
        : {},
    );
    let labels: tf.Tensor1D | undefined;
    if (this.config.conditioning === "class") {
      const given = options.labels ?? Array.from({ length: n }, (_, i) => i % this.numClasses);
      if (given.length !== n) {
        throw new UserInputError(`ddpm: ${given.length} labels given for ${n} samples`);
      }
      labels = tf.tensor1d(given, "int32");
    }
    try {
      const { height, width, channels } = this.dataSpec;
      const denoiser = new Denoiser(
        this.net(),
        this.config.predictionType,
        this.schedule,
        labels,
        method.epsilonScale,
      );
      const { sample } = await sampleDiffusion(denoiser, method, [n, height, width, channels], {
        seed: options.seed ?? this.rng.seed(),
        onProgress: options.onProgress,
      });
      const out = tf.clipByValue(sample, -1, 1) as tf.Tensor4D;
      sample.dispose();
      return out;
    } finally {
      labels?.dispose();
    }
  }

  ema(): EmaSpec {
    return {
      variables: this.network.variables(),
      decay: this.config.emaDecay,
      warmup: this.config.emaWarmup,
    };
  }

  weightGroups(): Record<string, WeightOwner> {
    return { unet: this.network.variables() };
  }

  optimizers(): Record<string, tf.Optimizer> {
    return { adam: this.#optimizer };
  }

  dispose(): void {
    this.network.dispose();
    this.#optimizer.dispose();
    this.#sqrtAlphaBar.dispose();
    this.#sqrtOneMinusAlphaBar.dispose();
    this.#lossWeight.dispose();
  }
}

/** √(Σ‖g‖²) over all gradients. */
function globalNorm(grads: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

// ---------------------------------------------------------------------------------------------
// registry entry

export const ddpmEntry: ModelEntry<DdpmConfig> = {
  name: "ddpm",
  description:
    "DDPM (Ho et al. 2020): U-Net denoiser, ε/x₀/v targets, EMA; DDPM/DDIM/DPM++/Karras samplers",
  config: DDPM_CONFIG,
  quick: {
    baseChannels: 8,
    channelMults: "1,2",
    attention: "none",
    groups: 4,
    timesteps: 100,
    gridSteps: 5,
    steps: 10,
    batch: 8,
  },
  defaultDataset: "fashion-mnist",
  create: (config, data, seed) => new Ddpm(config, data, data.numClasses, seed),
};
