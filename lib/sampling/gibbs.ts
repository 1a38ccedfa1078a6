/**
 * Gibbs sampling (Gibbs Sampler, an MCMC algorithm).
 *
 * When every full conditional π(x_i | x_{−i}) is easy to sample, update one coordinate at a
 * time from it: x_i ← draw from π(x_i | x_{−i}). This is Metropolis–Hastings with proposal
 * q = π(x_i | x_{−i}), whose acceptance probability is always exactly 1, so π is stationary.
 *
 * - {@link gibbsSampler}: generic systematic- or random-scan Gibbs from user conditionals.
 * - {@link gibbsBivariateGaussian}: (x, y) ~ N(μ, [[σ₁², ρσ₁σ₂], [ρσ₁σ₂, σ₂²]]), whose full
 *   conditionals are Gaussian in closed form:
 *     x | y ~ N(μ₁ + ρ(σ₁/σ₂)(y − μ₂), σ₁²(1 − ρ²)),  y | x ~ N(μ₂ + ρ(σ₂/σ₁)(x − μ₁), σ₂²(1 − ρ²)).
 *   Each coordinate chain is AR(1) with coefficient ρ², so mixing slows as |ρ| → 1
 *   (τ = (1 + ρ²)/(1 − ρ²)).
 * - {@link isingGibbs}: the 2-D Ising model π(s) ∝ exp(−E(s)/T),
 *   E(s) = −J Σ_{⟨ij⟩} s_i s_j − h Σ_i s_i on an L×L periodic lattice, s_i ∈ {−1, +1}, with
 *   heat-bath updates P(s_i = +1 | rest) = 1/(1 + exp(−2(J Σ_{j∼i} s_j + h)/T)).
 */
import type { Rng } from "../util/rng.ts";
import {
  assertNonNegativeInteger,
  assertPositiveInteger,
  type RandomOptions,
  resolveRng,
} from "./common.ts";

export interface GibbsOptions extends RandomOptions {
  /** Starting state x₀. */
  initial: ArrayLike<number>;
  /**
   * conditionals[i](state, rng) returns a draw of x_i ~ π(x_i | x_{−i}); `state` holds the
   * current values of all coordinates (read it, do not modify it).
   */
  conditionals: ((state: Float64Array, rng: Rng) => number)[];
  /** Number of kept sweeps (after burn-in and thinning). */
  nSamples: number;
  /** Discarded initial sweeps. Default 100. */
  burnIn?: number;
  /** Keep every `thin`-th sweep. Default 1. */
  thin?: number;
  /**
   * "systematic" (default): each sweep updates x₀, x₁, …, x_{d−1} in order.
   * "random": each sweep does d updates of uniformly chosen coordinates.
   */
  scan?: "systematic" | "random";
}

export interface GibbsResult {
  /** Kept states (copies), one per kept sweep. Use `marginal(samples, j)` for coordinate j. */
  samples: Float64Array[];
  dim: number;
  /** Final state (to continue the chain). */
  finalState: Float64Array;
}

/** Generic Gibbs sampler from full conditionals. */
export function gibbsSampler(opts: GibbsOptions): GibbsResult {
  const { conditionals, nSamples } = opts;
  const burnIn = opts.burnIn ?? 100;
  const thin = opts.thin ?? 1;
  assertNonNegativeInteger("nSamples", nSamples);
  assertNonNegativeInteger("burnIn", burnIn);
  assertPositiveInteger("thin", thin);
  const x = Float64Array.from(opts.initial);
  const d = x.length;
  if (conditionals.length !== d) {
    throw new RangeError(`need ${d} conditionals, got ${conditionals.length}`);
  }
  const rng = resolveRng(opts);
  const randomScan = opts.scan === "random";
  const samples: Float64Array[] = [];
  const total = burnIn + nSamples * thin;
  for (let t = 0; t < total; t++) {
    for (let k = 0; k < d; k++) {
      const i = randomScan ? rng.int(d) : k;
      x[i] = conditionals[i](x, rng);
    }
    if (t >= burnIn && (t - burnIn + 1) % thin === 0) samples.push(Float64Array.from(x));
  }
  return { samples, dim: d, finalState: Float64Array.from(x) };
}

export interface BivariateGaussianGibbsOptions extends RandomOptions {
  /** Correlation ρ ∈ (−1, 1). */
  rho: number;
  /** Mean (μ₁, μ₂). Default (0, 0). */
  mean?: [number, number];
  /** Standard deviations (σ₁, σ₂). Default (1, 1). */
  std?: [number, number];
  /** Number of kept sweeps. */
  nSamples: number;
  /** Default 100. */
  burnIn?: number;
  /** Default 1. */
  thin?: number;
  /** Starting point. Default: the mean. */
  initial?: [number, number];
}

