/**
 * Where does stochasticity help? DDIM-50 with η = 1 on the high-noise steps and η = 0 on the
 * low-noise ones (and the reverse), against pure η = 0 and η = 1, on one trained ddpm run: the
 * same noise seeds, n and classifier FID as exp:ddpm_vs_ddim. If η = 1 only where t ≥ split
 * recovers most of the pure-η = 1 score, the deterministic sampler's deficit comes from the
 * high-noise part of the trajectory (not from under-trained low-noise predictions).
 *
 *   deno run -A experiments/ddim_eta_split.ts --run <ddpm run> [--n 1024] [--seed 1] [--split 500]
 */
import * as tf from "@tensorflow/tfjs";
import { Command } from "commander";
import { setupBackend } from "../lib/backend/mod.ts";
import { nonNegativeInt, positiveInt, UsageError } from "../lib/cli/common.ts";
import { loadRun } from "../lib/train/trainer.ts";
import { evaluateSamples } from "../lib/metrics/evaluate.ts";
import type { Ddpm } from "../lib/models/diffusion/ddpm_model.ts";
import { Denoiser, type Sampler } from "../lib/models/diffusion/denoiser.ts";
import { makeSampler, sampleLoop } from "../lib/models/diffusion/samplers.ts";

const o = new Command("ddim_eta_split")
  .requiredOption("--run <dir>", "a trained ddpm run")
  .option("--n <n>", "samples per variant", positiveInt("--n"), 1024)
  .option(
    "--seed <seed>",
    "noise seed (batch b uses seed + b, so nearby seeds share batches)",
    nonNegativeInt("--seed"),
    1,
  )
  .option("--batch <b>", "sampling batch", positiveInt("--batch"), 256)
  .option("--steps <S>", "DDIM steps", positiveInt("--steps"), 50)
  .option("--split <t>", "timestep where η switches", nonNegativeInt("--split"), 500)
  .option("--variants <list>", "which of eta0,eta1,high1,low1 to run", "eta0,eta1,high1,low1")
  .exitOverride((e) => Deno.exit(e.exitCode === 0 ? 0 : 2))
  .parse().opts<{
  run: string;
  n: number;
  seed: number;
  batch: number;
  steps: number;
  split: number;
  variants: string;
}>();

/** Bad input: one line naming the fix, exit code 2 (as the CLI does). */
function usage(message: string): never {
  console.error(message);
  Deno.exit(2);
}
const VARIANT_NAMES = ["eta0", "eta1", "high1", "low1"];
const chosen = o.variants.split(",").map((name) => name.trim());
const unknown = chosen.find((name) => !VARIANT_NAMES.includes(name));
if (unknown) usage(`unknown variant '${unknown}': use some of ${VARIANT_NAMES.join(", ")}`);

await setupBackend({ verbose: true });
const loaded = await loadRun(o.run, "ema").catch((e) =>
  usage(e instanceof UsageError ? e.message : `${o.run}: ${(e as Error).message}`)
);
const { model, spec, step } = loaded;
if (spec.model !== "ddpm") {
  usage(`${o.run} is a ${spec.model} run; this experiment needs a ddpm run`);
}
const ddpm = model as Ddpm;
const denoiser = new Denoiser(ddpm.net(), ddpm.config.predictionType, ddpm.schedule);
const { height, width, channels } = ddpm.dataSpec;
const ddim = (eta: number) => makeSampler(ddpm.schedule, { sampler: "ddim", steps: o.steps, eta });

/** η = `high` on steps with t ≥ split, η = `low` below: both DDIM samplers share the timesteps. */
function splitSampler(high: number, low: number): Sampler {
  const upper = ddim(high), lower = ddim(low);
  return {
    name: `ddim-${o.steps} η=${high} (t ≥ ${o.split}) / η=${low}`,
    setTimesteps: () => {},
    points: upper.points,
    initNoiseStd: upper.initNoiseStd,
    step: (prediction, i, x, rng) =>
      (upper.points[i].t >= o.split ? upper : lower).step(prediction, i, x, rng),
    reset: () => {
      upper.reset();
      lower.reset();
    },
  };
}

const allVariants: Record<string, [string, () => Sampler]> = {
  eta0: ["η=0 everywhere", () => ddim(0)],
  eta1: ["η=1 everywhere", () => ddim(1)],
  high1: [`η=1 for t ≥ ${o.split}, η=0 below`, () => splitSampler(1, 0)],
  low1: [`η=0 for t ≥ ${o.split}, η=1 below`, () => splitSampler(0, 1)],
};
const variants = chosen.map((name) => allVariants[name]);
console.log(
  `${o.run} (step ${step}, ema), ${spec.dataset}, n = ${o.n}, seed ${o.seed}, DDIM-${o.steps}`,
);
const rows: string[] = [
  "| variant | classifier FID | precision | recall | s |",
  "|---|---:|---:|---:|---:|",
];
for (const [label, make] of variants) {
  let batchIndex = 0;
  const t0 = performance.now();
  const scores = await evaluateSamples({
    n: o.n,
    dataset: spec.dataset,
    batchSize: o.batch,
    sample: (want) =>
      sampleLoop(denoiser, make(), [want, height, width, channels], {
        seed: o.seed + batchIndex++,
      }),
  });
  const seconds = (performance.now() - t0) / 1000;
  rows.push(
    `| ${label} | ${scores.classifier_fid.toFixed(2)} | ${scores.precision.toFixed(3)} | ${
      scores.recall.toFixed(3)
    } | ${seconds.toFixed(0)} |`,
  );
  console.log(rows.at(-1));
}
console.log(rows.join("\n"));
ddpm.dispose();
tf.disposeVariables();
