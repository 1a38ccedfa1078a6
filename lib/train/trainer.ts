/**
 * The one trainer. Every model trains through `train()`: new runs and resumed runs take the same
 * loop; resume only restores state first (weights, optimizer, RNGs, data order, step).
 *
 *   flags → resolved TrainSpec → run dir + config.json → seeded BatchIterator →
 *   loop { model.trainStep(batch) → metrics.jsonl + progress → periodic grid/chart/checkpoint } →
 *   final grid, chart, summary.json
 */
import * as tf from "@tensorflow/tfjs";
import { backendInfo, heartbeat } from "../backend/mod.ts";
import {
  BatchIterator,
  type DataIterator,
  type IteratorState,
  PointIterator,
} from "../data/iterator.ts";
import { IMAGE_DATASETS, IMAGE_SHAPES, isImageDatasetName, loadImageDataset } from "../data/mod.ts";
import { isToyDatasetName, sampleToy2d, TOY_DATASETS, TOY_SHAPE, toyName } from "../data/toy2d.ts";
import { Rng } from "../util/rng.ts";
import { filmStripSpec, type PointFrame, scatterSpec } from "../viz/points.ts";
import { UserInputError } from "../util/errors.ts";
import { getModelEntry } from "../models/registry.ts";
import type { GenerativeModel } from "../models/types.ts";
import { collectWeights, restoreWeights } from "../nn/state.ts";
import type { RngState } from "../util/rng.ts";
import { imageGridPng } from "../viz/png.ts";
import { ganChartSpec, lossChartSpec, renderChart } from "../viz/chart.ts";
import { checkpointPath, listCheckpoints, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { gitCommit, readJson, writeFileAtomic, writeJsonAtomic } from "../util/files.ts";
import { Progress } from "./progress.ts";
import {
  createRunDir,
  defaultRunDir,
  MetricsWriter,
  openRunDir,
  readMetrics,
  type RunPaths,
  truncateMetrics,
} from "./run_dir.ts";

/** Everything that defines a training run; stored in config.json and re-read on resume. */
export interface TrainSpec {
  model: string;
  dataset: string;
  steps: number;
  batch: number;
  seed: number;
  /** Model hyperparameters: the model's defaults ⊕ --quick ⊕ flags. */
  modelConfig: Record<string, unknown>;
  sampleEvery: number;
  checkpointEvery: number;
  /** Check tf.memory().numTensors every this many steps; a growing count is a leak. */
  leakCheckEvery: number;
  /** Images in each sample grid. */
  sampleCount: number;
}

export interface TrainOptions {
  /** Run directory; default runs/<model>-<dataset>-<timestamp>. */
  out?: string;
  /** Show a progress bar / progress lines. */
  progress?: boolean;
  /** Stop after this many steps of THIS process (tests use it to simulate a crash). */
  stopAfter?: number;
  /** Called after every step (notebooks use it for live output). */
  onStep?: (step: number, losses: Record<string, number>) => void;
  /** Stop (with a checkpoint and the final artifacts) once training has used this many seconds
   * of wall time in this process, even before `spec.steps` (the demo's time budget). */
  maxSeconds?: number;
}

export interface TrainResult {
  runDir: string;
  step: number;
  losses: Array<Record<string, number>>;
  samplesPng: string;
  chartPng: string;
  wallSeconds: number;
  model: GenerativeModel;
}

interface CheckpointExtra {
  step: number;
  modelRng: { words: RngState; spareNormal: number | null };
  iterator: IteratorState;
  elapsedSeconds: number;
  optimizerWeightCounts: Record<string, number>;
}

export class TrainingError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "TrainingError";
  }
}

