/**
 * The types data and models share. They live here, below the models, so that lib/data knows no
 * model (ARCHITECTURE.md: arrows point down); lib/models/types.ts re-exports them for the contract.
 */
import type * as tf from "@tensorflow/tfjs";

/** One training batch. Images are NHWC; their range is what the model asked for in `dataSpec`. */
export interface Batch {
  x: tf.Tensor4D;
  /** Integer class labels, shape [N] (int32), when the dataset has them. */
  labels?: tf.Tensor1D;
}

/** How a model wants its data: value range and which image shape it was built for. */
export interface DataSpec {
  range: "[-1,1]" | "[0,1]" | "binary";
  height: number;
  width: number;
  channels: number;
}
