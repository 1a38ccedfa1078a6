/**
 * Small, dependency-free statistics used to check the samplers: the error function,
 * the normal CDF / quantile, sample moments, and the one-sample Kolmogorov–Smirnov test.
 *
 * Accuracy: `erf`/`erfc` are accurate to ~1e-15 absolute (and `erfc` to ~1e-13 relative in
 * the upper tail); `normalQuantile` is Acklam's rational approximation polished by one
 * Halley step, so it agrees with the exact quantile to ~1e-15 relative.
 */

const SQRT2 = Math.SQRT2;
const SQRT_PI = Math.sqrt(Math.PI);
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * erf(x) = (2/√π) ∫₀ˣ e^{−t²} dt.
 *
 * |x| < 3: the all-positive series erf(x) = (2/√π) e^{−x²} Σₙ 2ⁿ x^{2n+1} / (1·3·5···(2n+1))
 * (Abramowitz & Stegun 7.1.6), which has no cancellation; otherwise 1 − erfc(x).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 3) return Math.sign(x) * (1 - erfcContinuedFraction(ax));
  return erfSeries(x);
}

/** erfc(x) = 1 − erf(x), computed without cancellation in the upper tail (x ≥ 3). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 3) return erfcContinuedFraction(x);
  if (x <= -3) return 2 - erfcContinuedFraction(-x);
  return 1 - erfSeries(x);
}

function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 0; n < 500; n++) {
    term *= (2 * x2) / (2 * n + 3);
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return (2 / SQRT_PI) * Math.exp(-x2) * sum;
}

/**
 * erfc(x) for x > 0 by the continued fraction (A&S 7.1.14)
 * erfc(x) = (e^{−x²}/√π) · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))),
 * evaluated with the modified Lentz algorithm. Converges fast for x ≥ 3.
 */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (SQRT_PI * f);
}

/** Standard normal density φ(x) = e^{−x²/2}/√(2π), optionally N(mean, std²). */
export function normalDensity(x: number, mean = 0, std = 1): number {
  const z = (x - mean) / std;
  return Math.exp(-0.5 * z * z) / (SQRT_2PI * std);
}

/** log N(x; mean, std²) = −(x−μ)²/(2σ²) − log σ − ½ log 2π. */
export function normalLogDensity(x: number, mean = 0, std = 1): number {
  const z = (x - mean) / std;
  return -0.5 * z * z - Math.log(std) - LOG_SQRT_2PI;
}

/** Normal CDF Φ((x−μ)/σ) = ½ erfc(−(x−μ)/(σ√2)); relative accuracy kept in the lower tail. */
export function normalCdf(x: number, mean = 0, std = 1): number {
  return 0.5 * erfc(-(x - mean) / (std * SQRT2));
}

// Acklam's rational approximation to Φ⁻¹ (relative error < 1.15e-9 before polishing).
const A = [
  -3.969683028665376e1,
  2.209460984245205e2,
  -2.759285104469687e2,
  1.38357751867269e2,
  -3.066479806614716e1,
  2.506628277459239,
];
const B = [
  -5.447609879822406e1,
  1.615858368580409e2,
  -1.556989798598866e2,
  6.680131188771972e1,
  -1.328068155288572e1,
];
const C = [
  -7.784894002430293e-3,
  -3.223964580411365e-1,
  -2.400758277161838,
  -2.549732539343734,
  4.374664141464968,
  2.938163982698783,
];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/**
 * Standard normal quantile Φ⁻¹(p) (optionally μ + σΦ⁻¹(p)): Acklam's approximation followed by
 * one Halley step x ← x − u/(1 + x u/2), u = (Φ(x) − p)·√(2π)·e^{x²/2}.
 */
export function normalQuantile(p: number, mean = 0, std = 1): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p > 0.5) return mean - std * standardNormalQuantileLower(1 - p);
  return mean + std * standardNormalQuantileLower(p);
}

function standardNormalQuantileLower(p: number): number {
  // p in (0, 0.5]
  let x: number;
  const pLow = 0.02425;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q /
      (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
  }
  const e = normalCdf(x) - p;
  const u = e * SQRT_2PI * Math.exp(0.5 * x * x);
  return x - u / (1 + 0.5 * x * u);
}

