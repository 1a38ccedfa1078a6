/**
 * The actions behind the CLI commands (kept apart from argument parsing so tests and notebooks
 * can call them directly).
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendName, setupBackend } from "../backend/mod.ts";
import { MODELS } from "../models/registry.ts";
import { loadRun, planLoad, planResume, resolveSpec, train } from "../train/trainer.ts";
import { defaultRunDir, openRunDir, runPaths } from "../train/run_dir.ts";
import { RunLock } from "../train/lock.ts";
import { checkMemory, MAX_SAMPLE_COUNT, SAMPLE_FLOATS_PER_PIXEL } from "../train/spec.ts";
import { verifyRun } from "../train/verify.ts";
import { loadImageDataset } from "../data/mod.ts";
import { imageGridPng } from "../viz/png.ts";
import { exists, gitCommit, writeFileAtomic, writeJsonAtomic } from "../util/files.ts";
import { errorContext } from "../util/errors.ts";
import { type SamplingFlags, samplingMethod, timedSample } from "./sampling_flags.ts";
import { UsageError } from "./common.ts";

interface TrainFlags {
  dataset?: string;
  steps?: number;
  batch?: number;
  lr?: number;
  seed: number;
  backend: BackendName;
  threads?: number;
  out?: string;
  resume?: string;
  quick?: boolean;
  sampleEvery?: number;
  checkpointEvery?: number;
  keepCheckpoints?: number;
  sampleCount?: number;
  set?: Record<string, unknown>;
  progress: boolean;
}

export async function runTrain(model: string | undefined, flags: TrainFlags): Promise<void> {
  if (!flags.resume && !model) {
    throw new UsageError("train needs a model name (e.g. 'train dcgan') or --resume <run-dir>");
  }
  if (model && !MODELS[model]) {
    throw new UsageError(
      `unknown model '${model}': available models are ${Object.keys(MODELS).join(", ")}`,
    );
  }
  if (flags.resume) {
    // A resumed run is defined by its config.json; silently ignoring these would mislead.
    const fixed = Object.entries({
      "--dataset": flags.dataset,
      "--batch": flags.batch,
      "--lr": flags.lr,
      "--quick": flags.quick,
      "--sample-every": flags.sampleEvery,
      "--checkpoint-every": flags.checkpointEvery,
      "--keep-checkpoints": flags.keepCheckpoints,
      "--sample-count": flags.sampleCount,
      "--out": flags.out,
    }).find(([, value]) => value !== undefined);
    if (fixed) {
      throw new UsageError(
        `${fixed[0]} cannot change a resumed run (its config.json fixes it): drop it; with ` +
          `--resume only --steps, --backend, --threads, --no-progress and --set of the model's ` +
          `resumable options (train <model> --help) apply`,
      );
    }
  }
  // Validate everything before touching the backend or the disk.
  const spec = flags.resume ? null : resolveSpec(model!, {
    dataset: flags.dataset,
    steps: flags.steps,
    batch: flags.batch,
    seed: flags.seed,
    quick: flags.quick,
    sampleEvery: flags.sampleEvery,
    checkpointEvery: flags.checkpointEvery,
    keepCheckpoints: flags.keepCheckpoints,
    sampleCount: flags.sampleCount,
    modelConfig: { ...(flags.lr !== undefined ? { learningRate: flags.lr } : {}), ...flags.set },
  });
  // One writer per run dir: take its lock, then check every file we will trust (config,
  // checkpoints, metrics, data) — all before the backend prints anything.
  const root = flags.resume
    ? (await openRunDir(flags.resume)).root
    : flags.out ?? defaultRunDir(spec!.model, spec!.dataset);
  errorContext.runDir = root;
  const created = !flags.resume && !(await exists(root));
  if (!flags.resume && await exists(runPaths(root).config)) {
    throw new UsageError(
      `${root} already holds a run: pass --resume ${root} to continue it, or choose another --out`,
    );
  }
  await Deno.mkdir(root, { recursive: true });
  const lock = await RunLock.acquire(root);
  let result;
  try {
    let plan = null;
    try {
      if (flags.resume) plan = await planResume(flags.resume, flags.steps, flags.set);
      else await loadImageDataset(spec!.dataset, "train");
      await setupBackend({ backend: flags.backend, threads: flags.threads, verbose: true });
    } catch (error) {
      if (created) await Deno.remove(root, { recursive: true }).catch(() => {});
      if (created) errorContext.runDir = undefined;
      throw error;
    }
    result = plan
      ? await train({ resume: plan }, { progress: flags.progress, lock })
      : await train(spec!, { out: root, progress: flags.progress, lock });
  } finally {
    lock.release();
  }
  result.model.dispose();
  console.log(
    `run:     ${result.runDir} (${result.step} steps, ${result.wallSeconds.toFixed(1)} s)`,
  );
  console.log(`samples: ${result.samplesPng}`);
  console.log(`chart:   ${result.chartPng}`);
}

/** `sample <run>`: the grid PNG and, next to it (same name, .json), the timing: NFE, seconds,
 * seconds per image, with the method, weights, backend and commit. */
