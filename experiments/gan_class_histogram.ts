/**
 * Which classes does a trained image generator draw, and how evenly? Samples `--n` images from a
 * run's latest checkpoint (EMA weights if the run has them) and counts the feature classifier's
 * predicted class of each (lib/models/gan/diagnostics.ts `classHistogram`): mode collapse shows as
 * a skewed histogram; KL(histogram ‖ uniform) is 0 for even classes, log 10 ≈ 2.30 for one class.
 * The test split's own histogram is printed beside it (MNIST and Fashion-MNIST are near-uniform).
 *
 *   deno run -A experiments/gan_class_histogram.ts runs/demo --n 5000 --seed 0
 *
 * Writes <run>/class-histogram.json.
 */
import * as tf from "@tensorflow/tfjs";
import { Command } from "commander";
import { backendInfo, setupBackend } from "../lib/backend/mod.ts";
import { classHistogram, klToUniform } from "../lib/models/gan/diagnostics.ts";
import { loadRun } from "../lib/train/trainer.ts";
import { gitCommit, writeJsonAtomic } from "../lib/util/files.ts";

const program = new Command()
  .argument("<run>", "run directory of an image generator")
  .option("--n <n>", "samples", "5000")
  .option("--seed <n>", "sampling seed", "0")
  .option("--backend <name>", "backend", "native")
  .parse(Deno.args, { from: "user" });
const [runDir] = program.args;
const flags = program.opts();
await setupBackend({ backend: flags.backend });
const started = performance.now();
const { model, spec, step } = await loadRun(runDir);
const n = Number(flags.n);
let histogram: number[] = [];
for (let done = 0, batch = 0; done < n; batch++) {
  const size = Math.min(500, n - done);
  const images = await model.sample(size, { seed: Number(flags.seed) * 100_003 + batch });
  const part = await classHistogram(images, spec.dataset);
  tf.dispose(images);
  histogram = histogram.length === 0
    ? part.histogram
    : histogram.map((c, k) => c + part.histogram[k]);
  done += size;
}
model.dispose();
const fractions = histogram.map((c) => Number((c / n).toFixed(4)));
const record = {
  run: runDir,
  model: spec.model,
  dataset: spec.dataset,
  checkpoint_step: step,
  n,
  sample_seed: Number(flags.seed),
  histogram,
  fractions,
  kl_to_uniform: Number(klToUniform(histogram).toFixed(4)),
  classes_covered: histogram.filter((c) => c >= 0.01 * n).length,
  classifier: `genlab feature classifier (${spec.dataset})`,
  backend: backendInfo(),
  wall_seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  commit: gitCommit(),
  command: ["deno", "run", "-A", "experiments/gan_class_histogram.ts", ...Deno.args].join(" "),
  created: new Date().toISOString(),
};
await writeJsonAtomic(`${runDir}/class-histogram.json`, record);
console.log(
  `predicted classes of ${n} samples (%): ${
    fractions.map((f) => (100 * f).toFixed(1)).join(" ")
  }; KL to uniform ${record.kl_to_uniform} nats; ${record.classes_covered}/${histogram.length} classes ≥ 1 %`,
);