/** Resolve a spec from the model's defaults, --quick overrides and explicit flags. */
export function resolveSpec(
  model: string,
  flags: Partial<Omit<TrainSpec, "model" | "modelConfig">> & {
    quick?: boolean;
    modelConfig?: Record<string, unknown>;
  },
): TrainSpec {
  const entry = getModelEntry(model);
  const { steps: quickSteps, batch: quickBatch, ...quickConfig } = flags.quick ? entry.quick : {};
  const overrides: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flags.modelConfig ?? {})) {
    overrides[key] = entry.config.coerce(key, value);
  }
  // Defaults ⊕ --quick ⊕ flags, validated as a whole by the model's schema (one-line errors).
  const modelConfig = entry.config.parse(
    { ...(flags.quick ? quickConfig : {}), ...overrides },
    "--set",
  );
  const dataset = flags.dataset ?? entry.defaultDataset;
  if (!isImageDatasetName(dataset) && !isToyDatasetName(dataset)) {
    throw new UserInputError(
      `unknown dataset '${dataset}': use one of ${[...IMAGE_DATASETS, ...TOY_DATASETS].join(", ")}`,
    );
  }
  const shape = isImageDatasetName(dataset) ? IMAGE_SHAPES[dataset] : TOY_SHAPE;
  entry.config.checkData(modelConfig, shape);
  const steps = flags.steps ?? quickSteps ?? 1000;
  return {
    model,
    dataset,
    steps,
    batch: flags.batch ?? quickBatch ?? 64,
    seed: flags.seed ?? 0,
    modelConfig,
    sampleEvery: flags.sampleEvery ?? Math.max(1, Math.min(500, Math.ceil(steps / 4))),
    checkpointEvery: flags.checkpointEvery ?? Math.max(1, Math.min(200, Math.ceil(steps / 10))),
    leakCheckEvery: flags.leakCheckEvery ?? 20,
    sampleCount: flags.sampleCount ?? 64,
  };
}

async function buildModel(spec: TrainSpec) {
  const entry = getModelEntry(spec.model);
  if (isToyDatasetName(spec.dataset)) {
    // 2-D points served as [N, 1, 1, 2] (lib/data/toy2d.ts); fresh points every batch.
    const dataSpec = { range: "[-1,1]" as const, ...TOY_SHAPE, numClasses: 0 };
    const model = entry.create(spec.modelConfig, dataSpec, spec.seed);
    const iterator = new PointIterator(toyName(spec.dataset), spec.batch, spec.seed + 1);
    const dataset = {
      name: spec.dataset,
      count: Infinity,
      provenance: `generated in code (lib/data/toy2d.ts), seed ${spec.seed + 1}`,
    };
    return { model, iterator: iterator as DataIterator, dataset };
  }
  const dataset = await loadImageDataset(spec.dataset, "train");
  const dataSpec = {
    range: "[-1,1]" as const,
    height: dataset.height,
    width: dataset.width,
    channels: dataset.channels,
    numClasses: dataset.numClasses,
  };
  const model = entry.create(spec.modelConfig, dataSpec, spec.seed);
  const iterator = new BatchIterator(dataset, spec.batch, model.dataSpec.range, spec.seed + 1);
  return { model, iterator: iterator as DataIterator, dataset };
}

