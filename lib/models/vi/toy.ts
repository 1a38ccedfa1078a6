/**
 * The variational-inference toy (seed 004 "Learning": REINFORCE vs the reparameterization trick,
 * seed 002 §3 "Variational Inference"): fit q(z) = N(μ, diag σ²) to a known unnormalized 2-D
 * posterior p̃(z) ∝ p(z | x) by maximizing
 *
 *   ELBO(q) = E_q[log p̃(z)] + H(q),   H(q) = Σᵢ log σᵢ + log(2πe)        (= log Z − KL(q ‖ p))
 *
 * with stochastic gradients w.r.t. θ = (μ, ρ = log σ). The entropy's gradient is exact (∂H/∂ρ = 1);
 * the two estimators differ in how they differentiate the expectation E_q[f(z)], f = log p̃:
 *
 *   score function (REINFORCE; Williams 1992, Ranganath et al. 2014):
 *       ∇θ E_q[f] = E_q[(f(z) − b) ∇θ log q(z)],  ∇_μ log q = ε/σ, ∇_ρ log q = ε² − 1,
 *     valid for any baseline b that does not depend on z (E_q[∇ log q] = 0); here b = 0 or the
 *     leave-one-out mean of f over the other samples of the step (keeps it unbiased);
 *   reparameterization (Kingma & Welling 2014): z = μ + σε, ε ~ N(0, I),
 *       ∇_μ = ∇f(z),  ∇_ρ = ∇f(z) ⊙ σε — needs ∇f, but uses it: far lower variance.
 *
 * Everything is plain float64 JavaScript (two parameters per dimension: no tensors needed). KL(q‖p)
 * is measured by quadrature on a grid, with p normalized on the same grid.
 */
import { Rng } from "../../util/rng.ts";

export type Vec2 = [number, number];

/** An unnormalized 2-D log-density with its gradient and a box holding nearly all its mass. */
export interface Target2D {
  name: string;
  logDensity(z: Vec2): number;
  gradLogDensity(z: Vec2): Vec2;
  box: { min: Vec2; max: Vec2 };
}

/** A correlated Gaussian N(m, Σ) (unnormalized: an arbitrary constant is added, as a posterior
 * known only up to p(x) would be). Its ELBO gradient is closed form (gaussianElboGradient). */
export function gaussianTarget(mean: Vec2, cov: [[number, number], [number, number]]): Target2D & {
  precision: [[number, number], [number, number]];
  mean: Vec2;
} {
  const [[a, b], [, d]] = cov;
  const det = a * d - b * b;
  if (!(det > 0 && a > 0)) throw new Error("gaussianTarget: covariance must be positive definite");
  const precision: [[number, number], [number, number]] = [[d / det, -b / det], [
    -b / det,
    a / det,
  ]];
  const [[p, q], [, r]] = precision;
  const sd = [Math.sqrt(a), Math.sqrt(d)];
  return {
    name: "gaussian",
    mean,
    precision,
    logDensity: ([x, y]) => {
      const u = x - mean[0], v = y - mean[1];
      return -0.5 * (p * u * u + 2 * q * u * v + r * v * v) + 3.7; // + arbitrary constant
    },
    gradLogDensity: ([x, y]) => {
      const u = x - mean[0], v = y - mean[1];
      return [-(p * u + q * v), -(q * u + r * v)];
    },
    box: {
      min: [mean[0] - 7 * sd[0], mean[1] - 7 * sd[1]],
      max: [mean[0] + 7 * sd[0], mean[1] + 7 * sd[1]],
    },
  };
}

/** A banana-shaped posterior: z₁ ~ N(0, 1.5²), z₂ | z₁ ~ N(½z₁² − 1, 0.5²) (unnormalized). No
 * diagonal Gaussian fits it exactly: KL(q‖p) stays > 0 at the optimum. */
export function bananaTarget(): Target2D {
  const s1 = 1.5, s2 = 0.5;
  return {
    name: "banana",
    logDensity: ([x, y]) => {
      const r = y - 0.5 * x * x + 1;
      return -0.5 * (x * x) / (s1 * s1) - 0.5 * (r * r) / (s2 * s2);
    },
    gradLogDensity: ([x, y]) => {
      const r = y - 0.5 * x * x + 1;
      return [-x / (s1 * s1) + (r / (s2 * s2)) * x, -r / (s2 * s2)];
    },
    box: { min: [-8, -4], max: [8, 30] },
  };
}

