/**
 * Self-conditioned GAN — Liu, Wang, Zhu, Torralba et al., "Diverse Image Generation via
 * Self-Conditioned GANs" (CVPR 2020): a class-conditional GAN whose "classes" are clusters of the
 * training data, found without labels. Their sec. 3: partition the data with k-means, train a
 * cGAN (G(z, k), D(x, k)) on the cluster ids, and sample k from the clusters' empirical
 * frequencies, so every mode gets its share of G and of D's attention.
 *
 * Simplification (stated, not hidden): the paper clusters D's features and re-clusters during
 * training; here the clusters are k-means on the **pixels**, computed once before step 1 (on
 * MNIST pixel clusters are already ≈ 70 % digit-pure at K = 20 — purity only describes them,
 * labels are never read). Nothing else changes: G, D, losses and optimiser are the cGAN's
 * (lib/models/gan/conditional.ts) on DCGAN's networks.
 *
 * Why it helps: an unconditional G must stretch one continuous z over ten separated clusters
 * (in-between digits, uneven classes); a cluster-conditional G gets a discrete mode index and D
 * judges "a real member of cluster k".
 *
 * Layout: config → model → registry entry.
 */
import * as tf from "@tensorflow/tfjs";
import type { ImageDataset } from "../../data/dataset.ts";
import { kmeans, nearestCentroid } from "../../data/kmeans.ts";
import { scalePixels } from "../../data/transforms.ts";
import type { WeightOwner } from "../../nn/state.ts";
import { Rng } from "../../util/rng.ts";
import type {
  ArtifactGrid,
  Batch,
  DataSpec,
  EmaSpec,
  GenerativeModel,
  ModelEntry,
  SampleOptions,
} from "../types.ts";
import { type ConfigOf, defineConfig, int } from "../config.ts";
import { CONDITIONAL_GAN_OPTIONS, ConditionalGan, sidesDivisibleBy4 } from "./conditional.ts";

// ---------------------------------------------------------------------------------------------
// config

export const SCGAN_CONFIG = defineConfig("scgan", {
  ...CONDITIONAL_GAN_OPTIONS,
  clusters: int(20, { min: 2, max: 1000 }, "K of the k-means partition of the training images"),
  clusterIterations: int(50, { min: 1, max: 10_000 }, "upper bound on Lloyd iterations"),
}, { dataRules: [sidesDivisibleBy4("images (no labels)")] });
export type ScganConfig = ConfigOf<typeof SCGAN_CONFIG>;

// ---------------------------------------------------------------------------------------------
// model

export class SelfConditionedGan implements GenerativeModel {
  readonly name = "scgan";
  /** The cGAN on cluster ids: G(z ⊕ one-hot(k)), D(x ⊕ cluster maps). */
  readonly gan: ConditionalGan;
  /** [K, H·W·C] cluster means in the model's pixel range (checkpointed with the weights). */
  readonly centroids: tf.Variable<tf.Rank.R2>;
  /** [K] fraction of the training images in each cluster: the prior p(k) for sampling. */
  readonly clusterPrior: tf.Variable<tf.Rank.R1>;
  readonly ema?: () => EmaSpec;
  #clustered = false;

  constructor(
    readonly config: ScganConfig,
    readonly dataSpec: DataSpec,
    seed: number,
  ) {
    this.gan = new ConditionalGan("cgan", config, dataSpec, config.clusters, seed);
    const pixels = dataSpec.height * dataSpec.width * dataSpec.channels;
    // (tidy frees the initial values; variables outlive it)
    this.centroids = tf.tidy(() =>
      tf.variable(tf.zeros<tf.Rank.R2>([config.clusters, pixels]), false)
    );
    this.clusterPrior = tf.tidy(() =>
      tf.variable(tf.fill<tf.Rank.R1>([config.clusters], 1 / config.clusters), false)
    );
    this.ema = this.gan.ema;
  }

  get rng(): Rng {
    return this.gan.rng;
  }