/** Train a new run (`spec`) or continue one (`resume` = its run dir). */
export async function train(
  specOrResume: TrainSpec | { resume: string; steps?: number },
  options: TrainOptions = {},
): Promise<TrainResult> {
  let spec: TrainSpec;
  let paths: RunPaths;
  const resuming = "resume" in specOrResume;
  if (resuming) {
    paths = await openRunDir(specOrResume.resume);
    const saved = await readJson<{ spec: TrainSpec }>(paths.config);
    spec = { ...saved.spec, steps: specOrResume.steps ?? saved.spec.steps };
  } else {
    spec = specOrResume;
    paths = await createRunDir(options.out ?? defaultRunDir(spec.model, spec.dataset));
  }

  const { model, iterator, dataset } = await buildModel(spec);
  let step = 0;
  let elapsedBefore = 0;
  let history: Array<Record<string, number>> = [];

  if (resuming) {
    const checkpoints = await listCheckpoints(paths.checkpoints);
    const latest = checkpoints.at(-1);
    if (latest) {
      const extra = await restoreCheckpoint(model, iterator, latest.path);
      step = extra.step;
      elapsedBefore = extra.elapsedSeconds;
    }
    history = await truncateMetrics(paths.metrics, step);
    const config = await readJson<Record<string, unknown>>(paths.config);
    const resumes = (config.resumes as unknown[] | undefined) ?? [];
    resumes.push({
      fromStep: step,
      at: new Date().toISOString(),
      commit: gitCommit(),
      backend: backendInfo(),
    });
    await writeJsonAtomic(paths.config, { ...config, spec, resumes });
  } else {
    await writeJsonAtomic(paths.config, {
      spec,
      model: { name: model.name, config: model.config, dataSpec: model.dataSpec },
      dataset: {
        name: dataset.name,
        count: Number.isFinite(dataset.count) ? dataset.count : "unlimited",
        provenance: dataset.provenance,
      },
      backend: backendInfo(),
      versions: {
        deno: Deno.version.deno,
        tfjs: tf.version.tfjs,
        typescript: Deno.version.typescript,
      },
      commit: gitCommit(),
      command: commandLine(),
      created: new Date().toISOString(),
    });
  }

  const metrics = await MetricsWriter.open(paths.metrics);
  const progress = new Progress(
    spec.steps,
    `${spec.model}/${spec.dataset}`,
    options.progress ?? true,
  );
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  try {
    Deno.addSignalListener("SIGINT", onSigint);
  } catch {
    // signals unsupported (e.g. in some notebook kernels): Ctrl-C then just kills the process
  }

  const gridSeed = spec.seed + 7919;
  const frames: PointFrame[] = [];
  const startTime = performance.now();
  const seconds = () => elapsedBefore + (performance.now() - startTime) / 1000;
  let tensorBaseline = -1;
  let stepsThisProcess = 0;
  let lastCheckpointStep = step;
  progress.start(step);
  try {
    while (step < spec.steps) {
      heartbeat();
      const batch = iterator.next();
      let losses: Record<string, number>;
      try {
        losses = await model.trainStep(batch, step + 1);
      } finally {
        batch.x.dispose();
        batch.labels?.dispose();
      }
      step++;
      stepsThisProcess++;
      const bad = Object.entries(losses).find(([, v]) => !Number.isFinite(v));
      if (bad) {
        throw new TrainingError(
          `${bad[0]} became ${
            bad[1]
          } at step ${step}; stopped without saving it. Last good checkpoint: ` +
            `step ${lastCheckpointStep} in ${paths.checkpoints}. Try a lower --lr or another --seed.`,
          3,
        );
      }
      const row = { step, ...losses, time: Number(seconds().toFixed(3)) };
      metrics.append(row);
      history.push(row);
      progress.update(step, losses);
      options.onStep?.(step, losses);

      if (stepsThisProcess === 1) tensorBaseline = tf.memory().numTensors;
      else if (stepsThisProcess % spec.leakCheckEvery === 0) {
        const now = tf.memory().numTensors;
        if (now > tensorBaseline) {
          throw new TrainingError(
            `tensor leak: ${now - tensorBaseline} tensors more than after the first step ` +
              `(${tensorBaseline} → ${now} at step ${step}); a trainStep is missing tf.tidy/dispose`,
          );
        }
      }
      if (step % spec.sampleEvery === 0 || step === spec.steps) {
        await writePreview(model, paths, step, spec, gridSeed, frames);
        await writeLossChart(history, paths, spec);
      }
      const outOfTime = options.maxSeconds !== undefined &&
        (performance.now() - startTime) / 1000 >= options.maxSeconds;
      const stopping = interrupted || stepsThisProcess === options.stopAfter || outOfTime;
      if (step % spec.checkpointEvery === 0 || step === spec.steps || stopping) {
        await writeCheckpoint(model, iterator, paths, step, seconds());
        lastCheckpointStep = step;
      }
      if (interrupted) {
        progress.stop();
        throw new TrainingError(
          `interrupted at step ${step}: checkpoint saved; continue with --resume ${paths.root}`,
          130,
        );
      }
      if (stopping) break;
      // Let signal handlers run between steps.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  } finally {
    progress.stop();
    metrics.close();
    try {
      Deno.removeSignalListener("SIGINT", onSigint);
    } catch {
      // not added
    }
  }

  const samplesPng = `${paths.samples}/final.png`;
  await writePreview(model, paths, step, spec, gridSeed, frames, samplesPng);
  const chartPng = await writeLossChart(history, paths, spec);
  const wallSeconds = seconds();
  const tail = history.slice(-Math.min(50, history.length));
  const finalLosses: Record<string, number> = {};
  for (const key of new Set(tail.flatMap((r) => Object.keys(r)))) {
    if (key === "step" || key === "time") continue;
    // Some keys are not reported every step (a GAN's g_loss before its first G step).
    const values = tail.map((r) => r[key]).filter((v) => v !== undefined);
    finalLosses[key] = values.reduce((s, v) => s + v, 0) / values.length;
  }
  await writeJsonAtomic(paths.summary, {
    steps: step,
    finished: step >= spec.steps,
    wallSeconds: Number(wallSeconds.toFixed(2)),
    ...(options.maxSeconds !== undefined ? { maxSeconds: options.maxSeconds } : {}),
    meanLossesLast50: finalLosses,
    samples: samplesPng,
    chart: chartPng,
    backend: backendInfo(),
    commit: gitCommit(),
  });
  return { runDir: paths.root, step, losses: history, samplesPng, chartPng, wallSeconds, model };
}

/** How this process was started, e.g. `deno run -A lib/cli/main.ts demo --out runs/x`
 * (`deno task demo --out runs/x` runs exactly that). */
function commandLine(): string {
  const root = new URL("../../", import.meta.url).href;
  const main = Deno.mainModule.startsWith(root)
    ? Deno.mainModule.slice(root.length)
    : Deno.mainModule;
  return ["deno", "run", "-A", main, ...Deno.args].join(" ");
}

// ---------------------------------------------------------------------------------------------
// artifacts

async function writeSampleGrid(
  model: GenerativeModel,
  paths: RunPaths,
  step: number,
  count: number,
  seed: number,
  path = `${paths.samples}/step-${String(step).padStart(6, "0")}.png`,
): Promise<string> {
  const images = await model.sample(count, { seed });
  try {
    await images.data(); // a GPU backend downloads (and caches) here; the grid then reads in sync
    await writeFileAtomic(path, imageGridPng(images));
  } finally {
    images.dispose();
  }
  return path;
}

/** The periodic sample artifact: an image grid, or for point datasets a scatter of generated
 * points over real ones (plus, at the end, a film strip of all frames so far: samples/film.png,
 * and the points themselves in samples/points-<step>.json). */
async function writePreview(
  model: GenerativeModel,
  paths: RunPaths,
  step: number,
  spec: TrainSpec,
  seed: number,
  frames: PointFrame[],
  path?: string,
): Promise<string> {
  if (!isToyDatasetName(spec.dataset)) {
    return writeSampleGrid(model, paths, step, spec.sampleCount, seed, path);
  }
  const count = Math.max(spec.sampleCount, 500);
  const samples = await model.sample(count, { seed });
  const points = Array.from(await samples.data());
  samples.dispose();
  const real = sampleToy2d(toyName(spec.dataset), count, new Rng(seed));
  const frame = { step, points };
  if (frames.at(-1)?.step !== step) frames.push(frame);
  const name = `step-${String(step).padStart(6, "0")}`;
  await writeJsonAtomic(`${paths.samples}/points-${name.slice(5)}.json`, { step, points });
  const out = path ?? `${paths.samples}/${name}.png`;
  const { png } = await renderChart(
    scatterSpec(real, frame, { title: `${spec.model}, step ${step}` }),
  );
  await writeFileAtomic(out, png);
  if (path) {
    const strip = await renderChart(
      filmStripSpec(real, frames.slice(-8), { title: `${spec.model} on ${spec.dataset}` }),
    );
    await writeFileAtomic(`${paths.samples}/film.png`, strip.png);
  }
  return out;
}

async function writeLossChart(
  history: Array<Record<string, number>>,
  paths: RunPaths,
  spec: TrainSpec,
): Promise<string> {
  // Smooth long runs for readability: mean over windows of ~1/200 of the run.
  const window = Math.max(1, Math.floor(history.length / 200));
  const rows: Array<Record<string, number>> = [];
  for (let i = 0; i < history.length; i += window) {
    const chunk = history.slice(i, i + window);
    const row: Record<string, number> = { step: chunk.at(-1)!.step };
    for (const key of Object.keys(chunk[0])) {
      if (key !== "step" && key !== "time") {
        row[key] = chunk.reduce((s, r) => s + r[key], 0) / chunk.length;
      }
    }
    rows.push(row);
  }
  // GANs that report what D says (d_real, d_fake) or a critic's estimate get a second panel.
  const title = `${spec.model} on ${spec.dataset} (seed ${spec.seed})`;
  const gan = rows.some((r) => "d_real" in r || "w_estimate" in r);
  const { svg, png } = await renderChart(
    gan ? ganChartSpec(rows, { title }) : lossChartSpec(rows, { title }),
  );
  await writeFileAtomic(`${paths.charts}/losses.svg`, svg);
  const pngPath = `${paths.charts}/losses.png`;
  await writeFileAtomic(pngPath, png);
  return pngPath;
}

// ---------------------------------------------------------------------------------------------
// checkpoints

async function writeCheckpoint(
  model: GenerativeModel,
  iterator: DataIterator,
  paths: RunPaths,
  step: number,
  elapsedSeconds: number,
): Promise<void> {
  const tensors = collectWeights(model.weightGroups());
  const owned: tf.Tensor[] = [];
  const optimizerWeightCounts: Record<string, number> = {};
  for (const [name, optimizer] of Object.entries(model.optimizers())) {
    const weights = await optimizer.getWeights();
    optimizerWeightCounts[name] = weights.length;
    weights.forEach((w, i) => {
      tensors.set(`optimizer:${name}/${i}:${w.name}`, w.tensor);
      if (!(w.tensor instanceof tf.Variable)) owned.push(w.tensor);
    });
  }
  const extra: CheckpointExtra = {
    step,
    modelRng: model.rng.state(),
    iterator: iterator.state(),
    elapsedSeconds,
    optimizerWeightCounts,
  };
  try {
    await saveCheckpoint(checkpointPath(paths.checkpoints, step), tensors, extra);
  } finally {
    owned.forEach((t) => t.dispose());
  }
  // Keep the two newest checkpoints.
  const all = await listCheckpoints(paths.checkpoints);
  for (const old of all.slice(0, -2)) await Deno.remove(old.path);
}

async function restoreCheckpoint(
  model: GenerativeModel,
  iterator: DataIterator | null,
  path: string,
): Promise<CheckpointExtra> {
  const { tensors, extra } = await loadCheckpoint<CheckpointExtra>(path);
  try {
    const modelTensors = new Map([...tensors].filter(([name]) => !name.startsWith("optimizer:")));
    restoreWeights(model.weightGroups(), modelTensors);
    for (const [name, optimizer] of Object.entries(model.optimizers())) {
      const prefix = `optimizer:${name}/`;
      const weights = [...tensors]
        .filter(([key]) => key.startsWith(prefix))
        .map(([key, tensor]) => ({
          index: Number(key.slice(prefix.length, key.indexOf(":", prefix.length))),
          name: key.slice(key.indexOf(":", prefix.length) + 1),
          tensor,
        }))
        .sort((a, b) => a.index - b.index);
      if (weights.length !== extra.optimizerWeightCounts[name]) {
        throw new Error(`checkpoint ${path} is missing optimizer '${name}' state`);
      }
      await optimizer.setWeights(weights.map(({ name, tensor }) => ({ name, tensor })));
    }
    model.rng.restore(extra.modelRng);
    iterator?.restore(extra.iterator);
  } finally {
    for (const tensor of tensors.values()) tensor.dispose();
  }
  return extra;
}

/** Rebuild a run's model from config.json and its latest checkpoint (for sample / eval). */
export async function loadRun(
  runDir: string,
): Promise<{ model: GenerativeModel; spec: TrainSpec; step: number }> {
  const paths = await openRunDir(runDir);
  const { spec } = await readJson<{ spec: TrainSpec }>(paths.config);
  const latest = (await listCheckpoints(paths.checkpoints)).at(-1);
  if (!latest) {
    throw new TrainingError(
      `${runDir} has no checkpoint yet: train it first (--resume ${runDir})`,
      2,
    );
  }
  const { model } = await buildModel(spec);
  const extra = await restoreCheckpoint(model, null, latest.path);
  return { model, spec, step: extra.step };
}

export { readMetrics };
