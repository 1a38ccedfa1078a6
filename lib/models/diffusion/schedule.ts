/**
 * Noise schedules of the variance-preserving (VP) forward process and everything derived from
 * them, computed ONCE in float64 on the JS side (the float32 tensors a step needs are built from
 * these tables per call, so a schedule owns no tensors and needs no dispose).
 *
 * Timesteps are 0-indexed like diffusers: t ∈ {0, …, T−1}; table entry t is the paper's t+1
 * (Ho et al. 2020 count 1…T). So `alphaBar[0] = 1 − β₁` (almost clean) and `alphaBar[T−1]`
 * (almost pure noise, exactly 0 with `terminalSnr: "zero"`).
 *
 * Forward process (Ho et al. 2020, eq. 4):  q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I),
 *   ᾱ_t = ∏_{s≤t} (1 − β_s).
 * Posterior (eq. 6–7):  q(x_{t−1} | x_t, x_0) = N(μ̃_t, β̃_t I),
 *   μ̃_t = √ᾱ_{t−1} β_t / (1 − ᾱ_t) · x_0 + √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · x_t,
 *   β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t          (with ᾱ_{−1} := 1, so β̃ at t = 0 is 0).
 * Karras/EDM view (Karras et al. 2022, §2): x_t / √ᾱ_t = x_0 + σ_t ε with σ_t = √((1 − ᾱ_t)/ᾱ_t),
 *   and SNR_t = ᾱ_t / (1 − ᾱ_t) = 1/σ_t².
 */
import * as tf from "@tensorflow/tfjs";
import { UserInputError } from "../../util/errors.ts";

// ───────────────────────────── options ─────────────────────────────

/** β schedules: Ho et al.'s linear; Nichol & Dhariwal's cosine; diffusers' sigmoid (GeoDiff)
 * and quadratic (diffusers' "scaled_linear": linear in √β, Stable Diffusion's). */
export const BETA_SCHEDULES = ["linear", "cosine", "sigmoid", "quadratic"] as const;
export type BetaScheduleKind = typeof BETA_SCHEDULES[number];

/** "as-is" keeps the schedule; "zero" rescales it to zero terminal SNR (Lin et al. 2024). */
export const TERMINAL_SNR = ["as-is", "zero"] as const;
export type TerminalSnr = typeof TERMINAL_SNR[number];

export interface ScheduleOptions {
  kind: BetaScheduleKind;
  /** Number of diffusion steps T (DDPM: 1000). */
  timesteps: number;
  /** β at the first and last step for linear/sigmoid/quadratic (DDPM: 1e-4 and 0.02). */
  betaStart: number;
  betaEnd: number;
  /** Nichol & Dhariwal's offset s in the cosine schedule (0.008) … */
  cosineOffset: number;
  /** … and their clip of β (0.999) that keeps the last step finite. */
  maxBeta: number;
  terminalSnr: TerminalSnr;
}

export const SCHEDULE_DEFAULTS: Readonly<ScheduleOptions> = Object.freeze({
  kind: "linear",
  timesteps: 1000,
  betaStart: 1e-4,
  betaEnd: 0.02,
  cosineOffset: 0.008,
  maxBeta: 0.999,
  terminalSnr: "as-is",
});

// ───────────────────────────── β schedules ─────────────────────────────

function linspace(start: number, end: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = n === 1 ? start : start + (end - start) * i / (n - 1);
  return out;
}

/** β_1 … β_T for the chosen kind (float64). */
export function makeBetas(o: ScheduleOptions): Float64Array {
  const T = o.timesteps;
  switch (o.kind) {
    case "linear":
      return linspace(o.betaStart, o.betaEnd, T);
    case "quadratic":
      return linspace(Math.sqrt(o.betaStart), Math.sqrt(o.betaEnd), T).map((b) => b * b);
    case "sigmoid": {
      const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
      return linspace(-6, 6, T).map((z) => sigmoid(z) * (o.betaEnd - o.betaStart) + o.betaStart);
    }
    case "cosine": {
      // Nichol & Dhariwal 2021, eq. 17: ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2);
      // β_t = 1 − ᾱ(t)/ᾱ(t−1), clipped to maxBeta so the last step stays finite.
      const f = (u: number) =>
        Math.cos((u + o.cosineOffset) / (1 + o.cosineOffset) * Math.PI / 2) ** 2;
      const betas = new Float64Array(T);
      for (let i = 0; i < T; i++) betas[i] = Math.min(1 - f((i + 1) / T) / f(i / T), o.maxBeta);
      return betas;
    }
  }
}

/** Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed", Algorithm 1:
 * shift and scale √ᾱ so that √ᾱ_{T} = 0 and √ᾱ_1 is unchanged; return the new β. */
export function rescaleZeroTerminalSnr(betas: Float64Array): Float64Array {
  const T = betas.length;
  const sqrtAb = new Float64Array(T);
  let prod = 1;
  for (let i = 0; i < T; i++) sqrtAb[i] = Math.sqrt(prod *= 1 - betas[i]);
  const first = sqrtAb[0], last = sqrtAb[T - 1];
  const ab = sqrtAb.map((s) => ((s - last) * first / (first - last)) ** 2);
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) out[i] = 1 - (i === 0 ? ab[0] : ab[i] / ab[i - 1]);
  return out;
}

// ───────────────────────────── the schedule ─────────────────────────────

/** Everything a DDPM/DDIM/DPM-Solver/Karras sampler or the training loss reads, per timestep. */
export class NoiseSchedule {
  readonly options: Readonly<ScheduleOptions>;
  /** T, the number of training timesteps. */
  readonly T: number;
  readonly betas: Float64Array;
  /** α_t = 1 − β_t. */
  readonly alphas: Float64Array;
  /** ᾱ_t = ∏_{s≤t} α_s. */
  readonly alphaBar: Float64Array;
  /** ᾱ_{t−1}, with ᾱ_{−1} = 1. */
  readonly alphaBarPrev: Float64Array;
  readonly sqrtAlphaBar: Float64Array;
  readonly sqrtOneMinusAlphaBar: Float64Array;
  /** SNR_t = ᾱ_t / (1 − ᾱ_t) (Kingma et al. 2021); ∞ never occurs since ᾱ_t < 1. */
  readonly snr: Float64Array;
  /** log λ-style half log-SNR, λ_t = log(√ᾱ_t / √(1 − ᾱ_t)) (DPM-Solver's λ). */
  readonly lambda: Float64Array;
  /** σ_t = √((1 − ᾱ_t)/ᾱ_t): the noise level of x_t/√ᾱ_t = x_0 + σ_t ε (Karras/EDM view). */
  readonly sigmas: Float64Array;
  /** β̃_t, the "fixed-small" reverse variance (eq. 7); 0 at t = 0. */
  readonly posteriorVariance: Float64Array;
  /** log β̃_t with β̃_0 replaced by β̃_1 (Ho et al.'s clipped log, finite everywhere). */
  readonly posteriorLogVarianceClipped: Float64Array;
  /** μ̃_t = coefX0 · x_0 + coefXt · x_t (eq. 7). */
  readonly posteriorMeanCoefX0: Float64Array;
  readonly posteriorMeanCoefXt: Float64Array;

  constructor(options: Partial<ScheduleOptions> = {}) {
    const o: ScheduleOptions = { ...SCHEDULE_DEFAULTS, ...options };
    if (!Number.isInteger(o.timesteps) || o.timesteps < 2) {
      throw new UserInputError(`diffusion timesteps must be an integer ≥ 2, got ${o.timesteps}`);
    }
    if (!BETA_SCHEDULES.includes(o.kind)) {
      throw new UserInputError(
        `unknown beta schedule "${o.kind}"; use one of ${BETA_SCHEDULES.join(", ")}`,
      );
    }
    if (!(o.betaStart > 0 && o.betaEnd < 1 && o.betaStart <= o.betaEnd)) {
      throw new UserInputError(
        `need 0 < betaStart ≤ betaEnd < 1, got ${o.betaStart} and ${o.betaEnd}`,
      );
    }
    this.options = Object.freeze(o);
    const T = this.T = o.timesteps;
    let betas = makeBetas(o);
    if (o.terminalSnr === "zero") betas = rescaleZeroTerminalSnr(betas);
    this.betas = betas;
    this.alphas = betas.map((b) => 1 - b);
    this.alphaBar = new Float64Array(T);
    let prod = 1;
    for (let t = 0; t < T; t++) this.alphaBar[t] = prod *= this.alphas[t];
    this.alphaBarPrev = new Float64Array(T);
    for (let t = 0; t < T; t++) this.alphaBarPrev[t] = t === 0 ? 1 : this.alphaBar[t - 1];
    const ab = this.alphaBar, abPrev = this.alphaBarPrev;
    this.sqrtAlphaBar = ab.map(Math.sqrt);
    this.sqrtOneMinusAlphaBar = ab.map((a) => Math.sqrt(1 - a));
    this.snr = ab.map((a) => a / (1 - a));
    this.lambda = ab.map((a) => 0.5 * (Math.log(a) - Math.log(1 - a)));
    this.sigmas = ab.map((a) => Math.sqrt((1 - a) / a));
    this.posteriorVariance = betas.map((b, t) => (1 - abPrev[t]) / (1 - ab[t]) * b);
    this.posteriorLogVarianceClipped = this.posteriorVariance.map((v, t) =>
      Math.log(t === 0 ? this.posteriorVariance[1] : v)
    );
    this.posteriorMeanCoefX0 = betas.map((b, t) => Math.sqrt(abPrev[t]) * b / (1 - ab[t]));
    this.posteriorMeanCoefXt = this.alphas.map((a, t) =>
      Math.sqrt(a) * (1 - abPrev[t]) / (1 - ab[t])
    );
  }

