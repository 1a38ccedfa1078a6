/**
 * DDIM — Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models".
 *
 * Sampling (eq. 12), from timestep t to the next visited t' (ᾱ_{t'} = 1 after the last step):
 *   x_{t'} = √ᾱ_{t'} x̂₀ + √(1 − ᾱ_{t'} − σ²) ε̂ + σ z,
 *   σ = η √((1 − ᾱ_{t'})/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_{t'})            (eq. 16)
 * η = 0: deterministic (the probability-flow ODE's Euler step in the √(1−ᾱ)/√ᾱ variable);
 * η = 1 with S = T: σ² = β̃_t, the DDPM posterior variance.
 * Any S ≤ T with `spacing` linspace | leading | trailing | quadratic (spacing.ts). Unlike diffusers, which
 * steps to t − T/S whatever the spacing, we step to the next timestep actually visited.
 *
 * Inversion (DdimInverseSampler, §4.3 / eq. 13 run backwards): image → noise by the same
 * deterministic update with the levels ascending, ε̂ taken at the target timestep on the
 * current x (the approximation of diffusers' DDIMInverseScheduler and null-text inversion).
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../util/rng.ts";
import { UserInputError } from "../../util/errors.ts";
import type { NoiseSchedule } from "./schedule.ts";
import {
  clipPrediction,
  type EvalPoint,
  gaussianLike,
  type Prediction,
  type Sampler,
  timestepPoint,
  type X0Clip,
} from "./denoiser.ts";
import { spacedTimesteps, type TimestepSpacing } from "./spacing.ts";

export interface DdimOptions {
  /** 0 = deterministic DDIM, 1 = DDPM-like ancestral noise. */
  eta: number;
  spacing: TimestepSpacing;
  clip: X0Clip;
}

/** diffusers' DDIMScheduler defaults: leading spacing, η = 0, no clipping here (diffusers clips
 * by default; for a model trained on [−1, 1] data it rarely matters at η = 0). */
export const DDIM_DEFAULTS: Readonly<DdimOptions> = Object.freeze({
  eta: 0,
  spacing: "leading",
  clip: "none",
});

export class DdimSampler implements Sampler {
  readonly name = "ddim";
  readonly initNoiseStd = 1;
  readonly options: DdimOptions;
  timesteps: number[] = [];
  points: EvalPoint[] = [];

  constructor(readonly schedule: NoiseSchedule, options: Partial<DdimOptions> = {}) {
    this.options = { ...DDIM_DEFAULTS, ...options };
    if (!(this.options.eta >= 0 && this.options.eta <= 1)) {
      throw new UserInputError(`DDIM eta must be in [0, 1], got ${this.options.eta}`);
    }
    this.setTimesteps(Math.min(50, schedule.T));
  }

  setTimesteps(steps: number): void {
    this.timesteps = spacedTimesteps(this.schedule.T, steps, this.options.spacing);
    this.points = this.timesteps.map((t) => timestepPoint(this.schedule, t));
  }

  /** ᾱ_t, ᾱ_{t'} and σ of step i (eq. 16; exposed for tests). */
  coefficients(index: number) {
    const t = this.timesteps[index], next = this.timesteps[index + 1];
    const ab = this.schedule.alphaBar[t];
    const abNext = next === undefined ? 1 : this.schedule.alphaBar[next];
    const sigma = this.options.eta *
      Math.sqrt((1 - abNext) / (1 - ab)) * Math.sqrt(1 - ab / abNext);
    return { alphaBar: ab, alphaBarNext: abNext, sigma };
  }

  step(prediction: Prediction, index: number, sample: tf.Tensor4D, rng: Rng): tf.Tensor4D {
    const { alphaBar, alphaBarNext, sigma } = this.coefficients(index);
    const { x0, eps } = clipPrediction(prediction, this.options.clip, sample, alphaBar);
    const direction = Math.sqrt(Math.max(1 - alphaBarNext - sigma * sigma, 0));
    const mean = tf.add(tf.mul(x0, Math.sqrt(alphaBarNext)), tf.mul(eps, direction)) as tf.Tensor4D;
    if (sigma === 0) return mean;
    return tf.add(mean, tf.mul(gaussianLike(sample, rng), sigma));
  }

  reset(): void {}
}

/** DDIM inversion: x_0 → x_T along the deterministic (η = 0) path, S steps with the same
 * timesteps a DdimSampler with these options visits (ascending). Start from the image itself
 * (initNoiseStd is irrelevant: pass the image as the loop's start). */
export class DdimInverseSampler implements Sampler {
  readonly name = "ddim-inverse";
  readonly initNoiseStd = 0;
  timesteps: number[] = [];
  points: EvalPoint[] = [];

  constructor(
    readonly schedule: NoiseSchedule,
    readonly spacing: TimestepSpacing = DDIM_DEFAULTS.spacing,
  ) {
    this.setTimesteps(Math.min(50, schedule.T));
  }

  setTimesteps(steps: number): void {
    this.timesteps = spacedTimesteps(this.schedule.T, steps, this.spacing).reverse();
    this.points = this.timesteps.map((t) => timestepPoint(this.schedule, t));
  }

  /** From level ᾱ of the previous point (1 = clean at i = 0) up to points[i], with ε̂ evaluated
   * at points[i] on the current x. */
  step(prediction: Prediction, index: number, sample: tf.Tensor4D): tf.Tensor4D {
    const abFrom = index === 0 ? 1 : this.points[index - 1].alphaBar;
    const abTo = this.points[index].alphaBar;
    const x0 = tf.div(
      tf.sub(sample, tf.mul(prediction.eps, Math.sqrt(1 - abFrom))),
      Math.sqrt(abFrom),
    );
    return tf.add(tf.mul(x0, Math.sqrt(abTo)), tf.mul(prediction.eps, Math.sqrt(1 - abTo)));
  }

  reset(): void {}
}