export async function runSample(
  runDir: string,
  flags: { n: number; seed: number; out?: string; backend: BackendName } & SamplingFlags,
): Promise<void> {
  const plan = await planLoad(runDir);
  errorContext.runDir = plan.paths.root;
  if (flags.n > MAX_SAMPLE_COUNT) {
    throw new UsageError(
      `-n ${flags.n} is too many for one grid: use -n ≤ ${MAX_SAMPLE_COUNT} ` +
        `(to score many samples: deno task eval ${runDir} --n <count>)`,
    );
  }
  checkMemory(
    `-n ${flags.n}`,
    flags.n,
    plan.spec.dataset,
    SAMPLE_FLOATS_PER_PIXEL,
    (n) => `use -n ${n} or less`,
  );
  const method = samplingMethod(flags);
  const tag = method ? `-${Object.values(method).join("-")}` : "";
  const out = flags.out ?? `${plan.paths.samples}/sample${tag}-seed${flags.seed}.png`;
  const outDir = out.includes("/") ? out.slice(0, out.lastIndexOf("/")) || "/" : ".";
  if (!(await exists(outDir))) {
    throw new UsageError(`--out ${out}: directory ${outDir} does not exist; create it first`);
  }
  const backend = await setupBackend({ backend: flags.backend, verbose: true });
  const { model, step, weights } = await loadRun(plan, flags.weights ?? "ema");
  const { images, timing } = await timedSample(model, flags.n, { seed: flags.seed, method });
  await writeFileAtomic(out, await imageGridPng(images));
  images.dispose();
  model.dispose();
  await writeJsonAtomic(out.replace(/\.png$/, "") + ".json", {
    run: runDir,
    checkpoint_step: step,
    weights,
    seed: flags.seed,
    method: method ?? null,
    ...timing,
    backend,
    commit: gitCommit(),
    created: new Date().toISOString(),
  });
  console.log(`${flags.n} samples from step ${step} (${weights} weights) → ${out}`);
  console.log(
    `NFE ${timing.nfe}, ${timing.seconds.toFixed(2)} s, ${
      timing.seconds_per_image.toFixed(4)
    } s/image on ${backend.name}`,
  );
}

export async function runInfo(flags: { backend: BackendName }): Promise<void> {
  const info = await setupBackend({ backend: flags.backend });
  const lines = [
    ["deno", `${Deno.version.deno} (v8 ${Deno.version.v8}, typescript ${Deno.version.typescript})`],
    ["tfjs", tf.version.tfjs],
    ["backend", `${info.name} (requested: ${info.requested}) — ${info.reason}`],
    ["threads", String(info.threads)],
    ...Object.entries(info.available).map(([name, what]) => [`available: ${name}`, what]),
    ["cpus", String(navigator.hardwareConcurrency)],
    ["models", Object.keys(MODELS).join(", ")],
  ];
  for (const [key, value] of lines) console.log(`${key.padEnd(18)} ${value}`);
}

