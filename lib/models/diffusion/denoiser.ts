/**
 * The one place a network's raw output becomes what samplers use (k-diffusion's lesson: wrap
 * the model once, and every sampler works with every prediction type).
 *
 *   DiffusionNet  (x_t, t, labels?) → raw output of the declared `predictionType`
 *   Denoiser      predict(x_t, point) → { ε̂, x̂₀ }   (one network evaluation, counted)
 *                 denoise(x, σ) → D(x; σ) = x̂₀       (Karras/EDM view, x = x_0 + σ ε)
 *
 * Samplers hold x in the VP space of the schedule (x_t = √ᾱ x_0 + √(1 − ᾱ) ε); Karras samplers
 * convert to x_t/√ᾱ internally. An `EvalPoint` is where the network is called: the time t fed to
 * it (an integer timestep, or a fractional one for a Karras σ) and the exact ᾱ at that point.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../util/rng.ts";
import type { NoiseSchedule } from "./schedule.ts";
import { type PredictionType, toEpsilon, toX0 } from "./prediction.ts";
import { UserInputError } from "../../util/errors.ts";

/** A diffusion network: x_t [B,H,W,C], timesteps t [B] (float; integer for discrete samplers),
 * optional class labels [B] → a [B,H,W,C] prediction of the model's `predictionType`. */
export type DiffusionNet = (xt: tf.Tensor4D, t: tf.Tensor1D, labels?: tf.Tensor1D) => tf.Tensor4D;

/** Where a sampler evaluates the network. */
export interface EvalPoint {
  /** Time fed to the network (0 … T−1; fractional for Karras σ, see NoiseSchedule.timeForSigma). */
  t: number;
  /** ᾱ at this point: the level x_t is at. */
  alphaBar: number;
}

/** The point of integer timestep t. */
export function timestepPoint(schedule: NoiseSchedule, t: number): EvalPoint {
  return { t, alphaBar: schedule.alphaBar[t] };
}

/** The point of Karras noise level σ: ᾱ = 1/(1 + σ²), t by log-σ interpolation. */
export function sigmaPoint(schedule: NoiseSchedule, sigma: number): EvalPoint {
  return { t: schedule.timeForSigma(sigma), alphaBar: 1 / (1 + sigma * sigma) };
}

/** ε̂ and x̂₀ at one point, both exact conversions of the network's single output. */
export interface Prediction {
  eps: tf.Tensor4D;
  x0: tf.Tensor4D;
}

export class Denoiser {
  /** Network evaluations so far (NFE). */
  nfe = 0;

  constructor(
    readonly net: DiffusionNet,
    readonly predictionType: PredictionType,
    readonly schedule: NoiseSchedule,
    /** Class labels for conditional nets, length = batch; owned by the caller. */
    readonly labels?: tf.Tensor1D,
    /**
     * Epsilon Scaling (Ning et al. 2024, "Elucidating the exposure bias in diffusion models"):
     * ε̂ ← ε̂/λ with x̂₀ re-derived from it, so x_t = √ᾱ x̂₀ + √(1 − ᾱ) ε̂ still holds. λ slightly
     * above 1 counters the drift of sampled x_t away from the training inputs; 1 = off.
     */
    readonly epsilonScale = 1,
  ) {
    if (!(epsilonScale > 0)) {
      throw new UserInputError(`epsilonScale must be > 0 (1 = off), got ${epsilonScale}`);
    }
  }

  /** One network evaluation at x_t (which must be at the level of `point`): ε̂ and x̂₀. */
  predict(xt: tf.Tensor4D, point: EvalPoint): Prediction {
    this.nfe++;
    const level = { a: Math.sqrt(point.alphaBar), s: Math.sqrt(1 - point.alphaBar) };
    return tf.tidy(() => {
      const t = tf.fill([xt.shape[0]], point.t, "float32") as tf.Tensor1D;
      const out = this.net(xt, t, this.labels);
      if (this.epsilonScale === 1) {
        return {
          eps: toEpsilon(this.predictionType, out, xt, level),
          x0: toX0(this.predictionType, out, xt, level),
        };
      }
      if (level.a === 0) {
        throw new UserInputError(
          "epsilonScale needs ᾱ > 0 at every sampling point; use 1 with a zero-terminal-SNR schedule",
        );
      }
      const eps = tf.div(toEpsilon(this.predictionType, out, xt, level), this.epsilonScale);
      return { eps: eps as tf.Tensor4D, x0: toX0("epsilon", eps as tf.Tensor4D, xt, level) };
    });
  }

  /** Karras et al.'s denoiser D(x; σ) for x = x_0 + σ ε: x̂₀, from one network evaluation. */
  denoise(x: tf.Tensor4D, sigma: number): tf.Tensor4D {
    const point = sigmaPoint(this.schedule, sigma);
    return tf.tidy(() => {
      const { eps, x0 } = this.predict(tf.mul(x, Math.sqrt(point.alphaBar)), point);
      eps.dispose();
      return x0;
    });
  }
}

/**
 * A sampler in diffusers' shape: `setTimesteps(S)` fixes the points, then the loop calls
 * `step(prediction at points[i], i, x)` once per point (= once per network evaluation).
 * Stateful samplers (DPM-Solver++ 2M, Heun) keep their state across steps and free it in
 * `reset()` (the loop calls it at the end).
 */
export interface Sampler {
  readonly name: string;
  setTimesteps(steps: number): void;
  /** One entry per network evaluation, in order. */
  readonly points: readonly EvalPoint[];
  /** Standard deviation of the starting noise x ~ N(0, std² I) in VP space. */
  readonly initNoiseStd: number;
  /** x at the next level from the prediction at points[i] (called inside tf.tidy). */
  step(prediction: Prediction, index: number, sample: tf.Tensor4D, rng: Rng): tf.Tensor4D;
  /** Dispose any state kept between steps. */
  reset(): void;
}

/** Clip x̂₀ to the data range and re-derive ε̂ from it (Ho et al.'s clipped sampling; diffusers'
 * `clip_sample`). "static" = clip to [−1, 1]. */
export const X0_CLIPS = ["none", "static"] as const;
export type X0Clip = typeof X0_CLIPS[number];

export function clipPrediction(
  prediction: Prediction,
  clip: X0Clip,
  xt: tf.Tensor4D,
  alphaBar: number,
): Prediction {
  if (clip === "none") return prediction;
  const x0 = tf.clipByValue(prediction.x0, -1, 1) as tf.Tensor4D;
  const eps = tf.div(tf.sub(xt, tf.mul(x0, Math.sqrt(alphaBar))), Math.sqrt(1 - alphaBar));
  return { x0, eps: eps as tf.Tensor4D };
}

/** Standard normal noise shaped like x, seeded from the sampler's Rng. */
export function gaussianLike(x: tf.Tensor4D, rng: Rng): tf.Tensor4D {
  return tf.randomNormal(x.shape, 0, 1, "float32", rng.seed());
}