// ---------------------------------------------------------------------------------------
// Sample moments

/** Sample mean (1/n) Σ xᵢ. */
export function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

/** Sample variance with divisor n − ddof (ddof = 1 by default: the unbiased estimator). */
export function variance(x: ArrayLike<number>, ddof = 1): number {
  const m = mean(x);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - m) ** 2;
  return s / (x.length - ddof);
}

/** Sample standard deviation √variance(x, ddof). */
export function std(x: ArrayLike<number>, ddof = 1): number {
  return Math.sqrt(variance(x, ddof));
}

/** Standard error of the mean, s/√n, for independent draws. */
export function standardError(x: ArrayLike<number>): number {
  return std(x) / Math.sqrt(x.length);
}

/** Sample covariance (1/(n−1)) Σ (xᵢ − x̄)(yᵢ − ȳ). */
export function covariance(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new RangeError("covariance: length mismatch");
  const mx = mean(x);
  const my = mean(y);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - mx) * (y[i] - my);
  return s / (x.length - 1);
}

/** Pearson correlation cov(x, y)/(s_x s_y). */
export function correlation(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return covariance(x, y) / Math.sqrt(variance(x) * variance(y));
}

// ---------------------------------------------------------------------------------------
// Kolmogorov–Smirnov

/**
 * CDF of the Kolmogorov distribution, P(K ≤ λ), K = sup_t |B(t)| for a Brownian bridge.
 *
 * λ < 1.18: P = (√(2π)/λ) Σ_{k≥1} exp(−(2k−1)²π²/(8λ²));
 * otherwise P = 1 − 2 Σ_{k≥1} (−1)^{k−1} exp(−2k²λ²). Both series converge in a few terms.
 */
export function kolmogorovCdf(lambda: number): number {
  if (Number.isNaN(lambda)) return NaN;
  if (lambda <= 0) return 0;
  if (lambda < 1.18) {
    const y = (Math.PI * Math.PI) / (8 * lambda * lambda);
    let s = 0;
    for (let k = 1; k < 100; k++) {
      const t = Math.exp(-((2 * k - 1) ** 2) * y);
      s += t;
      if (t < 1e-17 * s) break;
    }
    return (SQRT_2PI / lambda) * s;
  }
  return 1 - kolmogorovSurvival(lambda);
}

/** Survival function Q_KS(λ) = P(K > λ) = 2 Σ_{k≥1} (−1)^{k−1} exp(−2k²λ²). */
export function kolmogorovSurvival(lambda: number): number {
  if (Number.isNaN(lambda)) return NaN;
  if (lambda < 1.18) return 1 - kolmogorovCdf(lambda);
  let s = 0;
  for (let k = 1; k < 100; k++) {
    const t = Math.exp(-2 * k * k * lambda * lambda);
    s += k % 2 === 1 ? t : -t;
    if (t < 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * s));
}

/**
 * One-sample KS statistic D = sup_x |F_n(x) − F(x)|
 * = max_i max(i/n − F(x₍ᵢ₎), F(x₍ᵢ₎) − (i−1)/n) over the sorted sample.
 */
export function ksStatistic(samples: ArrayLike<number>, cdf: (x: number) => number): number {
  const n = samples.length;
  if (n === 0) throw new RangeError("ksStatistic: empty sample");
  const sorted = Float64Array.from(samples).sort();
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = cdf(sorted[i]);
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  }
  return d;
}

export interface KsTestResult {
  /** D = sup |F_n − F|. */
  statistic: number;
  /** Asymptotic p-value Q_KS((√n + 0.12 + 0.11/√n)·D) (Stephens 1970 small-n correction). */
  pValue: number;
  n: number;
}

/**
 * One-sample Kolmogorov–Smirnov test of H₀: samples ~ F (F continuous, fully specified).
 * Small p-values reject H₀.
 */
export function ksTest(samples: ArrayLike<number>, cdf: (x: number) => number): KsTestResult {
  const n = samples.length;
  const statistic = ksStatistic(samples, cdf);
  const sn = Math.sqrt(n);
  const pValue = kolmogorovSurvival((sn + 0.12 + 0.11 / sn) * statistic);
  return { statistic, pValue, n };
}