/** Variational parameters of q = N(μ, diag exp(2ρ)). */
export interface GaussianParams {
  mean: Vec2;
  logStd: Vec2;
}

export type Estimator = "reinforce" | "reinforce-baseline" | "reparameterization";
export const ESTIMATORS: readonly Estimator[] = [
  "reinforce",
  "reinforce-baseline",
  "reparameterization",
];

/** The exact ELBO gradient for a Gaussian target N(m, Λ⁻¹): E_q[log p̃] = −½[(μ−m)ᵀΛ(μ−m) +
 * Σᵢ Λᵢᵢσᵢ²] + c, so ∇_μ = −Λ(μ − m) and ∇_ρᵢ = −Λᵢᵢσᵢ² + 1 (the 1 is the entropy's). Order:
 * [μ₁, μ₂, ρ₁, ρ₂]. */
export function gaussianElboGradient(
  target: ReturnType<typeof gaussianTarget>,
  params: GaussianParams,
): number[] {
  const [[p, q], [, r]] = target.precision;
  const u = params.mean[0] - target.mean[0], v = params.mean[1] - target.mean[1];
  const s1 = Math.exp(2 * params.logStd[0]), s2 = Math.exp(2 * params.logStd[1]);
  return [-(p * u + q * v), -(q * u + r * v), -p * s1 + 1, -r * s2 + 1];
}

/**
 * S single-sample ELBO-gradient estimates ([S][4], order μ₁, μ₂, ρ₁, ρ₂) with standard normal
 * draws from `rng`. Their mean is the step's gradient; their spread is the estimator's variance.
 */
export function elboGradientSamples(
  target: Target2D,
  params: GaussianParams,
  estimator: Estimator,
  samples: number,
  rng: Rng,
): number[][] {
  const sigma = [Math.exp(params.logStd[0]), Math.exp(params.logStd[1])];
  const eps: Vec2[] = [];
  const z: Vec2[] = [];
  const f: number[] = [];
  for (let s = 0; s < samples; s++) {
    const e: Vec2 = [rng.normal(), rng.normal()];
    eps.push(e);
    const zs: Vec2 = [params.mean[0] + sigma[0] * e[0], params.mean[1] + sigma[1] * e[1]];
    z.push(zs);
    f.push(target.logDensity(zs));
  }
  const total = f.reduce((a, b) => a + b, 0);
  return eps.map((e, s) => {
    if (estimator === "reparameterization") {
      const g = target.gradLogDensity(z[s]);
      return [g[0], g[1], g[0] * sigma[0] * e[0] + 1, g[1] * sigma[1] * e[1] + 1];
    }
    // Leave-one-out baseline: independent of sample s, so the estimate stays unbiased.
    const baseline = estimator === "reinforce-baseline" && samples > 1
      ? (total - f[s]) / (samples - 1)
      : 0;
    const w = f[s] - baseline;
    return [
      (w * e[0]) / sigma[0],
      (w * e[1]) / sigma[1],
      w * (e[0] * e[0] - 1) + 1,
      w * (e[1] * e[1] - 1) + 1,
    ];
  });
}

/** Column means and the summed per-coordinate variance (trace of the covariance) of [S][P]. */
export function meanAndVariance(rows: number[][]): { mean: number[]; variance: number } {
  const S = rows.length, P = rows[0].length;
  const mean = Array(P).fill(0);
  for (const r of rows) r.forEach((v, i) => (mean[i] += v / S));
  let variance = 0;
  for (const r of rows) r.forEach((v, i) => (variance += (v - mean[i]) ** 2 / Math.max(1, S - 1)));
  return { mean, variance };
}

/** KL(q ‖ p) by midpoint quadrature on an n×n grid over the target's box, p = p̃ / Z with Z from
 * the same grid. Also returns log Z. */
export function klByQuadrature(
  target: Target2D,
  params: GaussianParams,
  n = 400,
): { kl: number; logZ: number } {
  const { min, max } = target.box;
  const hx = (max[0] - min[0]) / n, hy = (max[1] - min[1]) / n;
  const logP = new Float64Array(n * n);
  let maxLog = -Infinity;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = target.logDensity([min[0] + (i + 0.5) * hx, min[1] + (j + 0.5) * hy]);
      logP[i * n + j] = v;
      if (v > maxLog) maxLog = v;
    }
  }
  let zSum = 0;
  for (const v of logP) zSum += Math.exp(v - maxLog);
  const logZ = maxLog + Math.log(zSum * hx * hy);
  const sigma = [Math.exp(params.logStd[0]), Math.exp(params.logStd[1])];
  const logNorm = -Math.log(2 * Math.PI) - params.logStd[0] - params.logStd[1];
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const x = min[0] + (i + 0.5) * hx, y = min[1] + (j + 0.5) * hy;
      const u = (x - params.mean[0]) / sigma[0], v = (y - params.mean[1]) / sigma[1];
      const logQ = logNorm - 0.5 * (u * u + v * v);
      kl += Math.exp(logQ) * (logQ - (logP[i * n + j] - logZ)) * hx * hy;
    }
  }
  return { kl, logZ };
}

