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
import {
  IMAGE_DATASETS,
  IMAGE_SHAPES,
  type ImageDataset,
  isImageDatasetName,
  loadImageDataset,
} from "../data/mod.ts";
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
import {
  checkpointPath,
  findIntactCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
import { gitCommit, type WriteFile, writeFileAtomic, writeJsonAtomic } from "../util/files.ts";
import { RunLock } from "./lock.ts";
import { checkMemory, checkSpec, TRAIN_FLOATS_PER_PIXEL, type TrainSpec } from "./spec.ts";
import { Progress } from "./progress.ts";
import { Ema } from "./ema.ts";
import {
  checkMetrics,
  createRunDir,
  defaultRunDir,
  MetricsWriter,
  openRunDir,
  readMetrics,
  readRunConfig,
  type RunPaths,
  truncateMetrics,
} from "./run_dir.ts";

export type { TrainSpec };

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
  /** The run dir's lock, when the caller already holds it (the CLI takes it before setting up
   * the backend); otherwise train() takes and releases it itself. */
  lock?: RunLock;
  /** How checkpoint bytes reach the disk (tests inject a failing one; default Deno.writeFile). */
  writeFile?: WriteFile;
}

export interface TrainResult {
  runDir: string;
  step: number;
  losses: Array<Record<string, number>>;
  samplesPng: string;
  chartPng: string;
  wallSeconds: number;
  /** The trained model. For models with EMA (`model.ema`), it holds the averaged weights, as
   * `loadRun` would give (what sample grids, `sample` and `eval` use). */
  model: GenerativeModel;
}

