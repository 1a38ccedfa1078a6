/**
 * Importance sampling (중요도 샘플링).
 *
 * Instead of sampling p itself, sample an easy proposal q (with q > 0 wherever p f ≠ 0) and
 * reweight:
 *
 *   E_p[f] = ∫ f(x) p(x)/q(x) q(x) dx ≈ (1/n) Σ wᵢ f(xᵢ),   xᵢ ~ q,  wᵢ = p(xᵢ)/q(xᵢ)
 *
 * ("plain" IS; unbiased, needs the normalized p). With only p̃ = Z·p known, use the
 * self-normalized estimator
 *
 *   Ê[f] = Σ wᵢ f(xᵢ) / Σ wᵢ = Σ w̄ᵢ f(xᵢ),   wᵢ = p̃(xᵢ)/q(xᵢ),  w̄ᵢ = wᵢ / Σⱼ wⱼ
 *
 * (biased by O(1/n), consistent), with delta-method standard error √(Σ w̄ᵢ² (f(xᵢ) − Ê[f])²),
 * and Ẑ = (1/n) Σ wᵢ estimates the normalizer Z.
 *
 * Weight degeneracy is summarized by Kish's effective sample size
 * ESS = (Σ wᵢ)² / Σ wᵢ² ∈ [1, n]: n when all weights are equal (q = p), ≈ 1 when one weight
 * dominates (q badly mismatched to p).
 *
 * All weights are handled as logs (log wᵢ = log p̃(xᵢ) − log q(xᵢ)) and normalized with
 * log-sum-exp, so very peaked targets do not overflow.
 */
import {
  assertPositiveInteger,
  type Proposal,
  type RandomOptions,
  resolveRng,
  stableLogSumExp,
} from "./common.ts";

/** Normalized weights w̄ᵢ = exp(log wᵢ − logΣⱼ exp(log wⱼ)), summing to 1. */
export function normalizeLogWeights(logWeights: ArrayLike<number>): Float64Array {
  const lse = stableLogSumExp(logWeights);
  const out = new Float64Array(logWeights.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.exp(logWeights[i] - lse);
  return out;
}

/**
 * Kish's effective sample size ESS = (Σ wᵢ)² / Σ wᵢ² of (unnormalized or normalized, linear)
 * importance weights. 1 ≤ ESS ≤ n.
 */
export function kishEss(weights: ArrayLike<number>): number {
  let s = 0;
  let s2 = 0;
  let m = 0;
  for (let i = 0; i < weights.length; i++) m = Math.max(m, weights[i]);
  if (m === 0) return 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] / m; // rescale: ESS is scale-free, this avoids overflow in w²
    s += w;
    s2 += w * w;
  }
  return (s * s) / s2;
}

/** Kish's ESS from log-weights (stable for any weight scale). */
export function kishEssFromLogWeights(logWeights: ArrayLike<number>): number {
  return kishEss(normalizeLogWeights(logWeights));
}

export interface WeightedEstimate {
  /** Self-normalized estimate Σ w̄ᵢ vᵢ. */
  estimate: number;
  /** Delta-method standard error √(Σ w̄ᵢ² (vᵢ − estimate)²). */
  stdErr: number;
  /** Kish ESS of the weights. */
  ess: number;
}

/** Self-normalized importance estimate of E_p[v] from per-sample values vᵢ = f(xᵢ) and log wᵢ. */
export function selfNormalizedEstimate(
  values: ArrayLike<number>,
  logWeights: ArrayLike<number>,
): WeightedEstimate {
  if (values.length !== logWeights.length) throw new RangeError("length mismatch");
  const w = normalizeLogWeights(logWeights);
  let est = 0;
  for (let i = 0; i < w.length; i++) if (w[i] > 0) est += w[i] * values[i];
  let v = 0;
  for (let i = 0; i < w.length; i++) if (w[i] > 0) v += w[i] * w[i] * (values[i] - est) ** 2;
  return { estimate: est, stdErr: Math.sqrt(v), ess: kishEss(w) };
}

