/**
 * Post-hoc weight averaging: a new run dir whose EMA weights are the uniform average of the EMA
 * weights stored in a run's checkpoints between two steps.
 *
 * The EMA the trainer keeps has one fixed length (decay 0.999 ≈ the last 1,000 steps); which
 * length samples best is only known afterwards, and it can differ per sampler. Averaging the
 * EMA snapshots of a run trained with `--keep-checkpoints 0` gives longer averages without
 * retraining — the idea of Karras et al. 2024 (EDM2, "post-hoc EMA"), in its simplest form: a
 * uniform mean of m snapshots `every` steps apart weighs iterate j by
 *
 *   w_j = (1/m) Σ_k (1 − β) β^(s_k − j)   over the snapshots s_k ≥ j      (β the EMA decay)
 *
 * i.e. an EMA smeared over (m − 1)·every more steps. m = 1 returns the run's own EMA.
 *
 * Everything else in the new checkpoint (live weights, optimizer and data-iterator state) is the
 * newest averaged checkpoint's, so `sample`/`eval` (EMA weights by default) use the average and
 * `--weights live` still gives that step's live weights.
 */
import { checkpointPath, listCheckpoints, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { createRunDir, openRunDir, readRunConfig } from "./run_dir.ts";
import { UserInputError } from "../util/errors.ts";
import { gitCommit, writeJsonAtomic } from "../util/files.ts";
import * as tf from "@tensorflow/tfjs";

export interface AverageOptions {
  /** First and last checkpoint step to average (inclusive). */
  from: number;
  to?: number;
  /** The new run dir (must not hold a run). */
  out: string;
}

export interface AverageResult {
  out: string;
  steps: number[];
}

/** Average the `ema/<i>` tensors of the checkpoints of `runDir` with from ≤ step ≤ to. */
export async function averageCheckpoints(
  runDir: string,
  options: AverageOptions,
): Promise<AverageResult> {
  const paths = await openRunDir(runDir);
  await readRunConfig(paths); // a damaged config.json fails here, in one line
  const all = await listCheckpoints(paths.checkpoints);
  const to = options.to ?? all.at(-1)?.step ?? 0;
  const picked = all.filter((c) => c.step >= options.from && c.step <= to);
  if (picked.length === 0) {
    throw new UserInputError(
      `${runDir} has no checkpoint between steps ${options.from} and ${to} (it has ${
        all.map((c) => c.step).join(", ") || "none"
      }): choose --from/--to among those, or train with --keep-checkpoints 0`,
    );
  }
  // Refuse an --out that holds a run before any snapshot is read (a failed average leaves at
  // most this empty dir, which a retry reuses).
  const target = await createRunDir(options.out);
  const sums = new Map<string, { shape: number[]; sum: Float64Array }>();
  let newest: Awaited<ReturnType<typeof loadCheckpoint<Record<string, unknown>>>> | null = null;
  try {
    for (const [k, checkpoint] of picked.entries()) {
      const contents = await loadCheckpoint<Record<string, unknown>>(checkpoint.path);
      try {
        addEmaTensors(sums, contents.tensors, checkpoint.path, k === 0);
      } catch (error) {
        tf.dispose([...contents.tensors.values()]);
        throw error;
      }
      if (newest) tf.dispose([...newest.tensors.values()]);
      newest = contents;
    }
  } catch (error) {
    if (newest) tf.dispose([...newest.tensors.values()]);
    throw error;
  }
  const tensors = new Map(newest!.tensors);
  for (const [name, { shape, sum }] of sums) {
    tensors.get(name)!.dispose();
    tensors.set(name, tf.tensor(Float32Array.from(sum, (s) => s / picked.length), shape));
  }
  try {
    await Deno.copyFile(paths.config, target.config);
    await Deno.copyFile(paths.metrics, target.metrics).catch(() => {});
    const last = picked.at(-1)!.step;
    await saveCheckpoint(checkpointPath(target.checkpoints, last), tensors, newest!.extra);
    await writeJsonAtomic(`${target.root}/averaged.json`, {
      source: paths.root,
      averaged: "uniform mean of the ema/<i> tensors; everything else from the last step",
      steps: picked.map((c) => c.step),
      commit: gitCommit(),
    });
  } finally {
    tf.dispose([...tensors.values()]);
  }
  return { out: target.root, steps: picked.map((c) => c.step) };
}

/** Add one checkpoint's `ema/<i>` tensors to the running sums (read, not disposed, here). */
function addEmaTensors(
  sums: Map<string, { shape: number[]; sum: Float64Array }>,
  tensors: Map<string, tf.Tensor>,
  path: string,
  first: boolean,
): void {
  const emaNames = [...tensors.keys()].filter((name) => name.startsWith("ema/"));
  if (emaNames.length === 0) {
    throw new UserInputError(
      `${path} holds no EMA weights: averaging needs a model trained with an EMA`,
    );
  }
  if (!first && (emaNames.length !== sums.size || emaNames.some((name) => !sums.has(name)))) {
    throw new UserInputError(`${path} has a different set of EMA weights`);
  }
  for (const name of emaNames) {
    const tensor = tensors.get(name)!;
    const values = tensor.dataSync();
    const entry = sums.get(name) ?? { shape: tensor.shape, sum: new Float64Array(values.length) };
    if (entry.sum.length !== values.length) {
      throw new UserInputError(`${path}: ${name} changes shape between checkpoints`);
    }
    for (let i = 0; i < values.length; i++) entry.sum[i] += values[i];
    sums.set(name, entry);
  }
}
