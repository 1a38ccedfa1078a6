/**
 * Train the per-dataset feature classifier behind genlab's classifier FID/KID/IS and commit it:
 *
 *   deno task exp:train_feature_classifier --dataset mnist --seed 0 \
 *     --out results/feature-classifiers/mnist/
 *
 * Writes <out>/model.json + weights.bin (tfjs layers format), <out>/metrics.json (test
 * accuracy, seed, backend, wall time, git commit, command) and <out>/floor.json (the classifier
 * scores of real training images vs the test split: the floor for generators). Reproducible for a given seed and
 * backend: initialization, data order, augmentation and dropout all come from one seeded Rng.
 */
import * as tf from "@tensorflow/tfjs";
import { Command, InvalidArgumentError } from "commander";
import {
  BACKEND_NAMES,
  backendInfo,
  type BackendName,
  isBackendName,
  setupBackend,
} from "../lib/backend/mod.ts";
import { Rng } from "../lib/util/rng.ts";
import { IMAGE_DATASETS, isImageDatasetName, loadImageDataset, subset } from "../lib/data/mod.ts";
import {
  buildFeatureClassifier,
  classifierAccuracy,
  evaluateDatasetFloor,
  FEATURE_CLASSIFIER_DIR,
  fileSaveHandler,
  loadFeatureExtractor,
  trainFeatureClassifier,
} from "../lib/metrics/mod.ts";
import { writeFileAtomic } from "../lib/util/files.ts";

/** Per-dataset defaults. MNIST has only 9,000 training images here (see lib/data/mnist.ts), so it
 * gets affine augmentation (rotation ±12°, scale ±10%, shift ±2 px) and more epochs;
 * Fashion-MNIST (60,000) gets integer shifts of ±1 px. */
const DEFAULTS: Record<string, { epochs: number; shift: number; augment: "shift" | "affine" }> = {
  mnist: { epochs: 30, shift: 2, augment: "affine" },
  "fashion-mnist": { epochs: 12, shift: 1, augment: "shift" },
};
const AFFINE = { rotate: 12, scale: 0.1 };

function intArg(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) {
      throw new InvalidArgumentError(`${name} must be an integer ≥ 0`);
    }
    return n;
  };
}

function floatArg(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) {
      throw new InvalidArgumentError(`${name} must be a number ≥ 0`);
    }
    return n;
  };
}