  /** ᾱ at a continuous time t ∈ [0, T−1], interpolating log σ linearly between table entries —
   * the inverse of `timeForSigma` (k-diffusion's DiscreteSchedule), so a Karras σ fed to the
   * network as a fractional t is self-consistent. */
  alphaBarAt(t: number): number {
    if (Number.isInteger(t)) return this.alphaBar[t];
    const lo = Math.max(0, Math.min(this.T - 2, Math.floor(t))), w = t - lo;
    const logSigma = (1 - w) * Math.log(this.sigmas[lo]) + w * Math.log(this.sigmas[lo + 1]);
    return 1 / (1 + Math.exp(2 * logSigma));
  }

  /** The continuous time whose σ is `sigma` (linear in log σ between table entries; clamped to
   * [0, T−1]). */
  timeForSigma(sigma: number): number {
    const logS = Math.log(sigma), s = this.sigmas;
    if (!(sigma > s[0])) return 0;
    if (!(sigma < s[this.T - 1])) return this.T - 1;
    let lo = 0, hi = this.T - 1; // σ is increasing in t: binary search for s[lo] ≤ σ < s[hi]
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (s[mid] <= sigma) lo = mid;
      else hi = mid;
    }
    const a = Math.log(s[lo]), b = Math.log(s[hi]);
    return lo + (logS - a) / (b - a);
  }

  /** Smallest and largest finite σ of the schedule (Karras samplers start at σ_max). With zero
   * terminal SNR the last σ is infinite; like diffusers we then use ᾱ_{T−1} = 2⁻²⁴. */
  sigmaRange(): { min: number; max: number } {
    const last = this.sigmas[this.T - 1];
    return { min: this.sigmas[0], max: Number.isFinite(last) ? last : Math.sqrt(2 ** 24 - 1) };
  }

  /** Per-sample coefficients from a float64 table as a float32 [B, 1, 1, 1] tensor, for t given
   * as JS integers or as an int32 tensor of timesteps. */
  coefficient(table: Float64Array, t: ArrayLike<number> | tf.Tensor1D): tf.Tensor4D {
    return tf.tidy(() => {
      if (t instanceof tf.Tensor) {
        return tf.gather(tf.tensor1d(Float32Array.from(table)), tf.cast(t, "int32"))
          .reshape([-1, 1, 1, 1]) as tf.Tensor4D;
      }
      const values = Float32Array.from(t as ArrayLike<number>, (ti) => table[ti]);
      return tf.tensor4d(values, [values.length, 1, 1, 1]);
    });
  }

  /** q(x_t | x_0) in closed form (Ho et al. eq. 4): x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, one t per
   * sample. Allocates nothing lasting but the result. */
  qSample(x0: tf.Tensor4D, t: ArrayLike<number> | tf.Tensor1D, noise: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() =>
      tf.add(
        tf.mul(this.coefficient(this.sqrtAlphaBar, t), x0),
        tf.mul(this.coefficient(this.sqrtOneMinusAlphaBar, t), noise),
      )
    );
  }

  /** The posterior q(x_{t−1} | x_t, x_0) mean μ̃_t (eq. 7), one t per sample. */
  posteriorMean(x0: tf.Tensor4D, xt: tf.Tensor4D, t: ArrayLike<number> | tf.Tensor1D): tf.Tensor4D {
    return tf.tidy(() =>
      tf.add(
        tf.mul(this.coefficient(this.posteriorMeanCoefX0, t), x0),
        tf.mul(this.coefficient(this.posteriorMeanCoefXt, t), xt),
      )
    );
  }
}

/** Build a schedule (same as `new NoiseSchedule(options)`). */
export function makeSchedule(options: Partial<ScheduleOptions> = {}): NoiseSchedule {
  return new NoiseSchedule(options);
}
