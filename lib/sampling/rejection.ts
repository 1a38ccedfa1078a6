/**
 * Rejection sampling (기각 샘플링).
 *
 * "샘플링하기 쉬운 분포를 선택한다": pick a proposal q that is easy to sample and a constant M
 * with p̃(x) ≤ M q(x) for all x (the envelope). Then repeat
 *
 *   x ~ q,  u ~ Uniform(0, 1),  accept x if u ≤ p̃(x) / (M q(x)).
 *
 * Accepted x are exact draws from p = p̃/Z. Each proposal is accepted with probability
 * ∫ p̃(x)/(M q(x)) q(x) dx = Z/M, i.e. exactly 1/M when p̃ is normalized (Z = 1); so a loose
 * envelope wastes proposals, and in high dimension M (and hence the waste) grows exponentially.
 * Conversely, M·(accepted/proposed) is a consistent estimate of Z.
 *
 * Densities are passed as logs for numerical range; the test is done as
 * log u ≤ log p̃(x) − log M − log q(x).
 */
import type { Rng } from "../util/rng.ts";
import {
  assertNonNegativeInteger,
  type Proposal,
  type RandomOptions,
  resolveRng,
} from "./common.ts";

export interface RejectionOptions<T> extends RandomOptions {
  /** log p̃(x): target log-density, normalization optional. */
  logTarget: (x: T) => number;
  /** Proposal q: must sample and give its normalized log-density. */
  proposal: Proposal<T>;
  /** Envelope constant M with p̃(x) ≤ M q(x) everywhere (M ≥ 1 when p̃ is normalized). */
  M: number;
  /** Number of accepted samples wanted. */
  n: number;
  /**
   * Z = ∫ p̃ if known (1 for a normalized target, the default assumption when
   * `targetNormalized` is true). Used only for the theoretical acceptance rate Z/M.
   */
  targetNormalizer?: number;
  /** Shorthand for `targetNormalizer: 1`. Default false. */
  targetNormalized?: boolean;
  /** Give up after this many proposals (throws). Default 1000·n + 1000. */
  maxProposals?: number;
}

export interface RejectionResult<T> {
  /** The n accepted draws (exactly ~ p when the envelope holds). */
  samples: T[];
  /** Number of proposals drawn. */
  proposed: number;
  /** Number accepted (= n). */
  accepted: number;
  /** Empirical acceptance rate accepted/proposed. */
  acceptanceRate: number;
  /** Binomial standard error √(r(1−r)/proposed) of the acceptance rate. */
  acceptanceRateStdErr: number;
  /** Z/M when Z is known (1/M for a normalized target), else null. */
  theoreticalAcceptanceRate: number | null;
  /** Estimate of Z = ∫ p̃ from the acceptance rate: M·accepted/proposed. */
  normalizerEstimate: number;
  /**
   * How many proposals had p̃(x) > M q(x), i.e. the envelope was violated there. Non-zero means
   * M is too small and the samples are NOT from p (they are from min(p̃, Mq), normalized).
   */
  envelopeViolations: number;
  /** Largest observed p̃(x)/q(x) over all proposals (a lower bound on the smallest valid M). */
  maxObservedRatio: number;
}

/** Rejection sampling: n exact draws from p ∝ p̃ using proposal q and envelope M·q. */
export function rejectionSample<T>(opts: RejectionOptions<T>): RejectionResult<T> {
  const { logTarget, proposal, M, n } = opts;
  assertNonNegativeInteger("n", n);
  if (!(M > 0) || !Number.isFinite(M)) throw new RangeError("M must be positive and finite");
  const rng: Rng = resolveRng(opts);
  const logM = Math.log(M);
  const maxProposals = opts.maxProposals ?? 1000 * n + 1000;
  const samples: T[] = [];
  let proposed = 0;
  let violations = 0;
  let maxLogRatio = -Infinity;
  while (samples.length < n) {
    if (proposed >= maxProposals) {
      throw new Error(
        `rejectionSample: only ${samples.length}/${n} accepted after ${proposed} proposals`,
      );
    }
    const x = proposal.sample(rng);
    proposed++;
    const logRatio = logTarget(x) - proposal.logDensity(x); // log p̃(x)/q(x)
    if (logRatio > maxLogRatio) maxLogRatio = logRatio;
    const logAccept = logRatio - logM; // log of p̃/(Mq)
    if (logAccept > 1e-12) violations++;
    if (Math.log(rng.uniformOpen()) <= logAccept) samples.push(x);
  }
  const accepted = samples.length;
  const rate = proposed > 0 ? accepted / proposed : NaN;
  const Z = opts.targetNormalizer ?? (opts.targetNormalized ? 1 : null);
  return {
    samples,
    proposed,
    accepted,
    acceptanceRate: rate,
    acceptanceRateStdErr: Math.sqrt((rate * (1 - rate)) / proposed),
    theoreticalAcceptanceRate: Z === null ? null : Z / M,
    normalizerEstimate: M * rate,
    envelopeViolations: violations,
    maxObservedRatio: Math.exp(maxLogRatio),
  };
}

/**
 * The smallest M that makes M·q(x) ≥ p̃(x) on a grid of points: max_x p̃(x)/q(x), times a
 * safety factor (default 1.0). Only as good as the grid — make sure it covers the mode(s)
 * of p̃/q, and that the ratio is bounded in the tails (q must have heavier tails than p).
 */
export function envelopeConstantOnGrid(
  logTarget: (x: number) => number,
  logProposal: (x: number) => number,
  grid: ArrayLike<number>,
  safetyFactor = 1,
): number {
  let m = -Infinity;
  for (let i = 0; i < grid.length; i++) {
    const r = logTarget(grid[i]) - logProposal(grid[i]);
    if (r > m) m = r;
  }
  return safetyFactor * Math.exp(m);
}
