/**
 * A seeded, shuffling, batching iterator over an ImageDataset. Its whole state (epoch, cursor,
 * permutation RNG) is serializable, so a resumed run sees exactly the batches it would have seen.
 */
import * as tf from "@tensorflow/tfjs";
import type { Batch, DataSpec } from "../models/types.ts";
import { Rng, type RngState } from "../util/rng.ts";
import { UserInputError } from "../util/errors.ts";
import type { ImageDataset } from "./dataset.ts";
import { scalePixels } from "./transforms.ts";

export interface IteratorState {
  epoch: number;
  cursor: number;
  rng: { words: RngState; spareNormal: number | null };
}

export class BatchIterator {
  #order: Int32Array;
  #rng: Rng;
  #epoch = 0;
  #cursor = 0;
  #epochStartState: ReturnType<Rng["state"]>;

  constructor(
    readonly dataset: ImageDataset,
    readonly batchSize: number,
    readonly range: DataSpec["range"],
    seed: number,
  ) {
    if (batchSize < 1 || batchSize > dataset.count) {
      throw new UserInputError(
        `--batch must be between 1 and ${dataset.count} for ${dataset.name}`,
      );
    }
    this.#rng = new Rng(seed);
    this.#epochStartState = this.#rng.state();
    this.#order = this.#rng.permutation(dataset.count);
  }

  get epoch(): number {
    return this.#epoch;
  }

  /** The next batch (drop-last: every batch is full). The caller disposes the tensors. */
  next(): Batch {
    if (this.#cursor + this.batchSize > this.dataset.count) {
      this.#epoch++;
      this.#cursor = 0;
      this.#epochStartState = this.#rng.state();
      this.#order = this.#rng.permutation(this.dataset.count);
    }
    const { height, width, channels } = this.dataset;
    const pixels = height * width * channels;
    const images = new Uint8Array(this.batchSize * pixels);
    const labels = new Int32Array(this.batchSize);
    for (let i = 0; i < this.batchSize; i++) {
      const row = this.#order[this.#cursor + i];
      images.set(this.dataset.images.subarray(row * pixels, (row + 1) * pixels), i * pixels);
      labels[i] = this.dataset.labels[row];
    }
    this.#cursor += this.batchSize;
    return {
      x: scalePixels(images, [this.batchSize, height, width, channels], this.range),
      labels: tf.tensor1d(labels, "int32"),
    };
  }

  state(): IteratorState {
    return { epoch: this.#epoch, cursor: this.#cursor, rng: this.#epochStartState };
  }

  /** Restore: re-draw this epoch's permutation from the RNG state saved at its start. */
  restore(state: IteratorState): void {
    this.#rng = Rng.fromState(state.rng);
    this.#epochStartState = this.#rng.state();
    this.#order = this.#rng.permutation(this.dataset.count);
    this.#epoch = state.epoch;
    this.#cursor = state.cursor;
  }
}
