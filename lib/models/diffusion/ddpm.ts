/**
 * DDPM ancestral sampling — Ho et al. 2020, Algorithm 2 — written through the posterior of
 * eq. 6–7 so that x̂₀ can be clipped and fewer than T steps work (diffusers' DDPMScheduler):
 *
 *   x_{t'} = μ̃(x̂₀, x_t) + σ z,   μ̃ = √ᾱ_{t'} β / (1 − ᾱ_t) · x̂₀ + √α (1 − ᾱ_{t'}) / (1 − ᾱ_t) · x_t,
 *   α = ᾱ_t / ᾱ_{t'},  β = 1 − α   (t' is the next visited timestep; α = α_t, β = β_t when S = T),
 *   σ² = β̃ = (1 − ᾱ_{t'}) / (1 − ᾱ_t) · β  ("fixed-small")  or  σ² = β  ("fixed-large", §3.2),
 *   and no noise on the last step. With ε-prediction and no clipping μ̃ equals Algorithm 2's
 *   (x_t − β/√(1 − ᾱ_t) ε̂)/√α exactly.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../util/rng.ts";
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

export const DDPM_VARIANCES = ["fixed-small", "fixed-large"] as const;
export type DdpmVariance = typeof DDPM_VARIANCES[number];

export interface DdpmOptions {
  variance: DdpmVariance;
  clip: X0Clip;
  /** Only matters for S < T. */
  spacing: TimestepSpacing;
}

export class DdpmSampler implements Sampler {
  readonly name = "ddpm";
  readonly initNoiseStd = 1;
  readonly options: DdpmOptions;
  timesteps: number[] = [];
  points: EvalPoint[] = [];

  constructor(readonly schedule: NoiseSchedule, options: Partial<DdpmOptions> = {}) {
    this.options = { variance: "fixed-small", clip: "none", spacing: "leading", ...options };
    this.setTimesteps(schedule.T);
  }

  setTimesteps(steps: number): void {
    this.timesteps = spacedTimesteps(this.schedule.T, steps, this.options.spacing);
    this.points = this.timesteps.map((t) => timestepPoint(this.schedule, t));
  }

  /** ᾱ_t, ᾱ_{t'} and the per-step variance of step i (exposed for tests). */
  coefficients(index: number) {
    const t = this.timesteps[index], next = this.timesteps[index + 1];
    const ab = this.schedule.alphaBar[t];
    const abNext = next === undefined ? 1 : this.schedule.alphaBar[next];
    const alpha = ab / abNext, beta = 1 - alpha;
    const variance = next === undefined
      ? 0
      : this.options.variance === "fixed-small"
      ? Math.max((1 - abNext) / (1 - ab) * beta, 1e-20)
      : beta;
    return {
      alphaBar: ab,
      alphaBarNext: abNext,
      coefX0: Math.sqrt(abNext) * beta / (1 - ab),
      coefXt: Math.sqrt(alpha) * (1 - abNext) / (1 - ab),
      variance,
    };
  }

  step(prediction: Prediction, index: number, sample: tf.Tensor4D, rng: Rng): tf.Tensor4D {
    const c = this.coefficients(index);
    const { x0 } = clipPrediction(prediction, this.options.clip, sample, c.alphaBar);
    const mean = tf.add(tf.mul(x0, c.coefX0), tf.mul(sample, c.coefXt)) as tf.Tensor4D;
    if (c.variance === 0) return mean;
    return tf.add(mean, tf.mul(gaussianLike(sample, rng), Math.sqrt(c.variance)));
  }

  reset(): void {}
}
