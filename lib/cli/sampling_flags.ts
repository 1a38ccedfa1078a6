/**
 * The sampling-method flags shared by `sample` and `eval` (`--sampler --steps --eta --spacing
 * --variance --clip --epsilon-scale`), turned into the `method` record of `GenerativeModel.sample`
 * (lib/models/types.ts). The model validates the values (one-line errors naming the allowed ones), so the CLI
 * needs no list of samplers; flags left out are left out of `method` (the model's defaults apply),
 * and a model without sampling options gets no `method` at all.
 *
 * Also the timing of one sampling call: NFE (network evaluations, the `total` the model reports
 * through `onProgress`), seconds and seconds per image.
 */
import { InvalidArgumentError } from "commander";
import type { GenerativeModel } from "../models/types.ts";
import { SAMPLING_METHOD_KEYS } from "../models/diffusion/samplers.ts";
import type * as tf from "@tensorflow/tfjs";

export interface SamplingFlags {
  sampler?: string;
  steps?: number;
  eta?: number;
  spacing?: string;
  variance?: string;
  clip?: string;
  epsilonScale?: number;
  /** Which weights to load: the EMA average (default) or the live training weights. */
  weights?: "ema" | "live";
}

export const SAMPLING_FLAG_HELP = {
  sampler: "diffusion sampler: ddpm | ddim | dpmpp-2m | euler | heun (default: the model's)",
  steps: "sampling steps S (default: the sampler's; ddpm: T)",
  eta: "DDIM η in [0, 1] (0 = deterministic)",
  spacing: "timestep spacing: linspace | leading | trailing | quadratic (| karras for dpmpp-2m)",
  variance: "DDPM reverse variance: fixed-small | fixed-large",
  clip: "clip x̂₀ to [-1, 1] while sampling: none | static",
  epsilonScale: "Epsilon Scaling λ > 0: divide ε̂ by λ while sampling (Ning et al. 2024; 1 = off)",
  weights:
    "ema | live: sample with the EMA weights (default, when the run has them) or the live ones",
};

/** `--eta` parser: a number in [0, 1]. */
export function etaValue(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) {
    throw new InvalidArgumentError(`--eta must be in [0, 1], got '${value}'`);
  }
  return n;
}

export function weightsValue(value: string): "ema" | "live" {
  if (value !== "ema" && value !== "live") {
    throw new InvalidArgumentError(`--weights must be ema or live, got '${value}'`);
  }
  return value;
}

const METHOD_FLAGS = SAMPLING_METHOD_KEYS;

/** The `method` record for `model.sample`, or undefined when no sampling flag was given. */
export function samplingMethod(
  flags: SamplingFlags,
): Record<string, string | number> | undefined {
  const method: Record<string, string | number> = {};
  for (const key of METHOD_FLAGS) {
    if (flags[key] !== undefined) method[key] = flags[key]!;
  }
  return Object.keys(method).length > 0 ? method : undefined;
}

/** The flags again as CLI text (for the command recorded in metrics.json). */
export function samplingArgs(flags: SamplingFlags): string[] {
  const out: string[] = [];
  for (const key of [...METHOD_FLAGS, "weights"] as const) {
    const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (flags[key] !== undefined) out.push(`--${flag}`, String(flags[key]));
  }
  return out;
}

export interface SamplingTiming {
  n: number;
  /** Network evaluations per image batch (the sampling loop's length; 1 for one-shot models). */
  nfe: number;
  seconds: number;
  seconds_per_image: number;
}

/** Draw n samples with `method`, timing it (the result is downloaded before the clock stops). */
export async function timedSample(
  model: GenerativeModel,
  n: number,
  options: { seed: number; method?: Record<string, string | number> },
): Promise<{ images: tf.Tensor4D; timing: SamplingTiming }> {
  let nfe = 1;
  const started = performance.now();
  const images = await model.sample(n, {
    seed: options.seed,
    ...(options.method ? { method: options.method } : {}),
    onProgress: (_done, total) => {
      nfe = total;
    },
  });
  await images.data();
  const seconds = (performance.now() - started) / 1000;
  return {
    images,
    timing: {
      n,
      nfe,
      seconds: Number(seconds.toFixed(3)),
      seconds_per_image: Number((seconds / n).toFixed(5)),
    },
  };
}