interface CheckpointExtra {
  step: number;
  modelRng: { words: RngState; spareNormal: number | null };
  iterator: IteratorState;
  elapsedSeconds: number;
  optimizerWeightCounts: Record<string, number>;
  /** EMA updates done (models with `ema()` only). */
  emaUpdates?: number;
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
  const spec = checkSpec({
    model,
    dataset,
    steps,
    batch: flags.batch ?? quickBatch ?? 64,
    seed: flags.seed ?? 0,
    modelConfig,
    sampleEvery: flags.sampleEvery ?? Math.max(1, Math.min(500, Math.ceil(steps / 4))),
    checkpointEvery: flags.checkpointEvery ?? Math.max(1, Math.min(200, Math.ceil(steps / 10))),
    ...(flags.keepCheckpoints !== undefined ? { keepCheckpoints: flags.keepCheckpoints } : {}),
    leakCheckEvery: flags.leakCheckEvery ?? 20,
    sampleCount: flags.sampleCount ?? 64,
  }, "flags");
  checkMemory(
    `--batch ${spec.batch}`,
    spec.batch,
    dataset,
    TRAIN_FLOATS_PER_PIXEL,
    (n) => `use --batch ${Math.min(n, spec.batch - 1)} or less`,
  );
  return spec;
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

/** What resuming a run will do, worked out by reading (never writing) its files: the validated
 * config, and the newest intact checkpoint whose step metrics.jsonl covers without a gap. */
export interface ResumePlan {
  paths: RunPaths;
  config: Record<string, unknown>;
  spec: TrainSpec;
  /** The checkpoint to continue from; null = the run never checkpointed (start at step 0). */
  from: { step: number; path: string } | null;
  /** Model options changed for the rest of the run (`--set` on resume; resumable ones only). */
  set?: Record<string, unknown>;
}

/**
 * Check a run dir for `--resume` without touching tfjs or the disk: config.json (spec + model
 * schema), metrics.jsonl, every checkpoint newer than the one chosen. Damaged checkpoints are
 * skipped with a one-line warning each; when nothing usable is left, a one-line UserInputError.
 */
export async function planResume(
  runDir: string,
  steps?: number,
  set?: Record<string, unknown>,
): Promise<ResumePlan> {
  const paths = await openRunDir(runDir);
  const { config, spec: saved } = await readRunConfig(paths);
  let spec = steps === undefined ? saved : checkSpec({ ...saved, steps }, "flags");
  const changes = set && Object.keys(set).length > 0 ? resumeSet(spec, set) : undefined;
  if (changes) spec = changes.spec;
  const metrics = await checkMetrics(paths.metrics);
  const all = await listCheckpoints(paths.checkpoints);
  const { intact, damaged } = await findIntactCheckpoint(paths.checkpoints, metrics.rows.length);
  if (!intact && all.length > 0) {
    const skipped = all.filter((c) => c.step > metrics.rows.length).length;
    if (damaged.length > 0 && skipped === 0) {
      throw new UserInputError(
        `cannot resume ${paths.root}: every checkpoint is damaged (${
          damaged.map((d) => `${d.path}: ${d.problem}`).join("; ")
        }); start a new run with --out`,
      );
    }
    throw new UserInputError(
      `cannot resume ${paths.root}: ${paths.metrics} ${
        metrics.problem ? `is damaged (${metrics.problem})` : "is cut short"
      } and covers steps 1–${metrics.rows.length} only, but no intact checkpoint is that old; ` +
        `restore metrics.jsonl, or start a new run with --out`,
    );
  }
  for (const d of damaged) {
    console.error(
      `warning: ${d.message}; resuming from ${intact ? `step ${intact.step}` : "step 0"}`,
    );
  }
  if (intact && intact.step < (all.at(-1)?.step ?? 0) && damaged.length === 0) {
    console.error(
      `warning: ${paths.metrics} ends at step ${metrics.rows.length}${
        metrics.problem ? ` (${metrics.problem})` : ""
      }; resuming from checkpoint step ${intact.step} so the log has no gap`,
    );
  }
  if (isImageDatasetName(spec.dataset)) {
    await loadImageDataset(spec.dataset, "train"); // damaged data files fail here, before the backend
  }
  return { paths, config, spec, from: intact, ...(changes ? { set: changes.set } : {}) };
}

/**
 * `--set` on resume: only the options the model declares resumable (they never feed back into
 * training, e.g. an EMA's decay), validated like any config; a one-line error otherwise.
 */
function resumeSet(
  spec: TrainSpec,
  raw: Record<string, unknown>,
): { spec: TrainSpec; set: Record<string, unknown> } {
  const schema = getModelEntry(spec.model).config;
  const set = Object.fromEntries(
    Object.entries(raw).map(([key, value]) => [key, schema.coerce(key, value)]),
  );
  const modelConfig = schema.parse({ ...spec.modelConfig, ...set }, "--set");
  const fixed = Object.keys(set).find((key) => !schema.resumable.includes(key));
  if (fixed) {
    throw new UserInputError(
      `--set ${fixed} cannot change a resumed ${spec.model} run (it would change the training ` +
        `being continued): ${
          schema.resumable.length > 0
            ? `on --resume only ${schema.resumable.join(", ")} may be set`
            : `no ${spec.model} option may change on --resume`
        }; start a new run with --out instead`,
    );
  }
  return { spec: { ...spec, modelConfig }, set };
}

/** Train a new run (`spec`) or continue one (`resume` = its run dir, or a plan of it). */
export async function train(
  specOrResume: TrainSpec | {
    resume: string | ResumePlan;
    steps?: number;
    set?: Record<string, unknown>;
  },
  options: TrainOptions = {},
): Promise<TrainResult> {
  const resuming = "resume" in specOrResume;
  const plan = !resuming
    ? null
    : typeof specOrResume.resume === "string"
    ? await planResume(specOrResume.resume, specOrResume.steps, specOrResume.set)
    : specOrResume.resume;
  const root = plan?.paths.root ??
    options.out ??
    defaultRunDir((specOrResume as TrainSpec).model, (specOrResume as TrainSpec).dataset);
  if (!plan) await Deno.mkdir(root, { recursive: true });
  const lock = options.lock ?? await RunLock.acquire(root);
  try {
    return await trainLocked(specOrResume, plan, root, options);
  } finally {
    if (!options.lock) lock.release();
  }
}

async function trainLocked(
  specOrResume: TrainSpec | {
    resume: string | ResumePlan;
    steps?: number;
    set?: Record<string, unknown>;
  },
  plan: ResumePlan | null,
  root: string,
  options: TrainOptions,
): Promise<TrainResult> {
  const spec = plan?.spec ?? specOrResume as TrainSpec;
  const paths = plan?.paths ?? await createRunDir(root);

  const { model, iterator, dataset } = await buildModel(spec);
  const ema = model.ema ? new Ema(model.ema()) : null;
  let step = 0;
  let elapsedBefore = 0;
  let history: Array<Record<string, number>> = [];

  if (plan) {
    if (plan.from) {
      const extra = await restoreCheckpoint(model, iterator, plan.from.path, ema);
      step = extra.step;
      elapsedBefore = extra.elapsedSeconds;
    }
    history = await truncateMetrics(paths.metrics, step);
    const config = plan.config;
    const resumes = (config.resumes as unknown[] | undefined) ?? [];
    resumes.push({
      fromStep: step,
      at: new Date().toISOString(),
      commit: gitCommit(),
      backend: backendInfo(),
      ...(plan.set ? { set: plan.set } : {}),
    });
    const changed = plan.set
      ? { model: { ...(config.model as Record<string, unknown>), config: model.config } }
      : {};
    await writeJsonAtomic(paths.config, { ...config, spec, ...changed, resumes });
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

  // A model's pass over the data (e.g. scgan's k-means) runs once, at step 0 of a fresh run;
  // afterwards its result comes back from the checkpoint with the weights.
  if (model.fit && step === 0 && "images" in dataset) await model.fit(dataset);

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
      ema?.update();
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
        await writePreview(model, ema, paths, step, spec, gridSeed, frames);
        await writeLossChart(history, paths, spec);
      }
      const outOfTime = options.maxSeconds !== undefined &&
        (performance.now() - startTime) / 1000 >= options.maxSeconds;
      const stopping = interrupted || stepsThisProcess === options.stopAfter || outOfTime;
      if (step % spec.checkpointEvery === 0 || step === spec.steps || stopping) {
        try {
          await writeCheckpoint(
            model,
            ema,
            iterator,
            paths,
            step,
            seconds(),
            spec.keepCheckpoints ?? 2,
            options.writeFile,
          );
        } catch (error) {
          // The temp file is gone (writeFileAtomic) and the previous checkpoint untouched.
          const why = error instanceof Error ? error.message : String(error);
          throw new TrainingError(
            `could not write the step-${step} checkpoint (${why}); the step-` +
              `${lastCheckpointStep} checkpoint is intact: free disk space or fix permissions ` +
              `in ${paths.checkpoints}, then continue with --resume ${paths.root}`,
            3,
          );
        }
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
  await writePreview(model, ema, paths, step, spec, gridSeed, frames, samplesPng);
  if ("images" in dataset) {
    await writeArtifactGrids(model, paths.samples, dataset, spec.sampleCount, gridSeed);
  }
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
  if (ema) {
    ema.swap(); // the returned model carries the averaged weights, as loadRun's would
    ema.dispose();
  }
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
  ema: Ema | null,
  paths: RunPaths,
  step: number,
  count: number,
  seed: number,
  path = `${paths.samples}/step-${String(step).padStart(6, "0")}.png`,
): Promise<string> {
  const draw = () => model.sample(count, { seed });
  const images = await (ema ? ema.withAveraged(draw) : draw());
  try {
    await writeFileAtomic(path, await imageGridPng(images));
  } finally {
    images.dispose();
  }
  return path;
}

/**
 * The model's own extra grids (GenerativeModel.artifacts: reconstructions, interpolations, …) as
 * <dir>/<name>.png, from a fixed batch of training data (the same images every run with a seed).
 */
export async function writeArtifactGrids(
  model: GenerativeModel,
  dir: string,
  dataset: ImageDataset,
  count: number,
  seed: number,
): Promise<string[]> {
  if (!model.artifacts) return [];
  const batch = new BatchIterator(
    dataset,
    Math.min(count, dataset.count),
    model.dataSpec.range,
    seed,
  )
    .next();
  const written: string[] = [];
  try {
    const grids = await model.artifacts(batch, { seed });
    for (const [name, grid] of Object.entries(grids)) {
      try {
        await grid.images.data();
        const path = `${dir}/${name}.png`;
        await writeFileAtomic(path, await imageGridPng(grid.images, { columns: grid.columns }));
        written.push(path);
      } finally {
        grid.images.dispose();
      }
    }
  } finally {
    batch.x.dispose();
    batch.labels?.dispose();
  }
  return written;
}

/** The periodic sample artifact: an image grid, or for point datasets a scatter of generated
 * points over real ones (plus, at the end, a film strip of all frames so far: samples/film.png,
 * and the points themselves in samples/points-<step>.json). */
async function writePreview(
  model: GenerativeModel,
  ema: Ema | null,
  paths: RunPaths,
  step: number,
  spec: TrainSpec,
  seed: number,
  frames: PointFrame[],
  path?: string,
): Promise<string> {
  if (!isToyDatasetName(spec.dataset)) {
    return writeSampleGrid(model, ema, paths, step, spec.sampleCount, seed, path);
  }
  const count = Math.max(spec.sampleCount, 500);
  const draw = () => model.sample(count, { seed });
  const samples = await (ema ? ema.withAveraged(draw) : draw());
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
    // Means over the rows that report a key (models with stages report different keys).
    for (const key of new Set(chunk.flatMap((r) => Object.keys(r)))) {
      if (key !== "step" && key !== "time") {
        const values = chunk.map((r) => r[key]).filter((v) => v !== undefined);
        row[key] = values.reduce((s, v) => s + v, 0) / values.length;
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
  ema: Ema | null,
  iterator: DataIterator,
  paths: RunPaths,
  step: number,
  elapsedSeconds: number,
  keep: number,
  writeFile?: WriteFile,
): Promise<void> {
  const tensors = collectWeights(model.weightGroups());
  for (const [name, tensor] of ema?.tensors() ?? []) tensors.set(name, tensor);
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
    ...(ema ? { emaUpdates: ema.updates } : {}),
  };
  try {
    await saveCheckpoint(checkpointPath(paths.checkpoints, step), tensors, extra, writeFile);
  } finally {
    owned.forEach((t) => t.dispose());
  }
  // Keep the newest `keepCheckpoints` (default 2: the newest and a fallback should it be damaged).
  if (keep > 0) {
    const all = await listCheckpoints(paths.checkpoints);
    for (const old of all.slice(0, -keep)) await Deno.remove(old.path);
  }
}

async function restoreCheckpoint(
  model: GenerativeModel,
  iterator: DataIterator | null,
  path: string,
  ema: Ema | null,
): Promise<CheckpointExtra> {
  const { tensors, extra } = await loadCheckpoint<CheckpointExtra>(path);
  try {
    await restoreTensors(model, iterator, path, tensors, extra, ema);
  } catch (error) {
    if (error instanceof UserInputError) throw error;
    throw new UserInputError(
      `checkpoint ${path} does not fit the model described by config.json (${
        (error as Error).message.split("\n")[0]
      }): was config.json edited? restore it, or start a new run with --out`,
    );
  } finally {
    for (const tensor of tensors.values()) tensor.dispose();
  }
  return extra;
}

async function restoreTensors(
  model: GenerativeModel,
  iterator: DataIterator | null,
  path: string,
  tensors: Map<string, tf.Tensor>,
  extra: CheckpointExtra,
  ema: Ema | null,
): Promise<void> {
  {
    const modelTensors = new Map(
      [...tensors].filter(([name]) => !name.startsWith("optimizer:") && !name.startsWith("ema/")),
    );
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
    if (ema) ema.restore(tensors, extra.emaUpdates ?? 0);
    model.rng.restore(extra.modelRng);
    iterator?.restore(extra.iterator);
  }
}

/** A run to sample or evaluate: validated config and the newest intact checkpoint. */
export interface LoadPlan {
  paths: RunPaths;
  spec: TrainSpec;
  from: { step: number; path: string };
}

/** Check a run dir for `sample`/`eval` by reading only (no lock, no tfjs): config.json, the
 * newest intact checkpoint (damaged newer ones: a one-line warning each), the training data. */
export async function planLoad(runDir: string): Promise<LoadPlan> {
  const paths = await openRunDir(runDir);
  const { spec } = await readRunConfig(paths);
  const { intact, damaged } = await findIntactCheckpoint(paths.checkpoints);
  if (!intact) {
    throw new UserInputError(
      damaged.length > 0
        ? `${paths.root} has no intact checkpoint (${
          damaged.map((d) => `${d.path}: ${d.problem}`).join("; ")
        }): retrain it with --out, or restore a checkpoint`
        : `${paths.root} has no checkpoint yet: train it first (--resume ${paths.root})`,
    );
  }
  for (const d of damaged) {
    console.error(`warning: ${d.message}; using step ${intact.step} instead`);
  }
  if (isImageDatasetName(spec.dataset)) {
    await loadImageDataset(spec.dataset, "train"); // damaged data files fail here, before the backend
  }
  return { paths, spec, from: intact };
}

/** Rebuild a run's model from config.json and its newest intact checkpoint (sample / eval).
 * Models with EMA get the averaged weights unless `weights` is "live". */
export async function loadRun(
  run: string | LoadPlan,
  weights: "ema" | "live" = "ema",
): Promise<
  { model: GenerativeModel; spec: TrainSpec; step: number; weights: "ema" | "live" | "plain" }
> {
  const plan = typeof run === "string" ? await planLoad(run) : run;
  const { model } = await buildModel(plan.spec);
  const ema = model.ema ? new Ema(model.ema()) : null;
  try {
    const extra = await restoreCheckpoint(model, null, plan.from.path, ema);
    if (ema && weights === "ema") ema.swap();
    return { model, spec: plan.spec, step: extra.step, weights: ema ? weights : "plain" };
  } finally {
    ema?.dispose();
  }
}

export { readMetrics };