/** Gibbs sampling of a bivariate Gaussian with correlation ρ via its closed-form conditionals. */
export function gibbsBivariateGaussian(opts: BivariateGaussianGibbsOptions): GibbsResult {
  const { rho } = opts;
  if (!(rho > -1 && rho < 1)) throw new RangeError("rho must be in (-1, 1)");
  const [m1, m2] = opts.mean ?? [0, 0];
  const [s1, s2] = opts.std ?? [1, 1];
  if (!(s1 > 0 && s2 > 0)) throw new RangeError("std must be positive");
  const c = Math.sqrt(1 - rho * rho);
  return gibbsSampler({
    rng: opts.rng,
    seed: opts.seed,
    initial: opts.initial ?? [m1, m2],
    nSamples: opts.nSamples,
    burnIn: opts.burnIn,
    thin: opts.thin,
    conditionals: [
      (s, r) => r.normal(m1 + rho * (s1 / s2) * (s[1] - m2), s1 * c),
      (s, r) => r.normal(m2 + rho * (s2 / s1) * (s[0] - m1), s2 * c),
    ],
  });
}

// ---------------------------------------------------------------------------------------
// Ising model

/** Onsager's critical temperature of the 2-D square-lattice Ising model, T_c = 2J/ln(1 + √2). */
export const ISING_CRITICAL_TEMPERATURE = 2 / Math.log(1 + Math.SQRT2);

/**
 * Onsager–Yang spontaneous magnetization per spin of the infinite 2-D Ising model (h = 0):
 * m(T) = (1 − sinh(2J/T)^{−4})^{1/8} for T < T_c, else 0.
 */
export function onsagerMagnetization(temperature: number, coupling = 1): number {
  if (temperature >= ISING_CRITICAL_TEMPERATURE * coupling) return 0;
  return (1 - Math.sinh((2 * coupling) / temperature) ** -4) ** 0.125;
}

/**
 * Onsager's exact internal energy per spin of the infinite 2-D Ising model (h = 0):
 * u = −J coth(2βJ) [1 + (2/π)(2 tanh²(2βJ) − 1) K(κ)], κ = 2 sinh(2βJ)/cosh²(2βJ),
 * with K the complete elliptic integral of the first kind, K(κ) = π / (2 AGM(1, √(1 − κ²))).
 */
export function onsagerEnergyPerSite(temperature: number, coupling = 1): number {
  const b = (2 * coupling) / temperature;
  const kappa = (2 * Math.sinh(b)) / Math.cosh(b) ** 2;
  const coth = 1 / Math.tanh(b);
  const kc = Math.sqrt(Math.max(0, 1 - kappa * kappa));
  if (kc === 0) return -coupling * coth; // at T_c the K(κ) term vanishes: u = −√2 J
  let a = 1;
  let g = kc;
  for (let i = 0; i < 60 && Math.abs(a - g) > 1e-16 * a; i++) {
    const an = 0.5 * (a + g);
    g = Math.sqrt(a * g);
    a = an;
  }
  const K = Math.PI / (2 * a);
  return -coupling * coth * (1 + (2 / Math.PI) * (2 * Math.tanh(b) ** 2 - 1) * K);
}

/** Magnetization per spin m = (1/N) Σ s_i. */
export function isingMagnetization(spins: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < spins.length; i++) s += spins[i];
  return s / spins.length;
}

/** Energy per spin E/N, E = −J Σ_{⟨ij⟩} s_i s_j − h Σ s_i, periodic L×L lattice. */
export function isingEnergyPerSite(
  spins: ArrayLike<number>,
  size: number,
  coupling = 1,
  field = 0,
): number {
  const L = size;
  let bond = 0;
  let mag = 0;
  for (let r = 0; r < L; r++) {
    for (let c = 0; c < L; c++) {
      const s = spins[r * L + c];
      bond += s * (spins[r * L + ((c + 1) % L)] + spins[((r + 1) % L) * L + c]);
      mag += s;
    }
  }
  return (-coupling * bond - field * mag) / (L * L);
}