async function gitCommit(): Promise<string> {
  try {
    const out = await new Deno.Command("git", {
      args: ["rev-parse", "HEAD"],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) return "uncommitted";
    const commit = new TextDecoder().decode(out.stdout).trim();
    const status = await new Deno.Command("git", {
      args: ["status", "--porcelain", "--untracked-files=no"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const dirty = status.success && new TextDecoder().decode(status.stdout).trim() !== "";
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return "uncommitted";
  }
}

const program = new Command()
  .name("train_feature_classifier")
  .description(
    "Train the small CNN whose 128-d features and softmax give genlab's classifier FID/KID/IS " +
      "for one dataset, and save it (tfjs model.json + weights.bin) with metrics.json.",
  )
  .requiredOption(
    "--dataset <name>",
    `dataset: ${IMAGE_DATASETS.join(" | ")}`,
    (v: string) => {
      if (!isImageDatasetName(v)) {
        throw new InvalidArgumentError(`use one of ${IMAGE_DATASETS.join(", ")}`);
      }
      return v;
    },
  )
  .option(
    "--seed <n>",
    "seed of initialization, data order, augmentation, dropout",
    intArg("--seed"),
    0,
  )
  .option("--epochs <n>", "epochs (default: mnist 30, fashion-mnist 12)", intArg("--epochs"))
  .option("--batch <n>", "batch size", intArg("--batch"), 128)
  .option("--lr <x>", "Adam learning rate (cosine-decayed to 2%)", floatArg("--lr"), 2e-3)
  .option(
    "--dropout <x>",
    "dropout on the feature layer while training",
    floatArg("--dropout"),
    0.3,
  )
  .option(
    "--augment <kind>",
    "augmentation: shift (integer ±shift px) | affine (rotation ±12°, scale ±10%, ±shift px) " +
      "(default: mnist affine, fashion-mnist shift)",
    (v: string) => {
      if (v !== "shift" && v !== "affine") throw new InvalidArgumentError("use shift or affine");
      return v;
    },
  )
  .option(
    "--shift <n>",
    "random translation ±n pixels (default: mnist 2, fashion-mnist 1)",
    intArg("--shift"),
  )
  .option(
    "--limit <n>",
    "train on a seeded random n training images only (smoke tests)",
    intArg("--limit"),
  )
  .option(
    "--backend <name>",
    `tfjs backend: ${BACKEND_NAMES.join(" | ")}`,
    (v: string) => {
      if (!isBackendName(v)) {
        throw new InvalidArgumentError(`use one of ${BACKEND_NAMES.join(", ")}`);
      }
      return v;
    },
    "auto",
  )
  .option("--out <dir>", `output directory (default: ${FEATURE_CLASSIFIER_DIR}/<dataset>/)`)
  .option("--no-floor", "skip floor.json (classifier scores of train vs test images)")
  .option("--floor-only", "do not train: load <out>/model.json and (re)write floor.json");

program.parse(Deno.args, { from: "user" });
const opts = program.opts<{
  dataset: string;
  seed: number;
  epochs?: number;
  batch: number;
  lr: number;
  dropout: number;
  shift?: number;
  augment?: "shift" | "affine";
  limit?: number;
  backend: BackendName;
  out?: string;
  floor: boolean;
  floorOnly?: boolean;
}>();

/** floor.json: the scores of real training images against the test split with this classifier —
 * the best a generator can expect at the same n. */
async function writeFloor(out: string, dataset: string, seed: number): Promise<void> {
  const extractor = await loadFeatureExtractor({ path: `${out}/model.json` });
  const floor = await evaluateDatasetFloor({ dataset, extractor, seed });
  extractor.dispose();
  const record = {
    description: "classifier scores (genlab feature classifier, not Inception) of real training " +
      "images vs the test split: the floor a perfect generator would reach at this n",
    ...floor,
    backend: backendInfo()?.name,
    git_commit: await gitCommit(),
    command: ["deno run -A experiments/train_feature_classifier.ts", ...Deno.args].join(" "),
    date: new Date().toISOString(),
  };
  await writeFileAtomic(`${out}/floor.json`, JSON.stringify(record, null, 2) + "\n");
  console.log(
    `floor (${floor.n} train vs ${floor.n_reference} test images): classifier FID ` +
      `${floor.classifier_fid.toFixed(3)}, classifier KID ${
        floor.classifier_kid_mean.toExponential(2)
      } ± ` +
      `${floor.classifier_kid_std.toExponential(2)}, classifier IS ${
        floor.classifier_is_mean?.toFixed(3)
      } ± ` +
      `${floor.classifier_is_std?.toFixed(3)}, precision ${floor.precision.toFixed(3)}, recall ` +
      `${floor.recall.toFixed(3)} (${floor.seconds.toFixed(1)} s) → ${out}/floor.json`,
  );
}

const wallStart = performance.now();
const backend = await setupBackend({ backend: opts.backend, verbose: true });
if (tf.getKernel("Conv2DBackpropFilter", tf.getBackend()) === undefined) {
  console.error(
    `error: backend '${backend.name}' has no Conv2DBackpropFilter kernel, so convolutions cannot ` +
      "be trained on it (try --backend cpu, slow)",
  );
  Deno.exit(1);
}
const defaults = DEFAULTS[opts.dataset];
if (opts.floorOnly) {
  await writeFloor(
    (opts.out ?? `${FEATURE_CLASSIFIER_DIR}/${opts.dataset}`).replace(/\/$/, ""),
    opts.dataset,
    opts.seed,
  );
  Deno.exit(0);
}
const epochs = opts.epochs ?? defaults.epochs;
const shift = opts.shift ?? defaults.shift;
const augment = opts.augment ?? defaults.augment;
const affine = augment === "affine" ? { ...AFFINE, shift } : undefined;
const out = (opts.out ?? `${FEATURE_CLASSIFIER_DIR}/${opts.dataset}`).replace(/\/$/, "");

const fullTrain = await loadImageDataset(opts.dataset, "train");
const train = opts.limit !== undefined && opts.limit < fullTrain.count
  ? subset(
    fullTrain,
    new Rng(opts.seed).permutation(fullTrain.count).subarray(0, opts.limit),
    "train",
  )
  : fullTrain;
const test = await loadImageDataset(opts.dataset, "test");
console.log(
  `${opts.dataset}: ${train.count} train / ${test.count} test images; ${epochs} epochs, batch ` +
    `${opts.batch}, lr ${opts.lr}, dropout ${opts.dropout}, augment ${augment} ` +
    `${
      affine ? `(rotation ±${AFFINE.rotate}°, scale ±${100 * AFFINE.scale}%, ` : "("
    }shift ±${shift}), seed ${opts.seed}`,
);

const model = buildFeatureClassifier({ seed: opts.seed, dataset: opts.dataset });
const params = model.countParams();
const trainStart = performance.now();
const history = await trainFeatureClassifier(model, train, {
  epochs,
  batchSize: opts.batch,
  learningRate: opts.lr,
  seed: opts.seed,
  augmentShift: shift,
  affine,
  dropout: opts.dropout,
  onEpoch: (e) =>
    console.log(
      `epoch ${String(e.epoch).padStart(2)}/${epochs}  loss ${e.loss.toFixed(4)}  train acc ` +
        `${(100 * e.trainAccuracy).toFixed(2)}%  lr ${e.learningRate.toExponential(2)}  ` +
        `${e.seconds.toFixed(1)} s`,
    ),
});
const trainSeconds = (performance.now() - trainStart) / 1000;
const report = await classifierAccuracy(model, test);
console.log(
  `test accuracy ${(100 * report.accuracy).toFixed(2)}% (${report.correct}/${report.count}); ` +
    `training ${trainSeconds.toFixed(1)} s`,
);

await model.save(fileSaveHandler(out));
const weightBytes = (await Deno.stat(`${out}/weights.bin`)).size;
const metrics = {
  kind: "genlab feature classifier (for classifier FID/KID/IS — not Inception)",
  dataset: opts.dataset,
  train_split: train.provenance,
  test_split: test.provenance,
  train_count: train.count,
  test_count: test.count,
  test_accuracy: report.accuracy,
  test_correct: report.correct,
  test_per_class_accuracy: report.perClass,
  test_confusion: report.confusion,
  final_train_loss: history[history.length - 1]?.loss ?? null,
  history,
  params,
  weights_bytes: weightBytes,
  feature_dim: 128,
  seed: opts.seed,
  epochs,
  batch: opts.batch,
  lr: opts.lr,
  dropout: opts.dropout,
  shift,
  augment,
  affine: affine ?? null,
  backend: backend.name,
  threads: backend.threads,
  tfjs: backend.tfjsVersion,
  deno: backend.denoVersion,
  train_seconds: trainSeconds,
  wall_seconds: (performance.now() - wallStart) / 1000,
  git_commit: await gitCommit(),
  command: ["deno run -A experiments/train_feature_classifier.ts", ...Deno.args].join(" "),
  date: new Date().toISOString(),
};
await writeFileAtomic(`${out}/metrics.json`, JSON.stringify(metrics, null, 2) + "\n");
if (opts.floor) await writeFloor(out, opts.dataset, opts.seed);
console.log(
  `saved ${out}/model.json, weights.bin (${(weightBytes / 1024).toFixed(0)} KiB), metrics.json`,
);