export interface ViOptions {
  target: Target2D;
  estimator: Estimator;
  steps: number;
  /** Monte-Carlo samples per step (the gradient is their mean). */
  samplesPerStep: number;
  learningRate: number;
  seed: number;
  init?: GaussianParams;
  /** Record the quadrature KL every this many steps (it costs a grid pass). */
  klEvery?: number;
  /** Measure the estimator's variance every this many steps (default steps/100) … */
  varianceEvery?: number;
  /** … from this many extra single-sample estimates (default 512; a separate RNG stream, so
   * measuring does not change the fit). */
  varianceSamples?: number;
}

export interface ViStep {
  step: number;
  /** Variance (trace of the covariance) of the single-sample gradient estimator at this step's
   * parameters, on measured steps only. */
  gradVariance?: number;
  /** Monte-Carlo ELBO of this step's samples (up to the target's constant). */
  elbo: number;
  kl?: number;
}

/** Maximize the ELBO with Adam (Kingma & Ba 2015) using one estimator; returns the history and
 * the final q with its KL(q‖p) by quadrature. */
export function fitGaussianVi(options: ViOptions): {
  params: GaussianParams;
  history: ViStep[];
  finalKl: number;
} {
  const rng = new Rng(options.seed);
  const probe = new Rng(options.seed + 0x9e37);
  const varianceEvery = options.varianceEvery ?? Math.max(1, Math.floor(options.steps / 100));
  const params: GaussianParams = structuredClone(options.init ?? { mean: [0, 0], logStd: [0, 0] });
  const m = [0, 0, 0, 0], v = [0, 0, 0, 0];
  const b1 = 0.9, b2 = 0.999, epsilon = 1e-8;
  const history: ViStep[] = [];
  for (let t = 1; t <= options.steps; t++) {
    const rows = elboGradientSamples(
      options.target,
      params,
      options.estimator,
      options.samplesPerStep,
      rng,
    );
    const grad = meanAndVariance(rows).mean;
    const measured = t === 1 || t % varianceEvery === 0;
    const gradVariance = measured
      ? meanAndVariance(
        elboGradientSamples(
          options.target,
          params,
          options.estimator,
          options.varianceSamples ?? 512,
          probe,
        ),
      ).variance
      : undefined;
    // ELBO estimate from fresh draws (independent of the estimator, for a fair curve).
    let elbo = 0;
    for (let s = 0; s < options.samplesPerStep; s++) {
      const z: Vec2 = [
        params.mean[0] + Math.exp(params.logStd[0]) * rng.normal(),
        params.mean[1] + Math.exp(params.logStd[1]) * rng.normal(),
      ];
      elbo += options.target.logDensity(z) / options.samplesPerStep;
    }
    elbo += params.logStd[0] + params.logStd[1] + Math.log(2 * Math.PI * Math.E);
    const theta = [params.mean[0], params.mean[1], params.logStd[0], params.logStd[1]];
    for (let i = 0; i < 4; i++) {
      // Gradient ascent on the ELBO.
      m[i] = b1 * m[i] + (1 - b1) * grad[i];
      v[i] = b2 * v[i] + (1 - b2) * grad[i] * grad[i];
      const mHat = m[i] / (1 - b1 ** t), vHat = v[i] / (1 - b2 ** t);
      theta[i] += (options.learningRate * mHat) / (Math.sqrt(vHat) + epsilon);
    }
    params.mean = [theta[0], theta[1]];
    params.logStd = [theta[2], theta[3]];
    const row: ViStep = { step: t, elbo, ...(measured ? { gradVariance } : {}) };
    if (options.klEvery && (t % options.klEvery === 0 || t === options.steps)) {
      row.kl = klByQuadrature(options.target, params, 200).kl;
    }
    history.push(row);
  }
  return { params, history, finalKl: klByQuadrature(options.target, params).kl };
}
