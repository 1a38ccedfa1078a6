/**
 * Likelihood report for a trained run of a likelihood model (pixelcnn, gated-pixelcnn, pixelrnn,
 * realnvp, nice): NLL on the test split (all of it, or a seeded random subset) and on an equally
 * large seeded random slice of the training split (the train/test gap), in nats per image and
 * bits/dim, plus sampling speed.
 *
 * The slices are drawn at random (Rng(--slice-seed), without replacement) because the stored
 * splits are ordered by class: the first 1,000 MNIST training images are 901 zeros and 99 ones,
 * so a "first N" slice measures the class mix, not over- or under-fitting.
 *
 *   deno task exp:density_eval runs/pixelcnn-mnist-… [--samples 16] [--seed 0]
 *       [--test-images <n>] [--slice-seed 0]
 *
 * Writes <run>/likelihood.json and prints it.
 */
import { Command } from "commander";
import { backendInfo, setupBackend } from "../lib/backend/mod.ts";
import { type ImageDataset, loadImageDataset, subset } from "../lib/data/mod.ts";
import { datasetNll } from "../lib/metrics/dataset_nll.ts";
import { loadRun } from "../lib/train/trainer.ts";
import { gitCommit, writeJsonAtomic } from "../lib/util/files.ts";
import { Rng } from "../lib/util/rng.ts";
import { imageGridPng } from "../lib/viz/png.ts";

const program = new Command("density_eval")
  .argument("<run-dir>")
  .option("--samples <n>", "images to sample for the speed figure", "16")
  .option("--seed <n>", "sampling seed", "0")
  .option("--test-images <n>", "test images to score (default: the whole test split)")
  .option("--slice-seed <n>", "seed of the random test subset and train slice", "0")
  .option("--backend <name>", "tfjs backend", "auto")
  .parse(Deno.args, { from: "user" });
const runDir = program.args[0];
const opts = program.opts();

await setupBackend({ backend: opts.backend });
const { model, spec, step } = await loadRun(runDir);
const sliceRng = new Rng(Number(opts.sliceSeed));
/** `count` distinct rows of `dataset` drawn at random (sorted, so the data are read in order). */
function randomSlice(dataset: ImageDataset, count: number): ImageDataset {
  if (count >= dataset.count) return dataset;
  const rows = sliceRng.permutation(dataset.count).slice(0, count).sort();
  return subset(dataset, rows, `${dataset.split} (random ${count} of ${dataset.count})`);
}
const fullTest = await loadImageDataset(spec.dataset, "test");
const test = randomSlice(fullTest, Number(opts.testImages ?? fullTest.count));
const train = randomSlice(await loadImageDataset(spec.dataset, "train"), test.count);
const started = performance.now();
const testNll = await datasetNll(model, test);
const testSeconds = (performance.now() - started) / 1000;
const trainNll = await datasetNll(model, train);
const evalSeconds = (performance.now() - started) / 1000;

const n = Number(opts.samples);
const t0 = performance.now();
const images = await model.sample(n, { seed: Number(opts.seed) });
await images.data();
const sampleSeconds = (performance.now() - t0) / 1000;
await Deno.writeFile(
  `${runDir}/samples/eval-samples-seed${opts.seed}.png`,
  await imageGridPng(images),
);
images.dispose();

const report = {
  run: runDir,
  model: spec.model,
  dataset: spec.dataset,
  step,
  test: { ...testNll, split: test.split },
  trainSlice: { ...trainNll, split: train.split },
  sliceSeed: Number(opts.sliceSeed),
  gapNats: testNll.nats - trainNll.nats,
  sampling: { images: n, seconds: sampleSeconds, imagesPerSecond: n / sampleSeconds },
  testSeconds,
  evalSeconds,
  backend: backendInfo(),
  commit: gitCommit(),
};
await writeJsonAtomic(`${runDir}/likelihood.json`, report);
console.log(JSON.stringify(report, null, 2));
