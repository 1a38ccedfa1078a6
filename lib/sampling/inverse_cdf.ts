/**
 * Inverse-transform sampling (역변환 샘플링).
 *
 * "원하는 분포에서 어떻게 Sampling? → 분포의 inverse CDF 이용": if U ~ Uniform(0, 1) and F is a
 * CDF, then X = F⁻¹(U) has CDF F, because P(F⁻¹(U) ≤ x) = P(U ≤ F(x)) = F(x), with the
 * generalized inverse F⁻¹(u) = inf{x : F(x) ≥ u}.
 *
 * - {@link sampleInverseCdf}: closed-form F⁻¹ (exponential −log(1−u)/λ, Cauchy
 *   x₀ + γ tan(π(u−½)), logistic μ + s log(u/(1−u)), … see `distributions.ts`).
 * - {@link invertCdf} / {@link numericInverseCdf} / {@link sampleNumericInverseCdf}: when F has
 *   no closed-form inverse, solve F(x) = u for x by Brent's method (or plain bisection) on a
 *   bracket, which is expanded automatically when it does not contain the root.
 * - {@link sampleDiscrete}: the discrete analogue, X = min{k : Σ_{j≤k} p_j ≥ u}.
 */
import { assertNonNegativeInteger, type RandomOptions, resolveRng } from "./common.ts";

/**
 * Draw n samples x_i = F⁻¹(u_i), u_i ~ Uniform(0, 1) (open interval, so F⁻¹ never sees 0 or 1).
 */
export function sampleInverseCdf(
  quantile: (u: number) => number,
  n: number,
  opts: RandomOptions = {},
): Float64Array {
  assertNonNegativeInteger("n", n);
  const rng = resolveRng(opts);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = quantile(rng.uniformOpen());
  return out;
}

export interface InvertCdfOptions {
  /**
   * Initial bracket [lo, hi], expanded outward when F(lo) > u or F(hi) < u. Default: the finite
   * support bounds if given, else [-1, 1].
   */
  lo?: number;
  hi?: number;
  /** Hard support bounds: the bracket is never expanded past these. Default ±Infinity. */
  lowerBound?: number;
  upperBound?: number;
  /** Absolute x tolerance. Default 1e-12 (plus 4·ε·|x| relative). */
  tol?: number;
  /** Maximum root-finding iterations. Default 200. */
  maxIter?: number;
  /** "brent" (default; superlinear) or "bisection" (one bit per iteration, always safe). */
  method?: "brent" | "bisection";
}

/**
 * Solve F(x) = u for x, i.e. the generalized inverse F⁻¹(u), for a continuous nondecreasing F.
 *
 * The bracket [lo, hi] is doubled outward (within [lowerBound, upperBound]) until
 * F(lo) ≤ u ≤ F(hi); then Brent's method (inverse quadratic interpolation / secant with a
 * bisection fallback; Brent 1973) or bisection narrows it to `tol`.
 */
export function invertCdf(
  cdf: (x: number) => number,
  u: number,
  opts: InvertCdfOptions = {},
): number {
  if (!(u >= 0 && u <= 1)) throw new RangeError("invertCdf: u must be in [0, 1]");
  const lowerBound = opts.lowerBound ?? -Infinity;
  const upperBound = opts.upperBound ?? Infinity;
  let lo = opts.lo ??
    (Number.isFinite(lowerBound) ? lowerBound : Number.isFinite(upperBound) ? upperBound - 2 : -1);
  let hi = opts.hi ?? (Number.isFinite(upperBound) ? upperBound : lo + 2);
  lo = Math.max(lo, lowerBound);
  hi = Math.min(hi, upperBound);
  if (!(hi > lo)) throw new RangeError("invertCdf: need hi > lo");
  const tol = opts.tol ?? 1e-12;
  const maxIter = opts.maxIter ?? 200;

  let flo = cdf(lo) - u;
  let fhi = cdf(hi) - u;
  for (let k = 0; flo > 0 && k < 2000; k++) {
    if (lo <= lowerBound) return lowerBound; // u below F(lowerBound): the infimum is the bound
    const width = hi - lo;
    hi = lo;
    fhi = flo;
    lo = Math.max(lo - 2 * width, lowerBound);
    flo = cdf(lo) - u;
  }
  for (let k = 0; fhi < 0 && k < 2000; k++) {
    if (hi >= upperBound) return upperBound;
    const width = hi - lo;
    lo = hi;
    flo = fhi;
    hi = Math.min(hi + 2 * width, upperBound);
    fhi = cdf(hi) - u;
  }
  if (flo > 0 || fhi < 0) throw new RangeError("invertCdf: could not bracket the root");
  if (flo === 0) return lo;
  if (fhi === 0) return hi;

  if (opts.method === "bisection") {
    for (let i = 0; i < maxIter && hi - lo > tol + 4 * Number.EPSILON * Math.abs(lo); i++) {
      const mid = 0.5 * (lo + hi);
      const fm = cdf(mid) - u;
      if (fm === 0) return mid;
      if (fm < 0) lo = mid;
      else hi = mid;
    }
    return 0.5 * (lo + hi);
  }
  return brent(cdf, u, lo, hi, flo, fhi, tol, maxIter);
}

