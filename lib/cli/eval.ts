/**
 * `deno task eval <run-dir> [--n 10000] [--seed 0]`: sample from a run's latest checkpoint and
 * score the samples against the dataset's test split with genlab's feature classifier
 * (classifier FID/KID/IS, precision/recall). Writes <run-dir>/metrics.json with provenance.
 *
 * Likelihood models (those with `nll`): `--iwae-k k` also reports −log p(x) in nats per image
 * and bits/dim on the test split (and on as many training images, for the generalization gap);
 * `--nll-n` / `--nll-train-n` cap the images scored, `--no-fid` skips the sample metrics.
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendName, setupBackend } from "../backend/mod.ts";
import { evaluateSamples } from "../metrics/evaluate.ts";
import { bitsPerDim } from "../metrics/likelihood.ts";
import { loadImageDataset, scalePixels } from "../data/mod.ts";
import type { GenerativeModel } from "../models/types.ts";
import { errorContext, UserInputError } from "../util/errors.ts";
import { loadRun, planLoad } from "../train/trainer.ts";
import { gitCommit, writeJsonAtomic } from "../util/files.ts";
import { Rng } from "../util/rng.ts";
import { samplingArgs, type SamplingFlags, samplingMethod } from "./sampling_flags.ts";

/** Fewer samples make the scores noise (and IS needs 10 splits); more than the maximum make
 * precision/recall (O(n²) distances) run for hours. */
export const EVAL_MIN_N = 20;
export const EVAL_MAX_N = 50_000;

function checkEvalCount(n: number): void {
  if (n < EVAL_MIN_N || n > EVAL_MAX_N) {
    throw new UserInputError(
      `--n ${n} is out of range: use --n in [${EVAL_MIN_N}, ${EVAL_MAX_N}] ` +
        `(10000 for numbers you report)`,
    );
  }
}

export async function runEval(
  runDir: string,
  flags: {
    n: number;
    seed: number;
    backend: BackendName;
    out?: string;
    iwaeK?: number;
    nllN?: number;
    nllTrainN?: number;
    fid?: boolean;
  } & SamplingFlags,
): Promise<void> {
  const plan = await planLoad(runDir);
  const paths = plan.paths;
  errorContext.runDir = paths.root;
  if (flags.fid !== false) checkEvalCount(flags.n);
  await loadImageDataset(plan.spec.dataset, "test"); // the reference images: checked up front
  const backend = await setupBackend({ backend: flags.backend, verbose: true });
  const started = performance.now();
  const { model, spec, step, weights } = await loadRun(plan, flags.weights ?? "ema");
  const method = samplingMethod(flags);
  let likelihood: Record<string, unknown> = {};
  if (flags.iwaeK !== undefined) {
    if (!model.nll) {
      throw new UserInputError(`${spec.model} has no likelihood: drop --iwae-k`);
    }
    likelihood = await evaluateNll(
      model,
      spec.dataset,
      flags.iwaeK,
      { test: flags.nllN, train: flags.nllTrainN ?? flags.nllN },
      flags.seed,
    );
  }
  if (flags.fid === false) {
    model.dispose();
    const out = flags.out ?? `${paths.root}/metrics.json`;
    await writeJsonAtomic(out, {
      ...likelihood,
      run: paths.root,
      checkpoint_step: step,
      backend,
      wall_seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      commit: gitCommit(),
      command: ["deno", "task", "eval", ...Deno.args.slice(1)].join(" "),
      created: new Date().toISOString(),
    });
    console.log(`→ ${out}`);
    return;
  }
  // Each batch gets its own seed from one stream: same --seed → same samples. Sampling and
  // scoring both run on the chosen backend (the metrics read with `await data()`, so webgpu too).
  const seeds = new Rng(flags.seed);
  // Sampling time and NFE per batch (NFE = the sampling loop's length, reported via onProgress).
  let samplingSeconds = 0, nfe = 1;
  const options = () => ({
    seed: seeds.seed(),
    ...(method ? { method } : {}),
    onProgress: (_done: number, total: number) => {
      nfe = total;
    },
  });
  const sample = async (n: number): Promise<tf.Tensor4D> => {
    const t0 = performance.now();
    const images = await model.sample(n, options());
    await images.data();
    samplingSeconds += (performance.now() - t0) / 1000;
    return images;
  };
  let lastReport = 0;
  const scores = await evaluateSamples({
    sample,
    n: flags.n,
    dataset: spec.dataset,
    onProgress: (done, total) => {
      if (performance.now() - lastReport > 10_000 || done === total) {
        lastReport = performance.now();
        console.error(`eval: ${done}/${total} samples`);
      }
    },
  });
  model.dispose();
  const wallSeconds = (performance.now() - started) / 1000;
  const record = {
    ...likelihood,
    ...scores,
    run: paths.root,
    checkpoint_step: step,
    weights,
    method: method ?? null,
    nfe,
    sampling_seconds: Number(samplingSeconds.toFixed(1)),
    sampling_seconds_per_image: Number((samplingSeconds / flags.n).toFixed(5)),
    sample_seed: flags.seed,
    backend,
    wall_seconds: Number(wallSeconds.toFixed(1)),
    commit: gitCommit(),
    command: [
      "deno",
      "task",
      "eval",
      runDir,
      "--n",
      String(flags.n),
      "--seed",
      String(flags.seed),
      ...samplingArgs(flags),
    ].join(" "),
    created: new Date().toISOString(),
  };
  const out = flags.out ?? `${paths.root}/metrics.json`;
  await writeJsonAtomic(out, record);
  const fmt = (x: number | null) => (x === null ? "n/a" : x.toFixed(4));
  console.log(`classifier FID   ${fmt(scores.classifier_fid)}`);
  console.log(
    `classifier KID   ${fmt(scores.classifier_kid_mean)} ± ${fmt(scores.classifier_kid_std)}`,
  );
  console.log(
    `classifier IS    ${fmt(scores.classifier_is_mean)} ± ${fmt(scores.classifier_is_std)}`,
  );
  console.log(`precision/recall ${fmt(scores.precision)} / ${fmt(scores.recall)}`);
  console.log(
    `(${scores.n} samples vs ${scores.n_reference} ${scores.reference}; ${
      wallSeconds.toFixed(1)
    } s)`,
  );
  console.log(
    `sampling: NFE ${nfe}, ${samplingSeconds.toFixed(1)} s (${
      (samplingSeconds / flags.n).toFixed(4)
    } s/image), ${weights} weights`,
  );
  console.log(`→ ${out}`);
}

