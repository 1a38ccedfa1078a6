/**
 * Every sampler by name, and THE sampling loop all of them (and the ddpm model's `sample()`)
 * run through:
 *
 *   const denoiser = new Denoiser(net, "epsilon", schedule);
 *   const x0 = await sampleLoop(denoiser, makeSampler(schedule, { sampler: "ddim", steps: 50 }),
 *     [16, 28, 28, 1], { seed: 1, onProgress });
 *
 * One network evaluation per `sampler.points` entry (NFE = points.length, also counted on the
 * denoiser); each step runs in tf.tidy, so the live tensor count is flat over the loop.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../util/rng.ts";
import { UserInputError } from "../../util/errors.ts";
import type { NoiseSchedule } from "./schedule.ts";
import { type Denoiser, type Sampler, X0_CLIPS, type X0Clip } from "./denoiser.ts";
import { DDPM_VARIANCES, DdpmSampler, type DdpmVariance } from "./ddpm.ts";
import { DDIM_DEFAULTS, DdimInverseSampler, DdimSampler } from "./ddim.ts";
import { DPM_SPACINGS, DpmSolverPlusPlus2M, type DpmSpacing } from "./dpm_solver.ts";
import { EulerKarrasSampler, HeunKarrasSampler } from "./karras.ts";
import { TIMESTEP_SPACINGS, type TimestepSpacing } from "./spacing.ts";

export const SAMPLER_NAMES = ["ddpm", "ddim", "dpmpp-2m", "euler", "heun"] as const;
export type SamplerName = typeof SAMPLER_NAMES[number];

/** What a user picks (the CLI's --sampler/--steps/--eta/--spacing, SampleOptions.method). */
export interface SamplingMethod {
  sampler: SamplerName;
  /** Sampling steps S (Heun: σ-steps, NFE = 2S − 1). Default: T for ddpm, 50 ddim, 20 others. */
  steps?: number;
  /** DDIM η ∈ [0, 1]. */
  eta?: number;
  /** Which timesteps: linspace | leading | trailing | quadratic (ddpm, ddim, dpmpp-2m) or karras (dpmpp-2m;
   * euler and heun always use Karras σ). Defaults (diffusers'): leading for ddpm/ddim, linspace for dpmpp-2m. */
  spacing?: DpmSpacing;
  /** DDPM reverse variance. */
  variance?: DdpmVariance;
  clip?: X0Clip;
  /** Epsilon Scaling λ (any sampler; 1 = off): the ddpm model builds its Denoiser with it. */
  epsilonScale?: number;
}

/** The keys of a SamplingMethod: the `method` record's allowed keys, and the CLI's flags
 * (lib/cli/sampling_flags.ts) — one list for both. */
export const SAMPLING_METHOD_KEYS = [
  "sampler",
  "steps",
  "eta",
  "spacing",
  "variance",
  "clip",
  "epsilonScale",
] as const satisfies readonly (keyof SamplingMethod)[];
const METHOD_KEYS: readonly string[] = SAMPLING_METHOD_KEYS;

/** Validate a `method` record (from the CLI or SampleOptions) into a SamplingMethod; every bad
 * key or value is a one-line UserInputError naming the allowed values. */
export function parseSamplingMethod(
  method: Record<string, string | number | boolean> = {},
  defaults: Partial<SamplingMethod> = {},
): SamplingMethod {
  for (const key of Object.keys(method)) {
    if (!METHOD_KEYS.includes(key)) {
      throw new UserInputError(
        `unknown sampling option "${key}"; diffusion takes ${METHOD_KEYS.join(", ")}`,
      );
    }
  }
  const merged = { sampler: "ddpm", ...defaults, ...method } as Record<string, unknown>;
  const pick = <T extends string>(key: string, allowed: readonly T[]): T | undefined => {
    const v = merged[key];
    if (v === undefined) return undefined;
    if (!allowed.includes(v as T)) {
      throw new UserInputError(`${key} must be one of ${allowed.join(", ")}, got "${v}"`);
    }
    return v as T;
  };
  const num = (key: string): number | undefined => {
    const v = merged[key];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UserInputError(`${key} must be a number, got "${v}"`);
    return n;
  };
  const positive = (key: string): number | undefined => {
    const n = num(key);
    if (n !== undefined && !(n > 0)) throw new UserInputError(`${key} must be > 0, got ${n}`);
    return n;
  };
  return {
    sampler: pick("sampler", SAMPLER_NAMES)!,
    steps: num("steps"),
    eta: num("eta"),
    spacing: pick("spacing", DPM_SPACINGS),
    variance: pick("variance", DDPM_VARIANCES),
    clip: pick("clip", X0_CLIPS),
    epsilonScale: positive("epsilonScale"),
  };
}