/** Brent's root finder for g(x) = cdf(x) − u on [a, b] with g(a)·g(b) < 0. */
function brent(
  cdf: (x: number) => number,
  u: number,
  a: number,
  b: number,
  fa: number,
  fb: number,
  tol: number,
  maxIter: number,
): number {
  let c = a;
  let fc = fa;
  let d = b - a;
  let e = d;
  for (let iter = 0; iter < maxIter; iter++) {
    if ((fb > 0 && fc > 0) || (fb < 0 && fc < 0)) {
      c = a;
      fc = fa;
      d = b - a;
      e = d;
    }
    if (Math.abs(fc) < Math.abs(fb)) {
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const tol1 = 2 * Number.EPSILON * Math.abs(b) + 0.5 * tol;
    const xm = 0.5 * (c - b);
    if (Math.abs(xm) <= tol1 || fb === 0) return b;
    if (Math.abs(e) >= tol1 && Math.abs(fa) > Math.abs(fb)) {
      // Attempt inverse quadratic interpolation (secant when a === c).
      const s = fb / fa;
      let p: number;
      let q: number;
      if (a === c) {
        p = 2 * xm * s;
        q = 1 - s;
      } else {
        const qa = fa / fc;
        const r = fb / fc;
        p = s * (2 * xm * qa * (qa - r) - (b - a) * (r - 1));
        q = (qa - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) q = -q;
      p = Math.abs(p);
      const min1 = 3 * xm * q - Math.abs(tol1 * q);
      const min2 = Math.abs(e * q);
      if (2 * p < Math.min(min1, min2)) {
        e = d;
        d = p / q;
      } else {
        d = xm;
        e = d;
      }
    } else {
      d = xm;
      e = d;
    }
    a = b;
    fa = fb;
    b += Math.abs(d) > tol1 ? d : (xm >= 0 ? tol1 : -tol1);
    fb = cdf(b) - u;
  }
  return b;
}

/** F⁻¹ as a function, by numeric inversion of `cdf` (see {@link invertCdf}). */
export function numericInverseCdf(
  cdf: (x: number) => number,
  opts: InvertCdfOptions = {},
): (u: number) => number {
  return (u: number) => invertCdf(cdf, u, opts);
}

/** n inverse-transform samples from a distribution known only through its CDF. */
export function sampleNumericInverseCdf(
  cdf: (x: number) => number,
  n: number,
  opts: InvertCdfOptions & RandomOptions = {},
): Float64Array {
  return sampleInverseCdf(numericInverseCdf(cdf, opts), n, opts);
}

/**
 * Discrete inverse transform: n draws of k ∈ {0, …, K−1} with P(k) ∝ weights[k],
 * k = min{k : C_k ≥ u·C_{K−1}} where C_k = Σ_{j≤k} w_j (binary search on the cumulative sums).
 */
export function sampleDiscrete(
  weights: ArrayLike<number>,
  n: number,
  opts: RandomOptions = {},
): Int32Array {
  assertNonNegativeInteger("n", n);
  const K = weights.length;
  if (K === 0) throw new RangeError("sampleDiscrete: empty weights");
  const cum = new Float64Array(K);
  let s = 0;
  for (let k = 0; k < K; k++) {
    if (!(weights[k] >= 0)) throw new RangeError("sampleDiscrete: weights must be >= 0");
    s += weights[k];
    cum[k] = s;
  }
  if (!(s > 0)) throw new RangeError("sampleDiscrete: weights sum to zero");
  const rng = resolveRng(opts);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const t = rng.uniform() * s;
    let lo = 0;
    let hi = K - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] > t) hi = mid;
      else lo = mid + 1;
    }
    out[i] = lo;
  }
  return out;
}
