/**
 * Sample-quality evaluation against a dataset's test split, in the feature space of genlab's
 * per-dataset classifier (or a user-supplied tfjs model): classifier FID, classifier KID,
 * classifier IS, precision and recall — from one forward pass per image.
 *
 *   const scores = await evaluateSamples({ sample: (n) => model.sample(n), n: 10000,
 *     dataset: "fashion-mnist" });
 *
 * `evaluateDatasetFloor` runs the same code with real training images in place of samples:
 * the score a perfect generator would get at the same n (FID/KID are biased at finite n).
 */
import * as tf from "@tensorflow/tfjs";
import { loadImageDataset } from "../data/mod.ts";
import type { ImageDataset } from "../data/dataset.ts";
import { scalePixels } from "../data/transforms.ts";
import { Rng } from "../util/rng.ts";
import { type ISResult, scoreFromProbabilities } from "./classifier_is.ts";
import {
  type FeatureBatch,
  type FeatureExtractor,
  loadFeatureExtractor,
} from "./feature_extractor.ts";
import { frechetDistance, GaussianStats } from "./fid.ts";
import { kernelDistance, type KIDOptions, type KIDResult } from "./kid.ts";
import { FeatureBank, type FeatureMatrix, type ImageMetric } from "./metric.ts";
import { knnRadii2, precisionRecall, type PRResult } from "./precision_recall.ts";

/** The scores, labelled "classifier …" because the features are not Inception's. */
export interface ClassifierScores {
  classifier_fid: number;
  classifier_kid_mean: number;
  classifier_kid_std: number;
  /** null when the feature model has no class-probability output. */
  classifier_is_mean: number | null;
  classifier_is_std: number | null;
  precision: number;
  recall: number;
  /** Density and coverage (Naeem et al. 2020) from the same k-NN balls. */
  density: number;
  coverage: number;
}

export interface SampleEvaluation extends ClassifierScores {
  /** Number of evaluated samples. */
  n: number;
  /** Number of real images they are compared with. */
  n_reference: number;
  reference: string;
  samples: string;
  dataset: string;
  feature_model: string;
  feature_dim: number;
  kid_subsets: number;
  kid_subset_size: number;
  is_splits: number;
  pr_k: number;
  seconds: number;
}

export interface ClassifierMetricsOptions {
  extractor: FeatureExtractor;
  /** Features (+ probabilities) of the real reference set. */
  reference: FeatureBatch;
  kid?: KIDOptions;
  /** Neighbourhood size for precision/recall (default 3). */
  k?: number;
  /** Splits of the classifier IS (default 10). */
  isSplits?: number;
}

/** All scores at once: features are extracted once per batch and shared by every score. */
export class ClassifierMetrics implements ImageMetric<ClassifierScores> {
  readonly name = "classifier_metrics";
  readonly #reference: FeatureMatrix;
  readonly #referenceStats: GaussianStats;
  readonly #bank: FeatureBank;
  #probs: Float32Array[] = [];
  #realRadii2: Float64Array | null = null;

  constructor(readonly options: ClassifierMetricsOptions) {
    const ref = options.reference;
    this.#reference = { n: ref.n, dim: ref.dim, data: ref.features };
    this.#referenceStats = GaussianStats.fromRows(ref.features, ref.n, ref.dim);
    this.#bank = new FeatureBank(ref.dim);
  }

  get count(): number {
    return this.#bank.n;
  }

  async update(images: tf.Tensor4D): Promise<void> {
    this.updateFeatures(await this.options.extractor.extract(images));
  }

  updateFeatures(batch: FeatureBatch): void {
    this.#bank.append(batch.features, batch.n);
    if (batch.probs !== null) this.#probs.push(batch.probs.slice());
  }

  async result(): Promise<ClassifierScores> {
    return (await this.resultDetails()).scores;
  }