  /** Before step 1 of a fresh run: k-means++ seeding (from the model's seed) + Lloyd iterations
   * on all training images. Resumed and loaded runs get the centroids from the checkpoint. */
  async fit(train: ImageDataset): Promise<void> {
    const { height, width, channels, range } = this.dataSpec;
    const points = tf.tidy(() =>
      scalePixels(train.images, [train.count, height, width, channels], range)
        .reshape([train.count, height * width * channels]) as tf.Tensor2D
    );
    const result = await kmeans(points, this.config.clusters, {
      seed: this.rng.seed(),
      maxIterations: this.config.clusterIterations,
    });
    points.dispose();
    this.centroids.assign(result.centroids);
    result.centroids.dispose();
    tf.tidy(() =>
      this.clusterPrior.assign(tf.div(tf.tensor1d(result.counts, "float32"), train.count))
    );
    this.#clustered = true;
  }

  /** The batch's cluster ids [N] (nearest centroid); the data's own labels are never read. */
  clusterIds(x: tf.Tensor4D): tf.Tensor1D {
    return tf.tidy(() => nearestCentroid(x.reshape([x.shape[0], -1]), this.centroids));
  }

  async trainStep(batch: Batch, step: number): Promise<Record<string, number>> {
    if (!this.#clustered) {
      // Not fitted in this process: fine after a restore (the checkpoint holds the centroids),
      // a bug if they are still the zeros of the constructor. Checked once.
      const mass = tf.tidy(() => tf.sum(tf.abs(this.centroids)));
      const restored = (await mass.data())[0] > 0;
      mass.dispose();
      if (!restored) throw new Error("scgan: fit(train) must run before the first step");
      this.#clustered = true;
    }
    const labels = this.clusterIds(batch.x);
    try {
      return await this.gan.trainStep({ x: batch.x, labels }, step);
    } finally {
      labels.dispose();
    }
  }

  /** Cluster ids k ~ p(k), the training frequencies (seeded by options.seed when given). */
  async drawClusters(n: number, seed?: number): Promise<number[]> {
    const rng = seed === undefined ? this.rng : new Rng(seed);
    const prior = await this.clusterPrior.data();
    return Array.from({ length: n }, () => {
      let u = rng.uniform();
      for (let k = 0; k < prior.length - 1; k++) if ((u -= prior[k]) < 0) return k;
      return prior.length - 1;
    });
  }

  /** n images; `labels` are cluster ids (default: drawn from p(k), as eval wants). */
  async sample(n: number, options: SampleOptions = {}): Promise<tf.Tensor4D> {
    const labels = options.labels ?? await this.drawClusters(n, options.seed);
    return this.gan.sample(n, { ...options, labels });
  }

  /** Beside the grid: the K centroids, and ten fresh samples per cluster (row k = cluster k). */
  async artifacts(_batch: Batch, options: { seed: number }): Promise<Record<string, ArtifactGrid>> {
    const { height, width, channels } = this.dataSpec;
    const K = this.config.clusters;
    const byCluster = Array.from({ length: 10 * K }, (_, i) => Math.floor(i / 10));
    return {
      "cluster-centroids": {
        images: tf.tidy(() => this.centroids.reshape([K, height, width, channels]) as tf.Tensor4D),
        columns: 10,
      },
      "samples-by-cluster": {
        images: await this.gan.sample(10 * K, { labels: byCluster, seed: options.seed }),
        columns: 10,
      },
    };
  }

  weightGroups(): Record<string, WeightOwner> {
    return { ...this.gan.weightGroups(), clusters: [this.centroids, this.clusterPrior] };
  }

  optimizers(): Record<string, tf.Optimizer> {
    return this.gan.optimizers();
  }

  dispose(): void {
    this.gan.dispose();
    this.centroids.dispose();
    this.clusterPrior.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// registry entry

export const scganEntry: ModelEntry<ScganConfig> = {
  name: "scgan",
  description:
    "self-conditioned GAN (Liu et al. 2020): a cGAN on k-means clusters of the training images; no labels",
  config: SCGAN_CONFIG,
  quick: { generatorFilters: 16, discriminatorFilters: 16, clusters: 4, steps: 20, batch: 16 },
  defaultDataset: "mnist",
  create: (config, data, seed) => new SelfConditionedGan(config, data, seed),
};