export interface ImportanceOptions<T> extends RandomOptions {
  /** log p̃(x), normalization optional (set `targetNormalized` if it is normalized). */
  logTarget: (x: T) => number;
  /** Proposal q (normalized log-density). */
  proposal: Proposal<T>;
  /** Number of proposal draws. */
  n: number;
  /** Test function f whose expectation E_p[f] is wanted. Default: none (weights only). */
  f?: (x: T) => number;
  /** If p̃ is the normalized p, also report the plain (unbiased) IS estimate. Default false. */
  targetNormalized?: boolean;
}

export interface ImportanceResult<T> {
  /** Proposal draws xᵢ ~ q. */
  samples: T[];
  /** log wᵢ = log p̃(xᵢ) − log q(xᵢ). */
  logWeights: Float64Array;
  /** Normalized weights w̄ᵢ (sum to 1). */
  weights: Float64Array;
  /** f(xᵢ) (empty when no f was given). */
  values: Float64Array;
  /** Self-normalized estimate of E_p[f] (NaN without f). */
  estimate: number;
  /** Its delta-method standard error. */
  stdErr: number;
  /** Plain IS estimate (1/n) Σ wᵢ f(xᵢ) — only for a normalized target, else null. */
  plainEstimate: number | null;
  /** Its standard error sd(wᵢ f(xᵢ))/√n, else null. */
  plainStdErr: number | null;
  /** Kish ESS (Σw)²/Σw² ∈ [1, n]. */
  ess: number;
  /** ESS / n ∈ (0, 1]. */
  essFraction: number;
  /** Ẑ = (1/n) Σ wᵢ, an unbiased estimate of Z = ∫ p̃. */
  normalizerEstimate: number;
  /** Standard error sd(wᵢ)/√n of Ẑ. */
  normalizerStdErr: number;
}

/** Importance sampling of E_p[f] with proposal q: plain and self-normalized estimates + ESS. */
export function importanceSample<T>(opts: ImportanceOptions<T>): ImportanceResult<T> {
  const { logTarget, proposal, n, f } = opts;
  assertPositiveInteger("n", n);
  const rng = resolveRng(opts);
  const samples: T[] = new Array(n);
  const logWeights = new Float64Array(n);
  const values = new Float64Array(f ? n : 0);
  for (let i = 0; i < n; i++) {
    const x = proposal.sample(rng);
    samples[i] = x;
    logWeights[i] = logTarget(x) - proposal.logDensity(x);
    if (f) values[i] = f(x);
  }
  const weights = normalizeLogWeights(logWeights);
  const ess = kishEss(weights);

  // Ẑ and its standard error, computed in a rescaled frame w = exp(lw − m)·e^m.
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, logWeights[i]);
  let sw = 0;
  let sw2 = 0;
  for (let i = 0; i < n; i++) {
    const w = Math.exp(logWeights[i] - m);
    sw += w;
    sw2 += w * w;
  }
  const scale = Math.exp(m);
  const meanW = sw / n;
  const varW = n > 1 ? Math.max(0, (sw2 - n * meanW * meanW) / (n - 1)) : NaN;

  let estimate = NaN;
  let stdErr = NaN;
  let plainEstimate: number | null = null;
  let plainStdErr: number | null = null;
  if (f) {
    const sn = selfNormalizedEstimate(values, logWeights);
    estimate = sn.estimate;
    stdErr = sn.stdErr;
    if (opts.targetNormalized) {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const wf = Math.exp(logWeights[i]) * values[i];
        s += wf;
        s2 += wf * wf;
      }
      plainEstimate = s / n;
      plainStdErr = n > 1
        ? Math.sqrt(Math.max(0, (s2 - n * plainEstimate * plainEstimate) / (n - 1)) / n)
        : NaN;
    }
  }
  return {
    samples,
    logWeights,
    weights,
    values,
    estimate,
    stdErr,
    plainEstimate,
    plainStdErr,
    ess,
    essFraction: ess / n,
    normalizerEstimate: meanW * scale,
    normalizerStdErr: Math.sqrt(varW / n) * scale,
  };
}