/** The demo's whole configuration, in one block (Keras-examples style). It trains for a
 * **wall-clock budget** (`trainSeconds`, stated in the output) rather than a step count, so the
 * whole `deno task demo` fits in 5 minutes on 2 cores whatever the machine's speed that day;
 * `steps` caps it on fast machines, and `--steps N` trains exactly N steps instead.
 * The model is a self-conditioned GAN (Liu et al. 2020; lib/models/gan/self_conditioned.ts): a
 * cGAN on DCGAN's networks whose "classes" are 20 k-means clusters of the training pixels — no
 * labels — so G gets a discrete mode index instead of stretching one z over ten separated
 * clusters of digits. At equal steps it beat InfoGAN (classifier FID 15.3 vs 51.8) and the plain
 * DCGAN (results/scgan-mnist/README.md). The recipe (half width, batch 64, lr 1e-3, EMA of G
 * 0.999) is the DCGAN demo's, which won 45-s trials at equal wall time (results/dcgan-mnist). One
 * thread: these small networks are call-overhead bound, and 600 steps took 27.5 s on 1 thread vs
 * 33.5 s on 2 (results/infogan-mnist), so 1 thread trains ≈ 22 % more steps in the budget
 * (GENLAB_WASM_THREADS, when set, still wins). */
export const DEMO = {
  model: "scgan",
  title: "self-conditioned GAN (DCGAN networks on 20 k-means clusters, no labels) on MNIST",
  dataset: "mnist",
  steps: 20_000,
  trainSeconds: 225,
  threads: 1,
  batch: 64,
  modelConfig: {
    generatorFilters: 32,
    discriminatorFilters: 32,
    learningRate: 1e-3,
    generatorEma: 0.999,
    clusters: 20,
  },
  sampleEvery: 500,
  checkpointEvery: 500,
} as const;

export async function runDemo(
  flags: { steps?: number; seed: number; backend: BackendName; out?: string },
): Promise<void> {
  const threads = Deno.env.get("GENLAB_WASM_THREADS") ? undefined : DEMO.threads;
  const info = await setupBackend({ backend: flags.backend, threads, verbose: true });
  const spec = resolveSpec(DEMO.model, {
    dataset: DEMO.dataset,
    steps: flags.steps ?? DEMO.steps,
    batch: DEMO.batch,
    seed: flags.seed,
    sampleEvery: DEMO.sampleEvery,
    checkpointEvery: DEMO.checkpointEvery,
    modelConfig: { ...DEMO.modelConfig },
  });
  const budget = flags.steps === undefined ? DEMO.trainSeconds : undefined;
  console.log(
    `demo: ${DEMO.title}, ${
      budget ? `${budget} s of training (at most ${spec.steps} steps)` : `${spec.steps} steps`
    } at batch ${spec.batch}, seed ${spec.seed}, ` +
      `backend ${info.name} (${info.threads} thread${info.threads === 1 ? "" : "s"})`,
  );
  errorContext.runDir = flags.out;
  const result = await train(spec, { out: flags.out, maxSeconds: budget });
  result.model.dispose();
  console.log(`\ndone: ${result.step} steps in ${result.wallSeconds.toFixed(1)} s of training`);
  console.log(`run dir:      ${result.runDir}`);
  console.log(`final grid:   ${result.samplesPng}`);
  console.log(`loss chart:   ${result.chartPng}`);
  console.log(`metrics:      ${result.runDir}/metrics.jsonl`);
}

/** `verify <run-dir>`: one line per file on stdout; any damage → one summary line, exit 2. */
export async function runVerify(runDir: string): Promise<void> {
  const report = await verifyRun(runDir);
  const width = Math.max(...report.map((r) => r.file.length)) + 2;
  for (const item of report) {
    console.log(`${item.ok ? "ok     " : "DAMAGED"}  ${item.file.padEnd(width)}${item.note}`);
  }
  const damaged = report.filter((r) => !r.ok);
  if (damaged.length > 0) {
    const checkpoints = report.filter((r) => r.file.startsWith("checkpoints/"));
    const intact = checkpoints.filter((r) => r.ok).at(-1);
    const fix = damaged.some((d) => !d.file.startsWith("checkpoints/"))
      ? "restore the damaged files from a backup, or start a new run with --out"
      : intact
      ? `--resume, sample and eval fall back to ${intact.file}`
      : "no intact checkpoint is left: restore one, or start a new run with --out";
    throw new UsageError(
      `${runDir}: ${damaged.length} damaged (${damaged.map((d) => d.file).join(", ")}); ${fix}`,
    );
  }
  console.log(`${runDir}: all ${report.length} files intact`);
}
