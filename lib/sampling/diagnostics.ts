/**
 * MCMC output diagnostics: autocorrelation, integrated autocorrelation time, effective sample
 * size, Monte-Carlo standard error, and split-R̂.
 *
 * Successive MCMC draws are correlated, so n draws carry less information than n independent
 * ones. With lag-k autocorrelation ρ_k of a stationary chain,
 *
 *   Var(x̄) ≈ (σ²/n)·τ,   τ = 1 + 2 Σ_{k≥1} ρ_k   (integrated autocorrelation time),
 *   ESS = n / τ,          MCSE = σ √(τ/n).
 *
 * The infinite sum is truncated from the data: by Geyer's (1992) initial monotone sequence
 * (default) or Sokal's automatic window.
 */

/** γ_k = (1/n) Σ_{i<n−k} (x_i − x̄)(x_{i+k} − x̄) for k = 0…maxLag (the biased, PSD estimator). */
export function autocovariance(x: ArrayLike<number>, maxLag?: number): Float64Array {
  const n = x.length;
  if (n < 2) throw new RangeError("autocovariance: need at least 2 draws");
  const L = Math.min(maxLag ?? n - 1, n - 1);
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i];
  m /= n;
  const c = new Float64Array(n);
  for (let i = 0; i < n; i++) c[i] = x[i] - m;
  const out = new Float64Array(L + 1);
  for (let k = 0; k <= L; k++) {
    let s = 0;
    for (let i = 0; i + k < n; i++) s += c[i] * c[i + k];
    out[k] = s / n;
  }
  return out;
}

/** ρ_k = γ_k / γ_0 for k = 0…maxLag (default: min(n − 1, 1000)). */
export function autocorrelation(x: ArrayLike<number>, maxLag?: number): Float64Array {
  const g = autocovariance(x, maxLag ?? Math.min(x.length - 1, 1000));
  const g0 = g[0];
  const out = new Float64Array(g.length);
  for (let k = 0; k < g.length; k++) out[k] = g0 > 0 ? g[k] / g0 : k === 0 ? 1 : 0;
  return out;
}

export interface IatOptions {
  /**
   * "geyer" (default): initial monotone positive sequence — sum pairs Γ_m = ρ_{2m} + ρ_{2m+1}
   * while positive, forced nonincreasing, τ = −1 + 2 Σ Γ_m.
   * "sokal": τ(W) = 1 + 2 Σ_{k=1}^{W} ρ_k with the smallest window W ≥ c·τ(W).
   */
  method?: "geyer" | "sokal";
  /** Sokal window constant c. Default 5. */
  c?: number;
  /** Largest lag considered. Default n − 1. */
  maxLag?: number;
}

/** Integrated autocorrelation time τ = 1 + 2 Σ_{k≥1} ρ_k (≥ 1/n; 1 for independent draws). */
export function integratedAutocorrelationTime(
  x: ArrayLike<number>,
  opts: IatOptions = {},
): number {
  const n = x.length;
  if (n < 4) throw new RangeError("integratedAutocorrelationTime: need at least 4 draws");
  const maxLag = Math.min(opts.maxLag ?? n - 1, n - 1);
  // Lags are computed lazily (O(n) each) since truncation usually happens after few of them.
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i];
  m /= n;
  const c = new Float64Array(n);
  for (let i = 0; i < n; i++) c[i] = x[i] - m;
  const gamma = (k: number) => {
    let s = 0;
    for (let i = 0; i + k < n; i++) s += c[i] * c[i + k];
    return s / n;
  };
  const g0 = gamma(0);
  if (!(g0 > 0)) return NaN; // constant chain
  const rho = (k: number) => gamma(k) / g0;

  if (opts.method === "sokal") {
    const cw = opts.c ?? 5;
    let tau = 1;
    for (let k = 1; k <= maxLag; k++) {
      tau += 2 * rho(k);
      if (k >= cw * tau) return Math.max(tau, 1 / n);
    }
    return Math.max(tau, 1 / n);
  }

  let sum = 0;
  let prev = Infinity;
  for (let mIdx = 0; 2 * mIdx + 1 <= maxLag; mIdx++) {
    let pair = (mIdx === 0 ? 1 : rho(2 * mIdx)) + rho(2 * mIdx + 1);
    if (!(pair > 0)) break;
    if (pair > prev) pair = prev; // monotone
    sum += pair;
    prev = pair;
  }
  return Math.max(-1 + 2 * sum, 1 / n);
}

/** MCMC effective sample size n/τ of one scalar chain. */
export function mcmcEss(x: ArrayLike<number>, opts: IatOptions = {}): number {
  return x.length / integratedAutocorrelationTime(x, opts);
}

/** Monte-Carlo standard error of the chain mean: s·√(τ/n) = s/√ESS. */
export function mcmcStdErr(x: ArrayLike<number>, opts: IatOptions = {}): number {
  const n = x.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - m) ** 2;
  v /= n - 1;
  return Math.sqrt(v / mcmcEss(x, opts));
}

/**
 * Split-R̂ (Gelman et al., BDA3 §11.4): split every chain in half, then with per-half means and
 * variances, W = mean within-half variance, B/n = variance of half means,
 * R̂ = √(((n−1)/n · W + B/n) / W). Close to 1 (say < 1.01) when the chains agree.
 */
export function splitRHat(chains: ArrayLike<number>[]): number {
  const halves: ArrayLike<number>[] = [];
  for (const ch of chains) {
    const h = Math.floor(ch.length / 2);
    const arr = Array.from(ch);
    halves.push(arr.slice(0, h), arr.slice(ch.length - h));
  }
  const n = Math.min(...halves.map((h) => h.length));
  if (n < 2 || halves.length < 2) throw new RangeError("splitRHat: chains too short");
  const means: number[] = [];
  const vars: number[] = [];
  for (const h of halves) {
    let m = 0;
    for (let i = 0; i < n; i++) m += h[i];
    m /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (h[i] - m) ** 2;
    means.push(m);
    vars.push(v / (n - 1));
  }
  const J = halves.length;
  const W = vars.reduce((a, b) => a + b, 0) / J;
  const mm = means.reduce((a, b) => a + b, 0) / J;
  const Bn = means.reduce((a, b) => a + (b - mm) ** 2, 0) / (J - 1);
  return Math.sqrt(((n - 1) / n * W + Bn) / W);
}
