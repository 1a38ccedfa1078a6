/**
 * Sampling methods (seed 004 §3 "Sampling Methods" and §4 "MCMC"): inverse-transform,
 * rejection and importance sampling; Metropolis–Hastings and Gibbs; plus the statistics and
 * MCMC diagnostics used to check them. Pure TypeScript on Float64Array / number[], seeded
 * through `lib/util/rng.ts`.
 */
export * from "./common.ts";
export * from "./stats.ts";
export * from "./distributions.ts";
export * from "./inverse_cdf.ts";
export * from "./rejection.ts";
export * from "./importance.ts";
export * from "./metropolis_hastings.ts";
export * from "./diagnostics.ts";
export * from "./gibbs.ts";
