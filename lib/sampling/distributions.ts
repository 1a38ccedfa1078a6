/**
 * Closed-form 1-D distributions: density, CDF F, and inverse CDF F⁻¹ for each.
 *
 * Each one samples itself by inverse-transform sampling, x = F⁻¹(u) with u ~ U(0, 1)
 * (see `inverse_cdf.ts`), and also serves as a {@link Proposal} for rejection and
 * importance sampling (it has `sample(rng)` and `logDensity(x)`).
 */
import type { Rng } from "../util/rng.ts";
import type { Proposal } from "./common.ts";
import { normalCdf, normalLogDensity, normalQuantile } from "./stats.ts";

/** A continuous 1-D distribution with everything in closed form. */
export interface Distribution1D extends Proposal<number> {
  readonly name: string;
  /** Density p(x). */
  density(x: number): number;
  /** log p(x). */
  logDensity(x: number): number;
  /** F(x) = P(X ≤ x). */
  cdf(x: number): number;
  /** F⁻¹(u) = inf{x : F(x) ≥ u}, u ∈ (0, 1). */
  quantile(u: number): number;
  /** E[X] (NaN when it does not exist, e.g. Cauchy). */
  readonly mean: number;
  /** Var[X] (NaN / Infinity when it does not exist). */
  readonly variance: number;
  /** One draw by inverse transform: F⁻¹(u), u ~ U(0, 1) open interval. */
  sample(rng: Rng): number;
}

function fromParts(
  parts: Omit<Distribution1D, "sample" | "density"> & { density?: (x: number) => number },
): Distribution1D {
  const { logDensity, quantile } = parts;
  return {
    ...parts,
    density: parts.density ?? ((x: number) => Math.exp(logDensity(x))),
    sample: (rng: Rng) => quantile(rng.uniformOpen()),
  };
}

function checkScale(name: string, s: number): void {
  if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`${name} must be positive`);
}

/** Normal N(μ, σ²): F⁻¹(u) = μ + σ Φ⁻¹(u) (Φ⁻¹ has no closed form; see `normalQuantile`). */
export function normal(mean = 0, std = 1): Distribution1D {
  checkScale("std", std);
  return fromParts({
    name: `Normal(${mean}, ${std}²)`,
    logDensity: (x) => normalLogDensity(x, mean, std),
    cdf: (x) => normalCdf(x, mean, std),
    quantile: (u) => normalQuantile(u, mean, std),
    mean,
    variance: std * std,
  });
}

/**
 * Exponential(λ): p(x) = λ e^{−λx} (x ≥ 0), F(x) = 1 − e^{−λx},
 * F⁻¹(u) = −log(1 − u)/λ.
 */
export function exponential(rate = 1): Distribution1D {
  checkScale("rate", rate);
  return fromParts({
    name: `Exponential(${rate})`,
    logDensity: (x) => (x < 0 ? -Infinity : Math.log(rate) - rate * x),
    cdf: (x) => (x <= 0 ? 0 : -Math.expm1(-rate * x)),
    quantile: (u) => -Math.log1p(-u) / rate,
    mean: 1 / rate,
    variance: 1 / (rate * rate),
  });
}

/**
 * Cauchy(x₀, γ): p(x) = 1/(πγ(1 + ((x−x₀)/γ)²)), F(x) = ½ + arctan((x−x₀)/γ)/π,
 * F⁻¹(u) = x₀ + γ tan(π(u − ½)). No mean or variance.
 */
export function cauchy(location = 0, scale = 1): Distribution1D {
  checkScale("scale", scale);
  return fromParts({
    name: `Cauchy(${location}, ${scale})`,
    logDensity: (x) => -Math.log(Math.PI * scale * (1 + ((x - location) / scale) ** 2)),
    cdf: (x) => 0.5 + Math.atan((x - location) / scale) / Math.PI,
    quantile: (u) => location + scale * Math.tan(Math.PI * (u - 0.5)),
    mean: NaN,
    variance: NaN,
  });
}

/**
 * Logistic(μ, s): F(x) = 1/(1 + e^{−(x−μ)/s}), p(x) = F(x)(1 − F(x))/s,
 * F⁻¹(u) = μ + s log(u/(1 − u)); variance s²π²/3.
 */
export function logistic(location = 0, scale = 1): Distribution1D {
  checkScale("scale", scale);
  return fromParts({
    name: `Logistic(${location}, ${scale})`,
    logDensity: (x) => {
      const z = -Math.abs((x - location) / scale); // symmetric, stable form
      return z - 2 * Math.log1p(Math.exp(z)) - Math.log(scale);
    },
    cdf: (x) => 1 / (1 + Math.exp(-(x - location) / scale)),
    quantile: (u) => location + scale * Math.log(u / (1 - u)),
    mean: location,
    variance: (scale * scale * Math.PI * Math.PI) / 3,
  });
}

/**
 * Laplace(μ, b): p(x) = e^{−|x−μ|/b}/(2b);
 * F⁻¹(u) = μ − b·sgn(u − ½)·log(1 − 2|u − ½|).
 */
export function laplace(location = 0, scale = 1): Distribution1D {
  checkScale("scale", scale);
  return fromParts({
    name: `Laplace(${location}, ${scale})`,
    logDensity: (x) => -Math.abs(x - location) / scale - Math.log(2 * scale),
    cdf: (x) =>
      x < location
        ? 0.5 * Math.exp((x - location) / scale)
        : 1 - 0.5 * Math.exp(-(x - location) / scale),
    quantile: (u) => location - scale * Math.sign(u - 0.5) * Math.log1p(-2 * Math.abs(u - 0.5)),
    mean: location,
    variance: 2 * scale * scale,
  });
}

/** Uniform(a, b): F⁻¹(u) = a + (b − a)u. */
export function uniform(low = 0, high = 1): Distribution1D {
  if (!(high > low)) throw new RangeError("uniform: need high > low");
  const w = high - low;
  return fromParts({
    name: `Uniform(${low}, ${high})`,
    logDensity: (x) => (x < low || x > high ? -Infinity : -Math.log(w)),
    cdf: (x) => (x <= low ? 0 : x >= high ? 1 : (x - low) / w),
    quantile: (u) => low + w * u,
    mean: (low + high) / 2,
    variance: (w * w) / 12,
  });
}
