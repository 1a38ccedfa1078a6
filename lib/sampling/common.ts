/**
 * Shared types and small helpers for the sampling methods in `lib/sampling/`.
 *
 * Every sampler takes its randomness from the project's seeded {@link Rng}
 * (`lib/util/rng.ts`), never from `Math.random`, so the same seed always reproduces
 * the same samples.
 */
import { Rng } from "../util/rng.ts";

/** Where a sampler gets its random numbers: an explicit stream, or a seed for a new one. */
export interface RandomOptions {
  /** Random stream to draw from (advanced in place). Takes precedence over `seed`. */
  rng?: Rng;
  /** Seed for a fresh `Rng` when `rng` is not given. Default 0. */
  seed?: number;
}

/** The `Rng` a sampler should use: `opts.rng` if given, else `new Rng(opts.seed ?? 0)`. */
export function resolveRng(opts: RandomOptions = {}): Rng {
  return opts.rng ?? new Rng(opts.seed ?? 0);
}

/**
 * A distribution that can be sampled and whose (possibly unnormalized) log-density can be
 * evaluated. Used as the proposal q in rejection and importance sampling.
 */
export interface Proposal<T> {
  /** Draw x ~ q. */
  sample(rng: Rng): T;
  /** log q(x) (must be the normalized density when a normalized result is wanted). */
  logDensity(x: T): number;
}

/** log Σ exp(a_i), computed stably as m + log Σ exp(a_i − m), m = max a_i. */
export function stableLogSumExp(a: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  if (m === -Infinity || !Number.isFinite(m)) return m;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.exp(a[i] - m);
  return m + Math.log(s);
}

export function assertPositiveInteger(name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer`);
}

export function assertNonNegativeInteger(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw new RangeError(`${name} must be a non-negative integer`);
  }
}

/** Column j of a list of points: [x₀[j], x₁[j], …] (one marginal of an MCMC chain). */
export function marginal(samples: ArrayLike<number>[], j: number): Float64Array {
  const out = new Float64Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i][j];
  return out;
}