/**
 * −log p(x) of a likelihood model on the test split and on as many training images (the gap
 * shows overfitting), in nats per image and bits/dim; prints and returns both.
 */
async function evaluateNll(
  model: GenerativeModel,
  datasetName: string,
  k: number,
  limit: { test?: number; train?: number },
  seed: number,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { iwae_k: k };
  const { height, width, channels } = model.dataSpec;
  const dims = height * width * channels;
  let testCount = 0;
  for (const split of ["test", "train"] as const) {
    const dataset = await loadImageDataset(datasetName, split);
    // Default: the whole test split, and as many training images.
    const n = split === "test"
      ? (testCount = Math.min(limit.test ?? dataset.count, dataset.count))
      : Math.min(limit.train ?? testCount, dataset.count);
    // A seeded subset (the splits are stored in class order).
    const rows = new Rng(seed + 17).permutation(dataset.count).subarray(0, n);
    const batchSize = 100;
    let total = 0;
    const started = performance.now();
    let lastReport = started;
    for (let i = 0; i < n; i += batchSize) {
      const idx = rows.subarray(i, Math.min(n, i + batchSize));
      const pixels = new Uint8Array(idx.length * dims);
      idx.forEach((row, j) =>
        pixels.set(dataset.images.subarray(row * dims, (row + 1) * dims), j * dims)
      );
      const x = scalePixels(pixels, [idx.length, height, width, channels], model.dataSpec.range);
      const labels = tf.tensor1d(Array.from(idx, (row) => dataset.labels[row]), "int32");
      try {
        const nll = await model.nll!({ x, labels }, { importanceSamples: k });
        for (const v of nll) total += v;
        if (performance.now() - lastReport > 30_000) {
          lastReport = performance.now();
          console.error(`eval: NLL ${split} ${i + idx.length}/${n} images`);
        }
      } finally {
        tf.dispose([x, labels]);
      }
    }
    const nats = total / n;
    out[`nll_${split}_nats`] = Number(nats.toFixed(3));
    out[`nll_${split}_bits_per_dim`] = Number(bitsPerDim(nats, dims).toFixed(5));
    out[`nll_${split}_images`] = n;
    console.log(
      `IWAE-${k} NLL (${split}, ${n} images): ${nats.toFixed(2)} nats = ${
        bitsPerDim(nats, dims).toFixed(4)
      } bits/dim (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
  return out;
}