/** The sampler object for a method, with its timesteps set. */
export function makeSampler(schedule: NoiseSchedule, method: SamplingMethod): Sampler {
  const clip = method.clip;
  if (method.spacing === "karras" && (method.sampler === "ddpm" || method.sampler === "ddim")) {
    throw new UserInputError(
      `spacing karras is for dpmpp-2m, euler and heun; ${method.sampler} takes ${
        TIMESTEP_SPACINGS.join(", ")
      }`,
    );
  }
  const spacing = method.spacing as TimestepSpacing | undefined;
  let sampler: Sampler;
  switch (method.sampler) {
    case "ddpm":
      sampler = new DdpmSampler(schedule, {
        ...(method.variance && { variance: method.variance }),
        ...(clip && { clip }),
        ...(spacing && { spacing }),
      });
      sampler.setTimesteps(method.steps ?? schedule.T);
      return sampler;
    case "ddim":
      sampler = new DdimSampler(schedule, {
        eta: method.eta ?? DDIM_DEFAULTS.eta,
        ...(clip && { clip }),
        ...(spacing && { spacing }),
      });
      sampler.setTimesteps(method.steps ?? Math.min(50, schedule.T));
      return sampler;
    case "dpmpp-2m":
      sampler = new DpmSolverPlusPlus2M(schedule, {
        ...(method.spacing && { spacing: method.spacing }),
      });
      break;
    case "euler":
      sampler = new EulerKarrasSampler(schedule);
      break;
    case "heun":
      sampler = new HeunKarrasSampler(schedule);
      break;
    default:
      throw new UserInputError(
        `unknown sampler "${method.sampler}"; use one of ${SAMPLER_NAMES.join(", ")}`,
      );
  }
  sampler.setTimesteps(method.steps ?? Math.min(20, schedule.T));
  return sampler;
}

/** The inversion sampler matching a DDIM method (image → noise, η = 0). */
export function makeInverseSampler(schedule: NoiseSchedule, method: SamplingMethod): Sampler {
  const spacing = method.spacing === "karras" ? undefined : method.spacing;
  const sampler = new DdimInverseSampler(schedule, spacing ?? DDIM_DEFAULTS.spacing);
  sampler.setTimesteps(method.steps ?? Math.min(50, schedule.T));
  return sampler;
}

export interface LoopOptions {
  /** Seed of the loop's noise (start noise and stochastic steps); or pass `rng`. */
  seed?: number;
  rng?: Rng;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Run a sampler to the end. `start` is either the shape of the batch (x starts as
 * N(0, initNoiseStd²) noise) or a starting tensor (e.g. the noise of another run, or an image
 * for DDIM inversion; not disposed). Returns the final x (caller disposes).
 */
export async function sampleLoop(
  denoiser: Denoiser,
  sampler: Sampler,
  start: [number, number, number, number] | tf.Tensor4D,
  options: LoopOptions = {},
): Promise<tf.Tensor4D> {
  const rng = options.rng ?? new Rng(options.seed ?? 0);
  let x: tf.Tensor4D = Array.isArray(start)
    ? tf.tidy(() =>
      tf.mul(tf.randomNormal(start, 0, 1, "float32", rng.seed()), sampler.initNoiseStd)
    )
    : start;
  const total = sampler.points.length;
  try {
    for (let i = 0; i < total; i++) {
      const current = x;
      x = tf.tidy(() =>
        sampler.step(denoiser.predict(current, sampler.points[i]), i, current, rng)
      );
      if (current !== start) current.dispose();
      options.onProgress?.(i + 1, total);
      // Let timers and the progress bar run; on GPU backends it also bounds the queued work.
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 0));
    }
  } finally {
    sampler.reset();
  }
  return x === start ? tf.clone(x) : x;
}

/** Convenience: wrap, choose and run in one call. */
export async function sampleDiffusion(
  denoiser: Denoiser,
  method: SamplingMethod,
  shape: [number, number, number, number],
  options: LoopOptions = {},
): Promise<{ sample: tf.Tensor4D; nfe: number }> {
  const sampler = makeSampler(denoiser.schedule, method);
  const before = denoiser.nfe;
  const sample = await sampleLoop(denoiser, sampler, shape, options);
  return { sample, nfe: denoiser.nfe - before };
}
