/**
 * VQ-VAE test-split report: reconstruction MSE (on [-1,1] and on [0,1]), codebook perplexity and
 * codes in use on the whole test split of the run's dataset; with a PixelCNN prior (prior =
 * pixelcnn) also its test NLL of the code grids, −log p(codes) in nats per grid, beside that of
 * the independent baseline (each position from the codebook usage). `--fid-n n` also scores n
 * samples of the independent baseline by classifier FID (the prior's samples: `deno task eval`).
 *
 *   deno run -A experiments/vqvae_report.ts runs/vqvae-fashion-mnist [--fid-n 5000] [--seed 0]
 *
 * Writes <run-dir>/vqvae_report.json with provenance.
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import {
  codePerplexity,
  evaluateSamples,
  gitCommit,
  loadImageDataset,
  loadRun,
  Rng,
  scalePixels,
  setupBackend,
  type Vqvae,
  writeJsonAtomic,
} from "../mod.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { "fid-n": { type: "string", default: "0" }, seed: { type: "string", default: "0" } },
});
const runDir = positionals[0];
if (!runDir) throw new Error("usage: vqvae_report.ts <run-dir> [--fid-n n] [--seed s]");
const fidN = Number(values["fid-n"]);
const backend = await setupBackend({ backend: "auto" });
const started = performance.now();
const { model, spec, step } = await loadRun(runDir);
const vq = model as Vqvae;
const test = await loadImageDataset(spec.dataset, "test");
const counts = new Array(vq.config.numCodes).fill(0);
const usage = Array.from(await vq.usage.data());
const usageTotal = usage.reduce((s, p) => s + p, 0);
const independentNats = usage.map((p) => -Math.log(p / usageTotal + 1e-12));
let squared = 0, priorNats = 0, independentTotal = 0;
const batch = 500;
for (let i = 0; i < test.count; i += batch) {
  const n = Math.min(batch, test.count - i);
  const x = scalePixels(test.images.subarray(i * 784, (i + n) * 784), [n, 28, 28, 1], "[-1,1]");
  const codes = vq.encodeToCodes(x);
  for (const k of await codes.data()) {
    counts[k]++;
    independentTotal += independentNats[k];
  }
  if (vq.prior) {
    const nll = tf.tidy(() => vq.prior!.nll(codes.reshape([n, ...codes.shape.slice(1), 1])).sum());
    priorNats += (await nll.data())[0];
    nll.dispose();
  }
  const sse = tf.tidy(() => vq.decodeCodes(codes).sub(x).square().sum());
  squared += (await sse.data())[0];
  tf.dispose([x, codes, sse]);
}
const mse = squared / (test.count * 784);
// The baseline's samples, scored as `deno task eval` scores the model's (one seed per batch).
let independentFid: Record<string, number> = {};
if (fidN > 0) {
  const seeds = new Rng(Number(values.seed));
  const scores = await evaluateSamples({
    sample: async (n) => {
      const codes = await vq.independentPrior().sample(n, vq.grid, seeds.seed());
      const images = vq.decodeCodes(codes);
      codes.dispose();
      return images;
    },
    n: fidN,
    dataset: spec.dataset,
  });
  independentFid = {
    independent_samples_n: scores.n,
    independent_classifier_fid: Number(scores.classifier_fid.toFixed(3)),
    independent_precision: Number(scores.precision.toFixed(4)),
    independent_recall: Number(scores.recall.toFixed(4)),
  };
}
const record = {
  run: runDir,
  checkpoint_step: step,
  dataset: `${spec.dataset} test (${test.count} images)`,
  recon_mse_minus1_1: Number(mse.toFixed(5)),
  recon_mse_0_1: Number((mse / 4).toFixed(5)),
  perplexity: Number(codePerplexity(counts).toFixed(2)),
  codes_used: counts.filter((c) => c > 0).length,
  num_codes: vq.config.numCodes,
  code_grid: `${vq.grid.height}×${vq.grid.width}`,
  prior: vq.config.prior,
  prior_steps: vq.priorSteps,
  ...(vq.prior
    ? { prior_test_nll_nats_per_grid: Number((priorNats / test.count).toFixed(2)) }
    : {}),
  independent_test_nll_nats_per_grid: Number((independentTotal / test.count).toFixed(2)),
  ...independentFid,
  backend,
  wall_seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  commit: gitCommit(),
  command: ["deno run -A experiments/vqvae_report.ts", ...Deno.args].join(" "),
};
await writeJsonAtomic(`${runDir}/vqvae_report.json`, record);
console.log(JSON.stringify(record, null, 1));
model.dispose();
