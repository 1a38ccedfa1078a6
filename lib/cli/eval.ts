/**
 * `deno task eval <run-dir> [--n 10000] [--seed 0]`: sample from a run's latest checkpoint and
 * score the samples against the dataset's test split with genlab's feature classifier
 * (classifier FID/KID/IS, precision/recall). Writes <run-dir>/metrics.json with provenance.
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendInfo, type BackendName, setupBackend } from "../backend/mod.ts";
import { evaluateSamples } from "../metrics/evaluate.ts";
import { loadRun, planLoad } from "../train/trainer.ts";
import { loadImageDataset } from "../data/mod.ts";
import { errorContext, UserInputError } from "../util/errors.ts";
import { gitCommit, writeJsonAtomic } from "../util/files.ts";
import { Rng } from "../util/rng.ts";

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
  flags: { n: number; seed: number; backend: BackendName },
): Promise<void> {
  const plan = await planLoad(runDir);
  const paths = plan.paths;
  errorContext.runDir = paths.root;
  checkEvalCount(flags.n);
  await loadImageDataset(plan.spec.dataset, "test"); // the reference images: checked up front
  const sampling = await setupBackend({ backend: flags.backend, verbose: true });
  const started = performance.now();
  const { model, spec, step } = await loadRun(plan);
  // Each batch gets its own seed from one stream: same --seed → same samples.
  const seeds = new Rng(flags.seed);
  let sample = (n: number): Promise<tf.Tensor4D> | tf.Tensor4D =>
    model.sample(n, { seed: seeds.seed() });
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
      const images = await model.sample(n, { seed: seeds.seed() });
      const values = await images.data();
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
    sample_seed: flags.seed,
    backend: sampling,
    ...(scoring !== sampling ? { metrics_backend: scoring } : {}),
    wall_seconds: Number(wallSeconds.toFixed(1)),
    commit: gitCommit(),
    command: ["deno", "task", "eval", runDir, "--n", String(flags.n), "--seed", String(flags.seed)]
      .join(" "),
    created: new Date().toISOString(),
  };
  await writeJsonAtomic(`${paths.root}/metrics.json`, record);
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
  console.log(`→ ${paths.root}/metrics.json`);
}
