/**
 * Exact (or bound) NLL of a likelihood model over a whole dataset split: the mean of
 * `model.nll(batch)` (nats per image), its standard error, and bits/dim.
 */
import * as tf from "@tensorflow/tfjs";
import type { ImageDataset } from "../data/dataset.ts";
import { scalePixels } from "../data/transforms.ts";
import type { GenerativeModel } from "../models/types.ts";
import { bitsPerDim } from "./likelihood.ts";

export interface DatasetNll {
  images: number;
  /** Mean −log p(x) per image, nats. */
  nats: number;
  /** Standard error of that mean (over images). */
  natsStdErr: number;
  bitsPerDim: number;
}

export async function datasetNll(
  model: GenerativeModel,
  dataset: ImageDataset,
  { batch = 100, maxImages = Infinity }: { batch?: number; maxImages?: number } = {},
): Promise<DatasetNll> {
  if (!model.nll) throw new Error(`${model.name} has no nll(): it is not a likelihood model`);
  const { height, width, channels } = dataset;
  const dims = height * width * channels;
  const count = Math.min(dataset.count, maxImages);
  let sum = 0;
  let sumSq = 0;
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const x = scalePixels(
      dataset.images.subarray(start * dims, (start + n) * dims),
      [n, height, width, channels],
      model.dataSpec.range,
    );
    const labels = tf.tensor1d(Int32Array.from(dataset.labels.subarray(start, start + n)), "int32");
    try {
      const nll = await model.nll({ x, labels });
      for (const v of nll) {
        sum += v;
        sumSq += v * v;
      }
    } finally {
      tf.dispose([x, labels]);
    }
  }
  const mean = sum / count;
  const variance = Math.max(0, sumSq / count - mean * mean);
  return {
    images: count,
    nats: mean,
    natsStdErr: Math.sqrt(variance / count),
    bitsPerDim: bitsPerDim(mean, dims),
  };
}
