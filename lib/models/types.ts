/**
 * The model contract: the trainer, the CLI, metrics and notebooks know models only through it.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Rng } from "../util/rng.ts";
import type { WeightOwner } from "../nn/state.ts";
import type { ModelConfigSchema } from "./config.ts";
import type { Batch, DataSpec } from "../data/types.ts";
import type { ImageDataset } from "../data/dataset.ts";

/** Data-side types, defined in lib/data (data knows no model) and part of the contract. */
export type { Batch, DataSpec };

export interface SampleOptions {
  /** Class labels for conditional models (length n). */
  labels?: number[];
  /** Seed for the sampling noise; defaults to the model's own RNG stream. */
  seed?: number;
  /** Model-specific sampling options (e.g. diffusion: sampler, steps, eta, spacing); each model
   * validates its own and rejects unknown keys with a one-line UserInputError. */
  method?: Record<string, string | number | boolean>;
  /** Progress of long sampling loops (e.g. diffusion steps done / total). */
  onProgress?: (done: number, total: number) => void;
}

/** One named image grid (NHWC in [-1, 1]); `columns` lays it out (default ⌈√n⌉). */
export interface ArtifactGrid {
  images: tf.Tensor4D;
  columns?: number;
}

export interface GenerativeModel {
  readonly name: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly dataSpec: DataSpec;
  /** One optimisation step. Returns the losses as plain numbers; allocates no lasting tensors.
   * Async because the losses are read with `await tensor.data()`: the webgpu backend cannot read
   * GPU memory synchronously under Deno (lib/backend/webgpu.ts). */
  trainStep(batch: Batch, step: number): Promise<Record<string, number>>;
  /** n images in [-1, 1], NHWC. The caller disposes the result. Async so that long sampling
   * loops (diffusion, autoregressive) can report progress and GPU backends can read back. */
  sample(n: number, options?: SampleOptions): Promise<tf.Tensor4D>;
  /** Likelihood models only (VAE/IWAE, PixelCNN, flows): −log p(x) per image of the batch, in
   * nats, for the batch in the model's own data range (bits/dim: lib/metrics/likelihood.ts). */
  nll?(batch: Batch, options?: { importanceSamples?: number }): Promise<Float64Array>;
  /** Optional extra image grids (reconstructions beside originals, latent interpolations, …)
   * that the trainer writes next to the sample grids as samples/<name>.png at the end of a run.
   * `batch` is a fixed batch of training data in the model's range. The caller disposes. */
  artifacts?(batch: Batch, options: { seed: number }): Promise<Record<string, ArtifactGrid>>;
  /** Named groups of state for checkpoints: a tf.layers model or a list of tf.Variables each
   * (e.g. { generator, discriminator }). Includes non-trainable state such as batch-norm statistics. */
  weightGroups(): Record<string, WeightOwner>;
  /** Optimizers by name; their state is checkpointed alongside the variables. */
  optimizers(): Record<string, tf.Optimizer>;
  /** The model's own RNG (noise for steps and samples); checkpointed so resume is exact. */
  readonly rng: Rng;
  /** Opt-in: one pass over the whole training split before step 1 of a fresh run (e.g. the
   * self-conditioned GAN's k-means clusters). What it computes must live in `weightGroups`, so
   * resume, `sample` and `eval` restore it from the checkpoint without the data. */
  fit?(train: ImageDataset): Promise<void>;
  /** Opt-in: the trainer keeps an exponential moving average of these weights
   * (lib/train/ema.ts), checkpoints it, and uses it for sample grids, `sample` and `eval`. */
  ema?(): EmaSpec;
  /** Release all tensors the model owns. */
  dispose(): void;
}

/** A model's EMA request (see `GenerativeModel.ema`). */
export interface EmaSpec {
  /** The variables to average (the trainable weights), in a stable order. */
  variables: tf.Variable[];
  /** Target decay in [0, 1); 0 makes the average equal to the live weights. */
  decay: number;
  /** Warm-up constant: decay_n = min(decay, (1 + n) / (warmup + n)) at update n; 0 = none. */
  warmup: number;
}

/** Everything needed to build a model by CLI name. */
export interface ModelEntry<Config extends Record<string, unknown> = Record<string, unknown>> {
  name: string;
  description: string;
  /** The model's options, declared once (lib/models/config.ts): defaults, validation, --help. */
  config: ModelConfigSchema<Config>;
  /** Steps/batch used by `--quick` (tests, notebooks, CI). */
  quick: Partial<Config> & { steps?: number; batch?: number };
  defaultDataset: string;
  create(config: Config, data: DataSpec & { numClasses: number }, seed: number): GenerativeModel;
}
