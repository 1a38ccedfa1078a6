/**
 * The Keras-style metric shape shared by classifier FID/KID/IS and precision/recall:
 * `await update(images)` as many times as there are batches, `await result()`, `reset()`.
 * Metrics know generative models only as "something that yields image batches in [-1, 1]".
 *
 * Whatever reads a tensor is async (`await tensor.data()`): the webgpu backend cannot read GPU
 * memory synchronously under Deno, and this way one code path serves every backend. Code that
 * only sees plain arrays (feature rows, moments) stays synchronous.
 */
import type * as tf from "@tensorflow/tfjs";
import type { FeatureBatch, FeatureExtractor } from "./feature_extractor.ts";

export interface ImageMetric<R> {
  readonly name: string;
  /** Add a batch of generated images (NHWC in [-1, 1]). The caller keeps ownership; the images
   * may be disposed once the promise resolves. */
  update(images: tf.Tensor4D): Promise<void>;
  /** Add already-extracted features (lets several metrics share one forward pass). */
  updateFeatures(batch: FeatureBatch): void;
  /** The score so far: a Promise for metrics that compute on the tfjs backend (KID,
   * precision/recall), a plain value for those computed on the CPU (FID, IS) — `await` it. */
  result(): R | Promise<R>;
  reset(): void;
}

/** n row vectors of length dim, row-major float32. */
export interface FeatureMatrix {
  n: number;
  dim: number;
  data: Float32Array;
}

/** A growable store of feature rows (for metrics that need every sample: KID, precision/recall). */
export class FeatureBank {
  #data: Float32Array;
  #n = 0;

  constructor(readonly dim: number, capacity = 1024) {
    this.#data = new Float32Array(Math.max(1, capacity) * dim);
  }

  get n(): number {
    return this.#n;
  }

  append(rows: Float32Array, n: number): void {
    if (rows.length !== n * this.dim) {
      throw new Error(`feature bank: got ${rows.length} values for ${n} rows of ${this.dim}`);
    }
    const needed = (this.#n + n) * this.dim;
    if (needed > this.#data.length) {
      const grown = new Float32Array(Math.max(needed, this.#data.length * 2));
      grown.set(this.#data.subarray(0, this.#n * this.dim));
      this.#data = grown;
    }
    this.#data.set(rows, this.#n * this.dim);
    this.#n += n;
  }

  matrix(): FeatureMatrix {
    return { n: this.#n, dim: this.dim, data: this.#data.subarray(0, this.#n * this.dim) };
  }

  clear(): void {
    this.#n = 0;
  }
}

export function requireExtractor(
  extractor: FeatureExtractor | undefined,
  metric: string,
): FeatureExtractor {
  if (extractor === undefined) {
    throw new Error(`${metric}: update(images) needs a feature extractor; use updateFeatures()`);
  }
  return extractor;
}

export function checkDim(metric: string, expected: number, got: number): void {
  if (expected !== got) {
    throw new Error(`${metric}: features have dimension ${got}, the reference has ${expected}`);
  }
}
