/**
 * Does a class-conditional GAN draw what it is asked for? Samples `--n` images from a cgan/acgan
 * run's latest checkpoint with labels 0, 1, …, 9, 0, 1, … and reports how often genlab's feature
 * classifier agrees with the requested label (overall and per class), plus a grid with one row
 * per class.
 *
 *   deno run -A experiments/cgan_agreement.ts runs/cgan-mnist --n 10000 --seed 0
 *
 * Writes <run>/agreement.json and <run>/samples/class-rows.png.
 */
import * as tf from "@tensorflow/tfjs";
import { Command } from "commander";
import { backendInfo, setupBackend } from "../lib/backend/mod.ts";
import { classAgreement } from "../lib/metrics/class_agreement.ts";
import { loadFeatureExtractor } from "../lib/metrics/feature_extractor.ts";
import { loadRun } from "../lib/train/trainer.ts";
import { gitCommit, writeFileAtomic, writeJsonAtomic } from "../lib/util/files.ts";
import { imageGridPng } from "../lib/viz/png.ts";

const program = new Command()
  .argument("<run>", "run directory of a cgan or acgan model")
  .option("--n <n>", "samples", "10000")
  .option("--seed <n>", "sampling seed", "0")
  .option("--backend <name>", "backend", "native")
  .parse(Deno.args, { from: "user" });
const [runDir] = program.args;
const flags = program.opts();
await setupBackend({ backend: flags.backend });
const started = performance.now();
const { model, spec, step } = await loadRun(runDir);
const classes = 10;
// The library's agreement loop (lib/metrics/class_agreement.ts), the one the CVAE uses too.
const extractor = await loadFeatureExtractor({ dataset: spec.dataset });
const result = await classAgreement(
  (labels, seed) => model.sample(labels.length, { labels, seed }),
  extractor,
  { numClasses: classes, perClass: Math.ceil(Number(flags.n) / classes), seed: Number(flags.seed) },
);
extractor.dispose();
const n = result.n;
const rowsGrid = await model.sample(100, {
  labels: Array.from({ length: 100 }, (_, i) => Math.floor(i / 10)),
  seed: Number(flags.seed),
});
await writeFileAtomic(
  `${runDir}/samples/class-rows.png`,
  await imageGridPng(rowsGrid, { columns: 10 }),
);
tf.dispose(rowsGrid);
model.dispose();
const agreement = result.agreement;
const record = {
  run: runDir,
  checkpoint_step: step,
  n,
  sample_seed: Number(flags.seed),
  agreement,
  agreement_per_class: result.perClass.map((a) => Number(a.toFixed(4))),
  classifier: `genlab feature classifier (${spec.dataset})`,
  backend: backendInfo(),
  wall_seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  commit: gitCommit(),
  command: ["deno", "run", "-A", "experiments/cgan_agreement.ts", ...Deno.args].join(" "),
  created: new Date().toISOString(),
};
await writeJsonAtomic(`${runDir}/agreement.json`, record);
console.log(
  `label agreement ${(100 * agreement).toFixed(2)} % on ${n} samples; per class: ${
    record.agreement_per_class.map((a) => (100 * a).toFixed(1)).join(" ")
  }`,
);
console.log(`grid: ${runDir}/samples/class-rows.png`);
