/**
 * Metropolis–Hastings (MCMC).
 *
 * "위 Sampling 기법이 제한적임 / MCMC → 고차원에서 이전 Sampling Method 보다 효율적": instead of
 * independent draws, build a Markov chain whose stationary distribution is the target π
 * (known only up to a constant, π ∝ π̃). From the current state x, propose x' ~ q(·|x) and
 * accept it with probability
 *
 *   α(x → x') = min(1, π̃(x') q(x|x') / (π̃(x) q(x'|x)))
 *
 * (else stay at x). This makes the chain time-reversible (detailed balance
 * π(x) P(x→x') = π(x') P(x'→x)), so π is stationary; with irreducibility and aperiodicity the
 * chain converges to π from any start — the three conditions listed for MCMC.
 *
 * The default proposal is the random-walk Gaussian x' = x + σ ⊙ ε, ε ~ N(0, I), which is
 * symmetric (q(x'|x) = q(x|x')), so α reduces to Metropolis' min(1, π̃(x')/π̃(x)). The default
 * step σ = 2.38/√d is the Roberts–Gelman–Gilks (1997) optimum for Gaussian-like targets
 * (acceptance ≈ 0.44 in 1-D, → 0.234 as d grows).
 *
 * The first `burnIn` iterations are discarded (the chain has not yet forgotten its start), and
 * only every `thin`-th state is kept afterwards; total iterations = burnIn + nSamples·thin.
 * Kept draws are still autocorrelated — use `diagnostics.ts` (τ, ESS) to judge precision.
 */
import type { Rng } from "../util/rng.ts";
import {
  assertNonNegativeInteger,
  assertPositiveInteger,
  type RandomOptions,
  resolveRng,
} from "./common.ts";

/** A general (possibly asymmetric) MH proposal kernel q(x'|x). */
export interface MhProposal {
  /** Draw x' ~ q(·|x) (must return a new array; `current` must not be modified). */
  sample(current: Float64Array, rng: Rng): Float64Array;
  /**
   * log q(to | from), up to a constant. Omit for a symmetric kernel (then the Hastings
   * correction log q(x|x') − log q(x'|x) is 0).
   */
  logDensity?(to: Float64Array, from: Float64Array): number;
}

export interface MetropolisHastingsOptions extends RandomOptions {
  /** log π̃(x), unnormalized log target; return −Infinity outside the support. */
  logTarget: (x: Float64Array) => number;
  /** Starting point x₀ (its dimension sets d); must have finite log π̃. */
  initial: number | ArrayLike<number>;
  /** Number of kept draws (after burn-in and thinning). */
  nSamples: number;
  /** Discarded initial iterations. Default 1000. */
  burnIn?: number;
  /** Keep every `thin`-th iteration after burn-in. Default 1. */
  thin?: number;
  /** Random-walk step σ (scalar or per-coordinate). Default 2.38/√d. Ignored with `proposal`. */
  proposalStd?: number | ArrayLike<number>;
  /** Custom proposal kernel instead of the Gaussian random walk. */
  proposal?: MhProposal;
}

export interface MetropolisHastingsResult {
  /** Kept states, each a d-vector (copy). Use `marginal(samples, j)` for coordinate j. */
  samples: Float64Array[];
  /** log π̃ at each kept state. */
  logTargets: Float64Array;
  /** Dimension d. */
  dim: number;
  /** Accepted / proposed over the post-burn-in iterations. */
  acceptanceRate: number;
  /** Accepted / proposed during burn-in. */
  burnInAcceptanceRate: number;
  /** Post-burn-in counts. */
  accepted: number;
  proposed: number;
  /** Final state of the chain (to continue it). */
  finalState: Float64Array;
}

/** Gaussian random-walk proposal x' = x + σ ⊙ ε (symmetric). */
export function gaussianRandomWalk(std: number | ArrayLike<number>, dim: number): MhProposal {
  const s = new Float64Array(dim);
  for (let j = 0; j < dim; j++) s[j] = typeof std === "number" ? std : std[j];
  for (let j = 0; j < dim; j++) {
    if (!(s[j] > 0)) throw new RangeError("proposalStd must be positive");
  }
  return {
    sample(current, rng) {
      const out = new Float64Array(dim);
      for (let j = 0; j < dim; j++) out[j] = current[j] + s[j] * rng.normal();
      return out;
    },
  };
}

/** Metropolis–Hastings sampling of π ∝ exp(logTarget). */
export function metropolisHastings(opts: MetropolisHastingsOptions): MetropolisHastingsResult {
  const { logTarget, nSamples } = opts;
  const burnIn = opts.burnIn ?? 1000;
  const thin = opts.thin ?? 1;
  assertNonNegativeInteger("nSamples", nSamples);
  assertNonNegativeInteger("burnIn", burnIn);
  assertPositiveInteger("thin", thin);
  const rng = resolveRng(opts);
  let x: Float64Array = typeof opts.initial === "number"
    ? Float64Array.of(opts.initial)
    : Float64Array.from(opts.initial);
  const dim = x.length;
  if (dim === 0) throw new RangeError("initial must have at least one coordinate");
  const proposal = opts.proposal ??
    gaussianRandomWalk(opts.proposalStd ?? 2.38 / Math.sqrt(dim), dim);
  let logp = logTarget(x);
  if (!Number.isFinite(logp)) throw new RangeError("logTarget(initial) must be finite");

  const samples: Float64Array[] = [];
  const logTargets = new Float64Array(nSamples);
  let acc = 0;
  let accBurn = 0;
  const total = burnIn + nSamples * thin;
  for (let t = 0; t < total; t++) {
    const y = proposal.sample(x, rng);
    const logpy = logTarget(y);
    let logAlpha = logpy - logp;
    if (proposal.logDensity) logAlpha += proposal.logDensity(x, y) - proposal.logDensity(y, x);
    // NaN / −Infinity targets are always rejected.
    if (logpy > -Infinity && (logAlpha >= 0 || Math.log(rng.uniformOpen()) < logAlpha)) {
      x = y;
      logp = logpy;
      if (t < burnIn) accBurn++;
      else acc++;
    }
    if (t >= burnIn && (t - burnIn + 1) % thin === 0) {
      logTargets[samples.length] = logp;
      samples.push(Float64Array.from(x));
    }
  }
  const proposed = nSamples * thin;
  return {
    samples,
    logTargets,
    dim,
    acceptanceRate: proposed > 0 ? acc / proposed : NaN,
    burnInAcceptanceRate: burnIn > 0 ? accBurn / burnIn : NaN,
    accepted: acc,
    proposed,
    finalState: Float64Array.from(x),
  };
}
