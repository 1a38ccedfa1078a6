/**
 * `deno task eval <run-dir> [--n 10000] [--seed 0]`: sample from a run's latest checkpoint and
 * score the samples against the dataset's test split with genlab's feature classifier
 * (classifier FID/KID/IS, precision/recall). Writes <run-dir>/metrics.json with provenance.
 */
import { type BackendName, setupBackend } from "../backend/mod.ts";
import { evaluateSamples } from "../metrics/evaluate.ts";
import { loadRun } from "../train/trainer.ts";
import { openRunDir } from "../train/run_dir.ts";
import { gitCommit, writeJsonAtomic } from "../util/files.ts";
import { Rng } from "../util/rng.ts";

export async function runEval(
  runDir: string,
  flags: { n: number; seed: number; backend: BackendName },
): Promise<void> {
  const paths = await openRunDir(runDir);
  const backend = await setupBackend({ backend: flags.backend, verbose: true });
  const started = performance.now();
  const { model, spec, step } = await loadRun(runDir);
  // Each batch gets its own seed from one stream: same --seed → same samples. Sampling and
  // scoring both run on the chosen backend (the metrics read with `await data()`, so webgpu too).
  const seeds = new Rng(flags.seed);
  let lastReport = 0;
  const scores = await evaluateSamples({
    sample: (n) => model.sample(n, { seed: seeds.seed() }),
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
    backend,
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
