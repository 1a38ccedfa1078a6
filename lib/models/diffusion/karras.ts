/**
 * Euler and Heun on Karras σ — Karras et al. 2022, "Elucidating the Design Space of
 * Diffusion-Based Generative Models" (EDM), as in k-diffusion's sample_euler / sample_heun
 * (no churn) and diffusers' Euler/Heun schedulers with use_karras_sigmas.
 *
 * In the σ view x = x_t/√ᾱ = x_0 + σ ε, the probability-flow ODE is dx/dσ = (x − D(x; σ))/σ = ε̂
 * (eq. 3 with σ(t) = t). Noise levels (eq. 5, ρ = 7), N steps, σ_N = 0:
 *   σ_i = (σ_max^{1/ρ} + i/(N−1) (σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ
 * with σ_min, σ_max the schedule's own range. Euler: x ← x + (σ_{i+1} − σ_i) ε̂(x, σ_i).
 * Heun (Algorithm 1, S_churn = 0): an Euler predictor, then the trapezoid with ε̂ at σ_{i+1};
 * the last step (to σ = 0) is Euler — 2N − 1 network evaluations.
 * The loop holds x in VP space (x_t = √ᾱ x); we convert at each step.
 */
import * as tf from "@tensorflow/tfjs";
import type { NoiseSchedule } from "./schedule.ts";
import { type EvalPoint, type Prediction, type Sampler, sigmaPoint } from "./denoiser.ts";

/** Karras et al. eq. 5: N noise levels from σ_max down to σ_min, then 0. */
export function karrasSigmas(n: number, sigmaMin: number, sigmaMax: number, rho = 7): number[] {
  const a = sigmaMax ** (1 / rho), b = sigmaMin ** (1 / rho);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((a + (n === 1 ? 0 : i / (n - 1)) * (b - a)) ** rho);
  out.push(0);
  return out;
}

/** √ᾱ at σ: 1/√(1 + σ²). */
const scaleAt = (sigma: number) => 1 / Math.sqrt(1 + sigma * sigma);

abstract class KarrasSampler implements Sampler {
  abstract readonly name: string;
  sigmas: number[] = [];
  points: EvalPoint[] = [];

  constructor(readonly schedule: NoiseSchedule, readonly rho = 7) {}

  get initNoiseStd(): number {
    return this.sigmas[0] * scaleAt(this.sigmas[0]); // x_t = √ᾱ · σ_max z
  }

  protected setSigmas(steps: number): void {
    const { min, max } = this.schedule.sigmaRange();
    this.sigmas = karrasSigmas(steps, min, max, this.rho);
  }

  abstract setTimesteps(steps: number): void;
  abstract step(prediction: Prediction, index: number, sample: tf.Tensor4D): tf.Tensor4D;
  reset(): void {}
}

export class EulerKarrasSampler extends KarrasSampler {
  readonly name = "euler";

  constructor(schedule: NoiseSchedule, rho = 7) {
    super(schedule, rho);
    this.setTimesteps(Math.min(20, schedule.T));
  }

  setTimesteps(steps: number): void {
    this.setSigmas(steps);
    this.points = this.sigmas.slice(0, steps).map((s) => sigmaPoint(this.schedule, s));
  }

  step(prediction: Prediction, index: number, sample: tf.Tensor4D): tf.Tensor4D {
    const sigma = this.sigmas[index], next = this.sigmas[index + 1];
    // x ← x + (σ' − σ) ε̂, in σ space; back to VP space at σ'.
    const x = tf.add(tf.div(sample, scaleAt(sigma)), tf.mul(prediction.eps, next - sigma));
    return tf.mul(x, scaleAt(next));
  }
}

export class HeunKarrasSampler extends KarrasSampler {
  readonly name = "heun";
  /** For each point: index of its σ-step and whether it is the corrector evaluation. */
  #plan: { step: number; corrector: boolean }[] = [];
  #start: tf.Tensor4D | null = null; // x_i in σ space
  #slope: tf.Tensor4D | null = null; // ε̂(x_i, σ_i)

  constructor(schedule: NoiseSchedule, rho = 7) {
    super(schedule, rho);
    this.setTimesteps(Math.min(10, schedule.T));
  }

  setTimesteps(steps: number): void {
    this.setSigmas(steps);
    this.#plan = [];
    this.points = [];
    for (let i = 0; i < steps; i++) {
      this.#plan.push({ step: i, corrector: false });
      this.points.push(sigmaPoint(this.schedule, this.sigmas[i]));
      if (this.sigmas[i + 1] > 0) {
        this.#plan.push({ step: i, corrector: true });
        this.points.push(sigmaPoint(this.schedule, this.sigmas[i + 1]));
      }
    }
    this.reset();
  }

  step(prediction: Prediction, index: number, sample: tf.Tensor4D): tf.Tensor4D {
    const { step, corrector } = this.#plan[index];
    const sigma = this.sigmas[step], next = this.sigmas[step + 1], dt = next - sigma;
    if (!corrector) {
      const x = tf.div(sample, scaleAt(sigma)) as tf.Tensor4D;
      const predicted = tf.add(x, tf.mul(prediction.eps, dt));
      if (next > 0) {
        this.reset();
        this.#start = tf.keep(x);
        this.#slope = tf.keep(prediction.eps.clone());
      }
      return tf.mul(predicted, scaleAt(next));
    }
    // Trapezoid: x_{i+1} = x_i + (σ_{i+1} − σ_i)(ε̂_i + ε̂')/2.
    const slope = tf.mul(tf.add(this.#slope!, prediction.eps), 0.5);
    const x = tf.add(this.#start!, tf.mul(slope, dt));
    this.reset();
    return tf.mul(x, scaleAt(next));
  }

  override reset(): void {
    this.#start?.dispose();
    this.#slope?.dispose();
    this.#start = this.#slope = null;
  }
}
