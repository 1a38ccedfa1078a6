/**
 * Likelihood report for a trained run of a likelihood model (pixelcnn, gated-pixelcnn, pixelrnn,
 * realnvp, nice): NLL on the whole test split and on an equally large slice of the training split
 * (the train/test gap), in nats per image and bits/dim, plus sampling speed.
 *
 *   deno task exp:density_eval runs/pixelcnn-mnist-… [--samples 16] [--seed 0]
 *
 * Writes <run>/likelihood.json and prints it.
 */
import { Command } from "commander";
import { backendInfo, setupBackend } from "../lib/backend/mod.ts";
import { loadImageDataset } from "../lib/data/mod.ts";
import { datasetNll } from "../lib/metrics/dataset_nll.ts";
import { loadRun } from "../lib/train/trainer.ts";
import { gitCommit, writeJsonAtomic } from "../lib/util/files.ts";
import { imageGridPng } from "../lib/viz/png.ts";

const program = new Command("density_eval")
  .argument("<run-dir>")
  .option("--samples <n>", "images to sample for the speed figure", "16")
  .option("--seed <n>", "sampling seed", "0")
  .option("--backend <name>", "tfjs backend", "auto")
  .parse(Deno.args, { from: "user" });
const runDir = program.args[0];
const opts = program.opts();

await setupBackend({ backend: opts.backend });
const { model, spec, step } = await loadRun(runDir);
const test = await loadImageDataset(spec.dataset, "test");
const train = await loadImageDataset(spec.dataset, "train");
const started = performance.now();
const testNll = await datasetNll(model, test);
const trainNll = await datasetNll(model, train, { maxImages: test.count });
const evalSeconds = (performance.now() - started) / 1000;

const n = Number(opts.samples);
const t0 = performance.now();
const images = await model.sample(n, { seed: Number(opts.seed) });
await images.data();
const sampleSeconds = (performance.now() - t0) / 1000;
await Deno.writeFile(`${runDir}/samples/eval-samples.png`, await imageGridPng(images));
images.dispose();

const report = {
  run: runDir,
  model: spec.model,
  dataset: spec.dataset,
  step,
  test: testNll,
  trainSlice: trainNll,
  gapNats: testNll.nats - trainNll.nats,
  sampling: { images: n, seconds: sampleSeconds, imagesPerSecond: n / sampleSeconds },
  evalSeconds,
  backend: backendInfo(),
  commit: gitCommit(),
};
await writeJsonAtomic(`${runDir}/likelihood.json`, report);
console.log(JSON.stringify(report, null, 2));
