/**
 * "Classifier IS": the Inception-Score formula (Salimans et al. 2016) evaluated with genlab's
 * per-dataset classifier instead of Inception — never call it an Inception Score.
 *
 *   IS = exp( E_x KL(p(y|x) ‖ p(y)) ),  p(y) = mean of p(y|x) over the split,
 *
 * computed on `splits` consecutive, equal parts (default 10, part i = rows ⌊iN/s⌋..⌊(i+1)N/s⌋,
 * as in the original code), reported as mean ± population std over the parts. 0·log 0 = 0.
 * Its range is [1, number of classes]: uniform confident predictions give exactly K,
 * identical predictions give 1.
 */
import type * as tf from "@tensorflow/tfjs";
import type { FeatureBatch, FeatureExtractor } from "./feature_extractor.ts";
import { type ImageMetric, requireExtractor } from "./metric.ts";

export interface ISResult {
  mean: number;
  std: number;
  values: number[];
  splits: number;
}

/** exp(mean KL(p(y|x) ‖ p(y))) of one set of rows [start, end) of an n × k probability matrix. */
function scoreOfPart(probs: ArrayLike<number>, k: number, start: number, end: number): number {
  const py = new Float64Array(k);
  for (let i = start; i < end; i++) for (let c = 0; c < k; c++) py[c] += probs[i * k + c];
  const count = end - start;
  for (let c = 0; c < k; c++) py[c] /= count;
  let kl = 0;
  for (let i = start; i < end; i++) {
    for (let c = 0; c < k; c++) {
      const p = probs[i * k + c];
      if (p > 0) kl += p * (Math.log(p) - Math.log(py[c]));
    }
  }
  return Math.exp(kl / count);
}

/** Classifier IS of an n × k matrix of class probabilities (rows sum to 1). */
export function scoreFromProbabilities(
  probs: ArrayLike<number>,
  n: number,
  k: number,
  splits = 10,
): ISResult {
  if (probs.length !== n * k) {
    throw new Error(`classifier IS: ${probs.length} values for ${n}×${k}`);
  }
  if (n < splits) throw new Error(`classifier IS: ${n} samples cannot make ${splits} splits`);
  const values: number[] = [];
  for (let s = 0; s < splits; s++) {
    values.push(
      scoreOfPart(probs, k, Math.floor(s * n / splits), Math.floor((s + 1) * n / splits)),
    );
  }
  const mean = values.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / splits);
  return { mean, std, values, splits };
}

export interface ClassifierISOptions {
  splits?: number;
  extractor?: FeatureExtractor;
}

/** Classifier IS of the images seen so far. */
export class ClassifierIS implements ImageMetric<ISResult> {
  readonly name = "classifier_is";
  #chunks: Float32Array[] = [];
  #n = 0;
  #k = 0;

  constructor(readonly options: ClassifierISOptions = {}) {}

  async update(images: tf.Tensor4D): Promise<void> {
    this.updateFeatures(await requireExtractor(this.options.extractor, this.name).extract(images));
  }

  updateFeatures(batch: FeatureBatch): void {
    if (batch.probs === null) {
      throw new Error("classifier IS: the feature model has no class-probability output");
    }
    if (this.#k !== 0 && this.#k !== batch.classes) {
      throw new Error("classifier IS: class count changed");
    }
    this.#k = batch.classes;
    this.#chunks.push(batch.probs.slice());
    this.#n += batch.n;
  }

  result(): ISResult {
    const all = new Float32Array(this.#n * this.#k);
    let offset = 0;
    for (const c of this.#chunks) {
      all.set(c, offset);
      offset += c.length;
    }
    return scoreFromProbabilities(all, this.#n, this.#k, this.options.splits ?? 10);
  }

  reset(): void {
    this.#chunks = [];
    this.#n = 0;
    this.#k = 0;
  }
}
