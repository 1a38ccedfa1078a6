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
import { classHistogram } from "../lib/models/gan/diagnostics.ts";
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
const n = Number(flags.n);
const classes = 10;
const perClass = new Array(classes).fill(0);
const agreePerClass = new Array(classes).fill(0);
for (let done = 0, batch = 0; done < n; batch++) {
  const size = Math.min(500, n - done);
  const labels = Array.from({ length: size }, (_, i) => (done + i) % classes);
  const images = await model.sample(size, { labels, seed: Number(flags.seed) * 100_003 + batch });
  const { predictions } = await classHistogram(images, spec.dataset);
  images.dispose();
  labels.forEach((label, i) => {
    perClass[label]++;
    if (predictions[i] === label) agreePerClass[label]++;
  });
  done += size;
}
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
const agreement = agreePerClass.reduce((a, b) => a + b, 0) / n;
const record = {
  run: runDir,
  checkpoint_step: step,
  n,
  sample_seed: Number(flags.seed),
  agreement,
  agreement_per_class: agreePerClass.map((a, k) => Number((a / perClass[k]).toFixed(4))),
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
