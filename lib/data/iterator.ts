/**
 * A seeded, shuffling, batching iterator over an ImageDataset. Its whole state (epoch, cursor,
 * permutation RNG) is serializable, so a resumed run sees exactly the batches it would have seen.
 */
import * as tf from "@tensorflow/tfjs";
import type { Batch, DataSpec } from "./types.ts";
import { Rng, type RngState } from "../util/rng.ts";
import { UserInputError } from "../util/errors.ts";
import type { ImageDataset } from "./dataset.ts";
import { scalePixels } from "./transforms.ts";
import { sampleToy2d, type Toy2dName } from "./toy2d.ts";

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

/** Batches of fresh points from a toy 2-D distribution (`toy:<name>`), as [N, 1, 1, 2] tensors
 * (see lib/data/toy2d.ts). The data are infinite, so there are no epochs; the state is the RNG
 * (`cursor` counts batches), and a resumed run draws exactly the points it would have drawn. */
export class PointIterator {
  #rng: Rng;
  #batches = 0;

  constructor(readonly name: Toy2dName, readonly batchSize: number, seed: number) {
    if (batchSize < 1 || batchSize > 1_000_000) {
      throw new UserInputError(`--batch must be between 1 and 1000000 for toy:${name}`);
    }
    this.#rng = new Rng(seed);
  }

  get epoch(): number {
    return 0;
  }

  next(): Batch {
    const points = sampleToy2d(this.name, this.batchSize, this.#rng);
    this.#batches++;
    return { x: tf.tensor4d(points, [this.batchSize, 1, 1, 2]) };
  }

  state(): IteratorState {
    return { epoch: 0, cursor: this.#batches, rng: this.#rng.state() };
  }

  restore(state: IteratorState): void {
    this.#rng = Rng.fromState(state.rng);
    this.#batches = state.cursor;
  }
}

/** What the trainer iterates over: image batches or point batches. */
export type DataIterator = BatchIterator | PointIterator;
