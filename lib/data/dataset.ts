import { UserInputError } from "../util/errors.ts";

/**
 * In-memory image datasets: uint8 pixels (NHWC, row-major) plus integer labels.
 * Everything is kept as bytes; conversion to tensors happens per batch in the iterator.
 */
export interface ImageDataset {
  readonly name: string;
  readonly split: string;
  /** N·H·W·C bytes in [0, 255]. */
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  /** Where the data came from and how the split was made: shown in notebooks and run configs. */
  readonly provenance: string;
}

/** A new dataset holding only the given rows (in that order). */
export function subset(
  dataset: ImageDataset,
  indices: ArrayLike<number>,
  split: string,
): ImageDataset {
  const pixels = dataset.height * dataset.width * dataset.channels;
  const images = new Uint8Array(indices.length * pixels);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i];
    images.set(dataset.images.subarray(row * pixels, (row + 1) * pixels), i * pixels);
    labels[i] = dataset.labels[row];
  }
  return { ...dataset, split, images, labels, count: indices.length };
}

/** A dataset whose files are missing: the message names the package that provides them. */
export class MissingDataError extends UserInputError {
  constructor(message: string) {
    super(message, 2);
    this.name = "MissingDataError";
  }
}
