/**
 * The TrainSpec — everything that defines a training run — declared once as a zod schema, like
 * the model configs (lib/models/config.ts). It validates the CLI flags (`resolveSpec`) and the
 * `spec` stored in a run's config.json when the run is resumed, sampled, evaluated or verified,
 * and gives one-line errors that name the flag (or the file) and the allowed range.
 */
import { z } from "zod";
import { IMAGE_DATASETS, IMAGE_SHAPES, isImageDatasetName } from "../data/mod.ts";
import { TOY_DATASETS, TOY_SHAPE } from "../data/toy2d.ts";
import { MODELS } from "../models/registry.ts";
import { UserInputError } from "../util/errors.ts";

/** Largest batch / grid the schema accepts at all; memory is checked separately (below). */
export const MAX_BATCH = 65536;
export const MAX_SAMPLE_COUNT = 4096;

const count = (max: number) => z.number().int().min(1).max(max);

export const TRAIN_SPEC = z.strictObject({
  model: z.string().min(1),
  dataset: z.enum([...IMAGE_DATASETS, ...TOY_DATASETS] as [string, ...string[]]),
  steps: count(1e9),
  batch: count(MAX_BATCH),
  seed: z.number().int().min(0).max(2 ** 32 - 1),
  /** Model hyperparameters: the model's defaults ⊕ --quick ⊕ flags (checked by its own schema). */
  modelConfig: z.record(z.string(), z.unknown()),
  sampleEvery: count(1e9),
  checkpointEvery: count(1e9),
  /** Checkpoints kept on disk, newest first (0 = all, e.g. for post-hoc weight averaging).
   * Optional so run dirs written before it existed still validate; absent means 2. */
  keepCheckpoints: z.number().int().min(0).max(1e9).optional(),
  /** Check tf.memory().numTensors every this many steps; a growing count is a leak. */
  leakCheckEvery: count(1e9),
  /** Images in each sample grid. */
  sampleCount: count(MAX_SAMPLE_COUNT),
});

/** Everything that defines a training run; stored in config.json and re-read on resume. */
export type TrainSpec = Omit<z.infer<typeof TRAIN_SPEC>, "dataset"> & { dataset: string };

/** The CLI flag behind each spec field (for error messages about flags). */
const FLAG: Record<string, string> = {
  dataset: "--dataset",
  steps: "--steps",
  batch: "--batch",
  seed: "--seed",
  sampleEvery: "--sample-every",
  checkpointEvery: "--checkpoint-every",
  keepCheckpoints: "--keep-checkpoints",
};

/** What a zod issue allows, in words, e.g. "an integer in [1, 8192]". */
function allowed(key: string): string {
  const declared = TRAIN_SPEC.shape[key as keyof typeof TRAIN_SPEC.shape];
  const field = declared instanceof z.ZodOptional ? declared.unwrap() : declared;
  if (field instanceof z.ZodNumber) {
    return `an integer in [${field.minValue}, ${field.maxValue}]`;
  }
  if (field instanceof z.ZodEnum) return `one of ${(field.options as string[]).join(", ")}`;
  return "see config.json of a fresh run";
}

/**
 * Validate a spec. `from` is "flags" (errors name the CLI flag) or the config.json path (errors
 * name the file and say it is damaged). Also validates the model config through the model's
 * schema. Throws a one-line UserInputError.
 */
export function checkSpec(input: unknown, from: "flags" | string): TrainSpec {
  const inFile = from !== "flags";
  const result = TRAIN_SPEC.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = String(issue.path[0] ?? "");
    const value = (input as Record<string, unknown> | null)?.[key];
    if (!inFile && FLAG[key]) {
      throw new UserInputError(
        `${FLAG[key]} ${JSON.stringify(value)} is out of range: use ${allowed(key)}`,
      );
    }
    const what = issue.code === "unrecognized_keys"
      ? `has an unknown spec field '${issue.keys[0]}'`
      : key
      ? `has spec.${key}=${JSON.stringify(value)} (expected ${allowed(key)})`
      : "has no valid spec";
    throw new UserInputError(
      `${from} ${what}: the file is damaged — restore it, or start a new run with --out`,
    );
  }
  const spec = result.data;
  const entry = MODELS[spec.model];
  if (!entry) {
    throw new UserInputError(
      `${from} names model '${spec.model}', which this genlab does not have ` +
        `(available: ${Object.keys(MODELS).join(", ")}): check out the commit that made the run`,
    );
  }
  if (inFile) {
    spec.modelConfig = entry.config.parse(spec.modelConfig, from);
    const shape = isImageDatasetName(spec.dataset) ? IMAGE_SHAPES[spec.dataset] : TOY_SHAPE;
    entry.config.checkData(spec.modelConfig, shape);
  }
  return spec;
}

/**
 * A rough upper estimate of the memory a request needs, so a huge --batch or -n fails in one
 * line before any tensor exists: floats per image pixel × pixels × images × 4 bytes. Training
 * keeps activations and their gradients of G and D (≈ 512 floats per pixel for a DCGAN of
 * default width); sampling keeps only forward activations (≈ 64).
 */
export function checkMemory(
  what: string,
  images: number,
  dataset: string,
  floatsPerPixel: number,
  fix: (largest: number) => string,
): void {
  if (!isImageDatasetName(dataset)) return;
  const { height, width, channels } = IMAGE_SHAPES[dataset];
  const perImage = height * width * channels * floatsPerPixel * 4;
  const need = images * perImage;
  let free = Infinity;
  try {
    free = Deno.systemMemoryInfo().available;
  } catch {
    return; // unknown on this platform: let it try
  }
  if (need > free) {
    const gb = (bytes: number) => (bytes / 1e9).toFixed(1);
    throw new UserInputError(
      `${what} needs ≈ ${gb(need)} GB by a rough estimate but ${gb(free)} GB are free: ` +
        fix(Math.max(1, Math.floor(free / perImage / 2))),
    );
  }
}

export const TRAIN_FLOATS_PER_PIXEL = 512;
export const SAMPLE_FLOATS_PER_PIXEL = 64;
