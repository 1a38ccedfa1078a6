/**
 * `deno task eval <run-dir> [--n 10000] [--seed 0]`: sample from a run's latest checkpoint and
 * score the samples against the dataset's test split with genlab's feature classifier
 * (classifier FID/KID/IS, precision/recall). Writes <run-dir>/metrics.json with provenance.
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendInfo, type BackendName, setupBackend } from "../backend/mod.ts";
import { evaluateSamples } from "../metrics/evaluate.ts";
import { loadRun } from "../train/trainer.ts";
import { openRunDir } from "../train/run_dir.ts";
import { gitCommit, writeJsonAtomic } from "../util/files.ts";
import { Rng } from "../util/rng.ts";
import { samplingArgs, type SamplingFlags, samplingMethod } from "./sampling_flags.ts";

export async function runEval(
  runDir: string,
  flags: { n: number; seed: number; backend: BackendName; out?: string } & SamplingFlags,
): Promise<void> {
  const paths = await openRunDir(runDir);
  const sampling = await setupBackend({ backend: flags.backend, verbose: true });
  const started = performance.now();
  const { model, spec, step, weights } = await loadRun(runDir, flags.weights ?? "ema");
  const method = samplingMethod(flags);
  // Each batch gets its own seed from one stream: same --seed → same samples.
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
  let sample = async (n: number): Promise<tf.Tensor4D> => {
    const t0 = performance.now();
    const images = await model.sample(n, options());
    await images.data();
    samplingSeconds += (performance.now() - t0) / 1000;
    return images;
  };
  let scoring: BackendInfo = sampling;
  if (sampling.name === "webgpu") {
    // The metrics read features synchronously, which webgpu cannot do under Deno: the model
    // samples on the GPU, each batch is downloaded, and the feature classifier runs on the best
    // CPU backend.
    scoring = await setupBackend({ backend: "native" }).catch(() =>
      setupBackend({ backend: "wasm" })
    );
    console.error(`eval: sampling on webgpu, metrics on ${scoring.name}`);
    sample = async (n) => {
      await tf.setBackend("webgpu");
      const t0 = performance.now();
      const images = await model.sample(n, options());
      const values = await images.data();
      samplingSeconds += (performance.now() - t0) / 1000;
      images.dispose();
      await tf.setBackend(scoring.name === "native" ? "wasm" : scoring.name);
      return tf.tensor4d(values, images.shape);
    };
  }
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
    ...scores,
    run: paths.root,
    checkpoint_step: step,
    weights,
    method: method ?? null,
    nfe,
    sampling_seconds: Number(samplingSeconds.toFixed(1)),
    sampling_seconds_per_image: Number((samplingSeconds / flags.n).toFixed(5)),
    sample_seed: flags.seed,
    backend: sampling,
    ...(scoring !== sampling ? { metrics_backend: scoring } : {}),
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
