/**
 * The actions behind the CLI commands (kept apart from argument parsing so tests and notebooks
 * can call them directly).
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendName, setupBackend } from "../backend/mod.ts";
import { MODELS } from "../models/registry.ts";
import { loadRun, resolveSpec, train } from "../train/trainer.ts";
import { openRunDir } from "../train/run_dir.ts";
import { imageGridPng } from "../viz/png.ts";
import { writeFileAtomic } from "../util/files.ts";
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
  // Validate everything before touching the backend or the disk.
  const spec = flags.resume ? null : resolveSpec(model!, {
    dataset: flags.dataset,
    steps: flags.steps,
    batch: flags.batch,
    seed: flags.seed,
    quick: flags.quick,
    sampleEvery: flags.sampleEvery,
    checkpointEvery: flags.checkpointEvery,
    modelConfig: { ...(flags.lr !== undefined ? { learningRate: flags.lr } : {}), ...flags.set },
  });
  if (flags.resume) await openRunDir(flags.resume);
  await setupBackend({ backend: flags.backend, threads: flags.threads, verbose: true });
  const result = spec
    ? await train(spec, { out: flags.out, progress: flags.progress })
    : await train({ resume: flags.resume!, steps: flags.steps }, { progress: flags.progress });
  result.model.dispose();
  console.log(
    `run:     ${result.runDir} (${result.step} steps, ${result.wallSeconds.toFixed(1)} s)`,
  );
  console.log(`samples: ${result.samplesPng}`);
  console.log(`chart:   ${result.chartPng}`);
}

export async function runSample(
  runDir: string,
  flags: { n: number; seed: number; out?: string; backend: BackendName },
): Promise<void> {
  await openRunDir(runDir);
  await setupBackend({ backend: flags.backend, verbose: true });
  const { model, step } = await loadRun(runDir);
  const images = await model.sample(flags.n, { seed: flags.seed });
  const out = flags.out ?? `${runDir.replace(/\/+$/, "")}/samples/sample-seed${flags.seed}.png`;
  await images.data(); // webgpu: download asynchronously first (no synchronous GPU reads in Deno)
  await writeFileAtomic(out, imageGridPng(images));
  images.dispose();
  model.dispose();
  console.log(`${flags.n} samples from step ${step} → ${out}`);
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
 * `steps` caps it on fast machines, and `--steps N` trains exactly N steps instead. The recipe
 * (half width, batch 64, lr 1e-3) won 45-s classifier-FID trials at equal wall time; the 225-s run
 * reached classifier FID 75.9 at n = 5,000 (results/dcgan-mnist/README.md). */
export const DEMO = {
  model: "dcgan",
  dataset: "mnist",
  steps: 20_000,
  trainSeconds: 225,
  batch: 64,
  modelConfig: { generatorFilters: 32, discriminatorFilters: 32, learningRate: 0.001 },
  sampleEvery: 500,
  checkpointEvery: 500,
} as const;

export async function runDemo(
  flags: { steps?: number; seed: number; backend: BackendName; out?: string },
): Promise<void> {
  const info = await setupBackend({ backend: flags.backend, verbose: true });
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
    `demo: DCGAN on MNIST, ${
      budget ? `${budget} s of training (at most ${spec.steps} steps)` : `${spec.steps} steps`
    } at batch ${spec.batch}, seed ${spec.seed}, ` +
      `backend ${info.name} (${info.threads} thread${info.threads === 1 ? "" : "s"})`,
  );
  const result = await train(spec, { out: flags.out, maxSeconds: budget });
  result.model.dispose();
  console.log(`\ndone: ${result.step} steps in ${result.wallSeconds.toFixed(1)} s of training`);
  console.log(`run dir:      ${result.runDir}`);
  console.log(`final grid:   ${result.samplesPng}`);
  console.log(`loss chart:   ${result.chartPng}`);
  console.log(`metrics:      ${result.runDir}/metrics.jsonl`);
}