  /** The scores plus the per-subset KID values, per-split IS values and the settings used. */
  async resultDetails(): Promise<
    { scores: ClassifierScores; kid: KIDResult; is: ISResult | null; pr: PRResult }
  > {
    const fake = this.#bank.matrix();
    const k = this.options.k ?? 3;
    const fid = frechetDistance(
      GaussianStats.fromRows(fake.data, fake.n, fake.dim).moments(),
      this.#referenceStats.moments(),
    );
    const kid = await kernelDistance(fake, this.#reference, this.options.kid);
    this.#realRadii2 ??= await knnRadii2(this.#reference, k);
    const pr = await precisionRecall(this.#reference, fake, k, this.#realRadii2);
    let is: ISResult | null = null;
    const classes = this.options.extractor.numClasses;
    if (classes !== null && this.#probs.length > 0) {
      const all = new Float32Array(fake.n * classes);
      let offset = 0;
      for (const p of this.#probs) {
        all.set(p, offset);
        offset += p.length;
      }
      is = scoreFromProbabilities(all, fake.n, classes, this.options.isSplits ?? 10);
    }
    const scores: ClassifierScores = {
      classifier_fid: fid,
      classifier_kid_mean: kid.mean,
      classifier_kid_std: kid.std,
      classifier_is_mean: is?.mean ?? null,
      classifier_is_std: is?.std ?? null,
      precision: pr.precision,
      recall: pr.recall,
      density: pr.density,
      coverage: pr.coverage,
    };
    return { scores, kid, is, pr };
  }

  reset(): void {
    this.#bank.clear();
    this.#probs = [];
  }
}

/** Features of every image of a uint8 dataset (scaled to [-1, 1]), batch by batch. */
export async function datasetFeatures(
  extractor: FeatureExtractor,
  dataset: ImageDataset,
  rows?: ArrayLike<number>,
): Promise<FeatureBatch> {
  const { height: H, width: W, channels: C } = dataset;
  const pixels = H * W * C;
  const n = rows?.length ?? dataset.count;
  const dim = extractor.featureDim;
  const k = extractor.numClasses ?? 0;
  const features = new Float32Array(n * dim);
  const probs = extractor.numClasses === null ? null : new Float32Array(n * k);
  const bs = extractor.batchSize;
  for (let start = 0; start < n; start += bs) {
    const size = Math.min(bs, n - start);
    const bytes = new Uint8Array(size * pixels);
    for (let i = 0; i < size; i++) {
      const row = rows ? rows[start + i] : start + i;
      bytes.set(dataset.images.subarray(row * pixels, (row + 1) * pixels), i * pixels);
    }
    const x = scalePixels(bytes, [size, H, W, C], "[-1,1]");
    let out: FeatureBatch;
    try {
      out = await extractor.extract(x);
    } finally {
      x.dispose();
    }
    features.set(out.features, start * dim);
    if (probs && out.probs) probs.set(out.probs, start * k);
  }
  return { n, dim, features, classes: k, probs };
}

// Reference features per extractor and dataset split, computed once per process.
const referenceCache = new WeakMap<FeatureExtractor, Map<string, FeatureBatch>>();

/** Features of a whole dataset split (memoized per extractor). */
export async function referenceFeatures(
  extractor: FeatureExtractor,
  dataset: string,
  split: "train" | "test" = "test",
): Promise<FeatureBatch> {
  let perExtractor = referenceCache.get(extractor);
  if (!perExtractor) {
    perExtractor = new Map();
    referenceCache.set(extractor, perExtractor);
  }
  const key = `${dataset}/${split}`;
  const cached = perExtractor.get(key);
  if (cached) return cached;
  const data = await loadImageDataset(dataset, split);
  const features = await datasetFeatures(extractor, data);
  perExtractor.set(key, features);
  return features;
}

// Extractors loaded by evaluateSamples, one per model file, kept for the process's lifetime.
const extractorCache = new Map<string, Promise<FeatureExtractor>>();

function cachedExtractor(dataset: string, featureModelPath?: string): Promise<FeatureExtractor> {
  const key = featureModelPath ?? `dataset:${dataset}`;
  let extractor = extractorCache.get(key);
  if (!extractor) {
    extractor = loadFeatureExtractor(
      featureModelPath === undefined ? { dataset } : { path: featureModelPath },
    );
    extractorCache.set(key, extractor);
    extractor.catch(() => extractorCache.delete(key));
  }
  return extractor;
}

/** Dispose the feature extractors evaluateSamples loaded and cached (their weights stay in
 * memory otherwise, on purpose: repeated evaluations reuse them). */
export async function clearEvaluationCache(): Promise<void> {
  const pending = [...extractorCache.values()];
  extractorCache.clear();
  for (const p of pending) {
    try {
      (await p).dispose();
    } catch {
      // failed loads have nothing to dispose
    }
  }
}

export interface EvaluateSamplesOptions {
  /** n images NHWC in [-1, 1] (values outside are clipped, as when saving a PNG), in random
   * order: the classifier IS splits the sequence into consecutive parts, so class-sorted
   * samples (e.g. a conditional model sampling labels 0,0,…,9,9) must be shuffled first. */
  sample: (n: number) => tf.Tensor4D | Promise<tf.Tensor4D>;
  /** How many samples to evaluate (e.g. 10,000; KID and precision/recall use all of them). */
  n: number;
  /** Reference dataset: its test split is the real set. */
  dataset: string;
  /** Images requested from `sample` per call (default 250). */
  batchSize?: number;
  /** A tfjs model.json to use instead of the committed classifier of `dataset`. */
  featureModelPath?: string;
  /** An already loaded extractor (wins over featureModelPath). */
  extractor?: FeatureExtractor;
  kid?: KIDOptions;
  /** precision/recall neighbourhood size (default 3). */
  k?: number;
  isSplits?: number;
  /** Called after each batch with (samples done, n). */
  onProgress?: (done: number, total: number) => void;
  /** Label of the evaluated samples in the result (default "generated"). */
  samplesLabel?: string;
}

/** Classifier FID/KID/IS and precision/recall of generated samples vs the dataset's test split. */
export async function evaluateSamples(options: EvaluateSamplesOptions): Promise<SampleEvaluation> {
  const start = performance.now();
  const { n, dataset } = options;
  if (!Number.isInteger(n) || n < 10) {
    throw new Error(`evaluateSamples: n must be an integer ≥ 10, got ${n}`);
  }
  const batchSize = options.batchSize ?? 250;
  const extractor = options.extractor ?? await cachedExtractor(dataset, options.featureModelPath);
  const reference = await referenceFeatures(extractor, dataset, "test");
  const metrics = new ClassifierMetrics({
    extractor,
    reference,
    kid: options.kid,
    k: options.k,
    isSplits: options.isSplits,
  });
  while (metrics.count < n) {
    const want = Math.min(batchSize, n - metrics.count);
    const images = await options.sample(want);
    try {
      if (images.rank !== 4 || images.shape[0] < want) {
        throw new Error(
          `evaluateSamples: sample(${want}) returned shape [${images.shape}], expected [${want}, H, W, C]`,
        );
      }
      const batch = tf.tidy(() =>
        images.slice([0, 0, 0, 0], [want, -1, -1, -1]).clipByValue(-1, 1) as tf.Tensor4D
      );
      try {
        await metrics.update(batch);
      } finally {
        batch.dispose();
      }
    } finally {
      images.dispose();
    }
    options.onProgress?.(metrics.count, n);
  }
  const { scores, kid, is, pr } = await metrics.resultDetails();
  return {
    ...scores,
    n,
    n_reference: reference.n,
    reference: `${dataset} test split`,
    samples: options.samplesLabel ?? "generated",
    dataset,
    feature_model: extractor.name,
    feature_dim: extractor.featureDim,
    kid_subsets: kid.subsets,
    kid_subset_size: kid.subsetSize,
    is_splits: is?.splits ?? 0,
    pr_k: pr.k,
    seconds: (performance.now() - start) / 1000,
  };
}

export interface FloorOptions
  extends Omit<EvaluateSamplesOptions, "sample" | "n" | "samplesLabel"> {
  /** Training images to use (default: as many as the test split has, capped by the train split). */
  n?: number;
  /** Seed of the random choice of training images (default 0). */
  seed?: number;
}

/** The "floor": the same scores for real training images (a seeded random subset of the train
 * split) against the test split — what a perfect generator would score at this n. */
export async function evaluateDatasetFloor(options: FloorOptions): Promise<SampleEvaluation> {
  const [train, test] = await Promise.all([
    loadImageDataset(options.dataset, "train"),
    loadImageDataset(options.dataset, "test"),
  ]);
  const n = Math.min(options.n ?? test.count, train.count);
  const order = new Rng(options.seed ?? 0).permutation(train.count);
  const { height: H, width: W, channels: C } = train;
  const pixels = H * W * C;
  let cursor = 0;
  const sample = (m: number): tf.Tensor4D => {
    const bytes = new Uint8Array(m * pixels);
    for (let i = 0; i < m; i++) {
      const row = order[cursor++];
      bytes.set(train.images.subarray(row * pixels, (row + 1) * pixels), i * pixels);
    }
    return scalePixels(bytes, [m, H, W, C], "[-1,1]");
  };
  return evaluateSamples({
    ...options,
    sample,
    n,
    samplesLabel: `${options.dataset} train split (${n} random images, seed ${options.seed ?? 0})`,
  });
}