export interface IsingOptions extends RandomOptions {
  /** Lattice side L (N = L² spins, periodic boundaries). */
  size: number;
  /** Temperature T > 0 (k_B = 1). T_c ≈ 2.269 for J = 1. */
  temperature: number;
  /** Coupling J (> 0 ferromagnetic). Default 1. */
  coupling?: number;
  /** External field h. Default 0. */
  field?: number;
  /** Number of recorded sweeps (one sweep = N single-spin heat-bath updates, raster order). */
  sweeps: number;
  /** Discarded initial sweeps. Default 100. */
  burnIn?: number;
  /** Initial configuration: "random" (T = ∞, default), "up", "down", or explicit ±1 spins. */
  init?: "random" | "up" | "down" | ArrayLike<number>;
  /** Store a copy of the lattice every this many recorded sweeps (for pictures). Default: none. */
  snapshotEvery?: number;
}

export interface IsingResult {
  size: number;
  temperature: number;
  /** Final lattice, row-major, entries ±1. */
  spins: Int8Array;
  /** m after each recorded sweep. */
  magnetization: Float64Array;
  /** E/N after each recorded sweep. */
  energyPerSite: Float64Array;
  /** Mean of m over recorded sweeps (≈ 0 for h = 0 by symmetry, once the chain mixes). */
  meanMagnetization: number;
  /** Mean of |m| (the order parameter on a finite lattice). */
  meanAbsMagnetization: number;
  meanEnergyPerSite: number;
  /** Lattice copies, if `snapshotEvery` was set. */
  snapshots: Int8Array[];
}

/** Heat-bath Gibbs sampling of the 2-D Ising model. */
export function isingGibbs(opts: IsingOptions): IsingResult {
  const L = opts.size;
  const T = opts.temperature;
  const J = opts.coupling ?? 1;
  const h = opts.field ?? 0;
  const burnIn = opts.burnIn ?? 100;
  assertPositiveInteger("size", L);
  assertNonNegativeInteger("sweeps", opts.sweeps);
  assertNonNegativeInteger("burnIn", burnIn);
  if (!(T > 0)) throw new RangeError("temperature must be positive");
  const rng = resolveRng(opts);
  const N = L * L;
  const s = new Int8Array(N);
  const init = opts.init ?? "random";
  if (init === "random") { for (let i = 0; i < N; i++) s[i] = rng.uniform() < 0.5 ? -1 : 1; }
  else if (init === "up") s.fill(1);
  else if (init === "down") s.fill(-1);
  else {
    if (init.length !== N) throw new RangeError(`init must have ${N} spins`);
    for (let i = 0; i < N; i++) s[i] = init[i] > 0 ? 1 : -1;
  }
  // P(s_i = +1 | neighbour sum S) for S ∈ {−4, −2, 0, 2, 4}: 1/(1 + exp(−2(J S + h)/T)).
  const pUp = new Float64Array(5);
  for (let k = 0; k < 5; k++) {
    const S = 2 * k - 4;
    pUp[k] = 1 / (1 + Math.exp((-2 * (J * S + h)) / T));
  }
  const sweep = () => {
    for (let r = 0; r < L; r++) {
      const up = ((r + L - 1) % L) * L;
      const down = ((r + 1) % L) * L;
      const row = r * L;
      for (let c = 0; c < L; c++) {
        const left = (c + L - 1) % L;
        const right = (c + 1) % L;
        const S = s[row + left] + s[row + right] + s[up + c] + s[down + c];
        s[row + c] = rng.uniform() < pUp[(S + 4) >> 1] ? 1 : -1;
      }
    }
  };
  for (let t = 0; t < burnIn; t++) sweep();
  const magnetization = new Float64Array(opts.sweeps);
  const energyPerSite = new Float64Array(opts.sweeps);
  const snapshots: Int8Array[] = [];
  let sumM = 0;
  let sumAbsM = 0;
  let sumE = 0;
  for (let t = 0; t < opts.sweeps; t++) {
    sweep();
    const m = isingMagnetization(s);
    const e = isingEnergyPerSite(s, L, J, h);
    magnetization[t] = m;
    energyPerSite[t] = e;
    sumM += m;
    sumAbsM += Math.abs(m);
    sumE += e;
    if (opts.snapshotEvery && (t + 1) % opts.snapshotEvery === 0) snapshots.push(s.slice());
  }
  const n = opts.sweeps;
  return {
    size: L,
    temperature: T,
    spins: s,
    magnetization,
    energyPerSite,
    meanMagnetization: n > 0 ? sumM / n : NaN,
    meanAbsMagnetization: n > 0 ? sumAbsM / n : NaN,
    meanEnergyPerSite: n > 0 ? sumE / n : NaN,
    snapshots,
  };
}
