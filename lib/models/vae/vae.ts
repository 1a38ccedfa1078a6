/**
 * VAE — Kingma & Welling, "Auto-Encoding Variational Bayes" (2014) — and its conditional form,
 * the CVAE — Sohn, Lee & Yan, "Learning Structured Output Representation using Deep Conditional
 * Generative Models" (2015) — with MLP encoder and decoder.
 *
 * Model: p(z) = N(0, I), p(x | z[, y]) a pixel likelihood (likelihoods.ts); inference network
 * q(z | x[, y]) = N(μ(x), diag σ²(x)). Training maximizes the ELBO (seed 002 §3, seed 004 1-1)
 *
 *   log p(x|y) ≥ E_q[log p(x | z, y)] − KL(q(z | x, y) ‖ p(z | y))            (AEVB eq. 3)
 *
 * with one reparameterized sample z = μ + σ ⊙ ε (eq. 10) and the closed-form Gaussian KL
 * −½ Σⱼ (1 + log σⱼ² − μⱼ² − σⱼ²) (appendix B). Options: a β weight on the KL (Higgins et al.
 * 2017) and a linear KL warm-up (Sønderby et al. 2016), both only in the training loss — the
 * reported ELBO is always the unweighted one.
 *
 * Test NLL: the IWAE bound (Burda et al. 2016, eq. 8) with k importance samples from q,
 * log p(x) ≥ log (1/k) Σᵢ p(x, zᵢ)/q(zᵢ|x), streamed in chunks so k = 5,000 fits in memory.
 *
 * Layout: config → model (encode, decode, ELBO, IWAE, sample, artifacts) → registry entries.
 */
import * as tf from "@tensorflow/tfjs";
import { LogMeanExpAccumulator } from "../../metrics/likelihood.ts";
import type { WeightOwner } from "../../nn/state.ts";
import { UserInputError } from "../../util/errors.ts";
import { Rng } from "../../util/rng.ts";
import { type ConfigOf, defineConfig, int, number, oneOf } from "../config.ts";
import type {
  ArtifactGrid,
  Batch,
  DataSpec,
  GenerativeModel,
  ModelEntry,
  SampleOptions,
} from "../types.ts";
import {
  diagonalNormalLogPdf,
  gaussianKlToStandard,
  klPerDimension,
  lerpLatents,
  reparameterize,
  slerpLatents,
  standardNormalLogPdf,
} from "./gaussian.ts";
import { LIKELIHOODS, type PixelLikelihood } from "./likelihoods.ts";
import { buildMlp, flatInput, gaussianEncode, withCondition } from "./networks.ts";

// ---------------------------------------------------------------------------------------------
// config

function vaeOptions(defaults: { latentDim: number }) {
  return {
    latentDim: int(defaults.latentDim, { min: 1, max: 1024 }, "dimension of z ~ N(0, I)"),
    hiddenUnits: int(
      500,
      { min: 1, max: 8192 },
      "units of each hidden layer (encoder and decoder)",
    ),
    hiddenLayers: int(2, { min: 1, max: 8 }, "hidden ReLU layers of the encoder and the decoder"),
    likelihood: oneOf(
      ["bernoulli", "logistic", "gaussian"],
      "bernoulli",
      "decoder p(x|z): bernoulli (binarized data), discretized logistic or dequantized gaussian (8-bit)",
    ),
    beta: number(1, { min: 0, max: 1000 }, "weight of the KL term in the training loss (β-VAE)"),
    klWarmupSteps: int(
      0,
      { min: 0, max: 10_000_000 },
      "KL weight rises linearly from 0 to beta over this many steps (0: no warm-up)",
    ),
    learningRate: number(1e-3, { gt: 0, max: 1 }, "Adam learning rate"),
    iwaeSamples: int(
      5000,
      { min: 1, max: 1_000_000 },
      "importance samples k of nll() (IWAE bound)",
    ),
    iwaeChunkRows: int(
      2_000,
      { min: 1, max: 1_000_000 },
      "decoder rows (samples × images) per IWAE pass: bounds memory, not the result",
    ),
  };
}

export const VAE_CONFIG = defineConfig("vae", vaeOptions({ latentDim: 50 }));
export type VaeConfig = ConfigOf<typeof VAE_CONFIG>;
export const VAE_DEFAULTS: VaeConfig = VAE_CONFIG.defaults;

/** A small z by default: with 16 dimensions z learns the digit's class as well as its style and the
 * decoder follows z, not y (class agreement 46.8 % on MNIST); with 4 it must take the class from y
 * (94.5 %; results/cvae-mnist has the sweep). */
export const CVAE_CONFIG = defineConfig("cvae", vaeOptions({ latentDim: 4 }));
export type CvaeConfig = VaeConfig;

// ---------------------------------------------------------------------------------------------
// model

export class Vae implements GenerativeModel {
  readonly name: string;
  readonly rng: Rng;
  readonly dataSpec: DataSpec;
  readonly likelihood: PixelLikelihood;
  /** q(z | x[, y]): [D (+ classes)] → 2·latentDim (μ, log σ²). Usable on its own. */
  readonly encoder: tf.Sequential;
  /** p(x | z[, y]): [latentDim (+ classes)] → D·paramsPerPixel. Usable on its own. */
  readonly decoder: tf.Sequential;
  /** Classes of the condition y (CVAE), 0 for the unconditional VAE. */
  readonly numClasses: number;
  readonly #optimizer: tf.AdamOptimizer;

  constructor(
    readonly config: VaeConfig,
    data: Omit<DataSpec, "range"> & { numClasses?: number },
    seed: number,
    options: { conditional?: boolean } = {},
  ) {
    this.name = options.conditional ? "cvae" : "vae";
    this.numClasses = options.conditional ? (data.numClasses ?? 0) : 0;
    if (options.conditional && this.numClasses < 2) {
      throw new UserInputError("cvae needs a labelled dataset (mnist or fashion-mnist)");
    }
    this.likelihood = LIKELIHOODS[config.likelihood];
    this.dataSpec = {
      range: this.likelihood.range,
      height: data.height,
      width: data.width,
      channels: data.channels,
    };
    this.rng = new Rng(seed);
    const pixels = data.height * data.width * data.channels;
    const { latentDim, hiddenUnits, hiddenLayers } = config;
    const initRng = this.rng.fork(); // seeded weights: same --seed, same network
    this.encoder = buildMlp({
      name: "encoder",
      inputDim: pixels + this.numClasses,
      outputUnits: 2 * latentDim,
      hiddenUnits,
      hiddenLayers,
      init: "he",
      rng: initRng,
    });
    this.decoder = buildMlp({
      name: "decoder",
      inputDim: latentDim + this.numClasses,
      outputUnits: pixels * this.likelihood.paramsPerPixel,
      hiddenUnits,
      hiddenLayers,
      init: "he",
      rng: initRng,
    });
    this.#optimizer = tf.train.adam(config.learningRate);
  }

  get pixels(): number {
    return this.dataSpec.height * this.dataSpec.width * this.dataSpec.channels;
  }

  /** One-hot y for the CVAE (undefined for the VAE). Throws when a CVAE gets no labels. */
  #condition(labels: tf.Tensor1D | number[] | undefined, n: number): tf.Tensor2D | undefined {
    if (this.numClasses === 0) return undefined;
    if (labels === undefined) {
      throw new UserInputError("cvae needs class labels (a labelled dataset, or sample labels)");
    }
    return tf.tidy(() => {
      const t = Array.isArray(labels) ? tf.tensor1d(labels, "int32") : labels.toInt();
      if (t.shape[0] !== n) throw new Error(`cvae: ${t.shape[0]} labels for ${n} images`);
      return tf.oneHot(t, this.numClasses).toFloat() as tf.Tensor2D;
    });
  }

  /** q(z | x[, y]) → (μ, log σ²), each [N, latentDim]. x in the model's data range. */
  encode(
    x: tf.Tensor4D,
    labels?: tf.Tensor1D | number[],
  ): { mean: tf.Tensor2D; logVar: tf.Tensor2D } {
    return tf.tidy(() => {
      const y = this.#condition(labels, x.shape[0]);
      return gaussianEncode(this.encoder, flatInput(x, y));
    });
  }

  /** p(x | z[, y]) parameters, [N, H, W, C·paramsPerPixel]. */
  decodeParams(z: tf.Tensor2D, labels?: tf.Tensor1D | number[]): tf.Tensor4D {
    return tf.tidy(() => {
      const y = this.#condition(labels, z.shape[0]);
      const { height, width, channels } = this.dataSpec;
      const out = this.decoder.apply(withCondition(z, y)) as tf.Tensor2D;
      return out.reshape([
        z.shape[0],
        height,
        width,
        channels * this.likelihood.paramsPerPixel,
      ]) as tf.Tensor4D;
    });
  }

  /** The decoder's mean image in [-1, 1] for latents z. */
  decode(z: tf.Tensor2D, labels?: tf.Tensor1D | number[]): tf.Tensor4D {
    return tf.tidy(() => this.likelihood.mean(this.decodeParams(z, labels)));
  }

  /** Per-example ELBO terms with one reparameterized sample: log p(x|z) and KL(q‖p), both [N]. */
  elboTerms(
    x: tf.Tensor4D,
    labels: tf.Tensor1D | undefined,
    seed: number,
  ): { logLikelihood: tf.Tensor1D; kl: tf.Tensor1D } {
    return tf.tidy(() => {
      const { mean, logVar } = this.encode(x, labels);
      const eps = tf.randomNormal(mean.shape, 0, 1, "float32", seed);
      const z = reparameterize(mean, logVar, eps) as tf.Tensor2D;
      return {
        logLikelihood: this.likelihood.logProb(x, this.decodeParams(z, labels)) as tf.Tensor1D,
        kl: gaussianKlToStandard(mean, logVar),
      };
    });
  }

  /** The KL weight at a step: β · min(1, step / warm-up). */
  klWeight(step: number): number {
    const { beta, klWarmupSteps } = this.config;
    return klWarmupSteps > 0 ? beta * Math.min(1, step / klWarmupSteps) : beta;
  }

  async trainStep(batch: Batch, step: number): Promise<Record<string, number>> {
    const x = this.likelihood.prepare(batch.x, this.rng.seed());
    const seed = this.rng.seed();
    const weight = this.klWeight(step);
    let terms: tf.Tensor[] = [];
    const loss = tf.tidy(() =>
      this.#optimizer.minimize(() => {
        const { logLikelihood, kl } = this.elboTerms(x, batch.labels, seed);
        terms = [tf.keep(logLikelihood.mean().neg()), tf.keep(kl.mean())];
        return logLikelihood.neg().add(kl.mul(weight)).mean() as tf.Scalar;
      }, true)!
    );
    x.dispose();
    const [lossValue] = await loss.data();
    const [recon] = await terms[0].data();
    const [kl] = await terms[1].data();
    tf.dispose([loss, ...terms]);
    // neg_elbo is the unweighted −ELBO in nats per image: an upper bound on −log p(x).
    return { loss: lossValue, neg_elbo: recon + kl, recon, kl, kl_weight: weight };
  }

  /** Mean KL per latent dimension over a batch ([latentDim]): which dimensions are in use. */
  async klPerDimension(batch: Batch): Promise<Float32Array> {
    const { mean, logVar } = this.encode(batch.x, batch.labels);
    const perDim = tf.tidy(() => klPerDimension(mean, logVar).mean(0));
    const values = (await perDim.data()) as Float32Array;
    tf.dispose([mean, logVar, perDim]);
    return values;
  }

  /**
   * −log p(x) per image (nats) by the IWAE bound with k = importanceSamples (default
   * config.iwaeSamples) samples from q(z|x): log (1/k) Σᵢ p(x|zᵢ)p(zᵢ)/q(zᵢ|x). Chunks of
   * ≤ iwaeChunkRows decoder rows go through a streaming log-mean-exp, so k = 5,000 fits in memory.
   * k = 1 is the (single-sample) ELBO. Uses its own fixed RNG: repeated calls agree.
   */
  async nll(batch: Batch, options: { importanceSamples?: number } = {}): Promise<Float64Array> {
    const k = options.importanceSamples ?? this.config.iwaeSamples;
    const n = batch.x.shape[0];
    const rng = new Rng(0x1ae5);
    const x = this.likelihood.prepare(batch.x, rng.seed());
    const { mean, logVar } = this.encode(x, batch.labels);
    const y = this.numClasses ? Array.from(await batch.labels!.data()) : undefined;
    const accumulator = new LogMeanExpAccumulator(n);
    const perPass = Math.max(1, Math.floor(this.config.iwaeChunkRows / n));
    try {
      for (let done = 0; done < k;) {
        const s = Math.min(perPass, k - done);
        const logWeights = tf.tidy(() => {
          const eps = tf.randomNormal([s, n, this.config.latentDim], 0, 1, "float32", rng.seed());
          const z = reparameterize(mean, logVar, eps); // [s, n, d]
          const flat = z.reshape([s * n, this.config.latentDim]) as tf.Tensor2D;
          const labels = y ? Array.from({ length: s }, () => y).flat() : undefined;
          const params = this.decodeParams(flat, labels);
          // x [1, n, ...] broadcasts against params [s, n, ...]: no tiled copy of x.
          const logPx = this.likelihood.logProb(
            x.expandDims(0),
            params.reshape([s, n, ...params.shape.slice(1)]),
          );
          return logPx.add(standardNormalLogPdf(z)).sub(diagonalNormalLogPdf(z, mean, logVar));
        });
        const values = await logWeights.data();
        logWeights.dispose();
        for (let i = 0; i < s; i++) accumulator.add(values.subarray(i * n, (i + 1) * n));
        done += s;
      }
    } finally {
      tf.dispose([x, mean, logVar]);
    }
    const offset = this.likelihood.discreteOffset(this.pixels);
    return accumulator.result().map((logP) => offset - logP);
  }

  /** Class labels for n samples: the given ones, else 0, 1, …, C−1, 0, … (CVAE only). */
  #sampleLabels(n: number, labels?: number[]): number[] | undefined {
    if (this.numClasses === 0) return undefined;
    if (labels && labels.length !== n) {
      throw new UserInputError(`cvae: ${labels.length} labels for ${n} samples`);
    }
    return labels ?? Array.from({ length: n }, (_, i) => i % this.numClasses);
  }

  /** Decoder means of z ~ N(0, I) (means, not pixel samples: the usual VAE grid). */
  sample(n: number, options: SampleOptions = {}): Promise<tf.Tensor4D> {
    const labels = this.#sampleLabels(n, options.labels);
    return Promise.resolve(tf.tidy(() => {
      const z = tf.randomNormal(
        [n, this.config.latentDim],
        0,
        1,
        "float32",
        options.seed ?? this.rng.seed(),
      ) as tf.Tensor2D;
      return this.decode(z, labels);
    }));
  }

  /** Reconstructions beside originals, linear and spherical interpolations between encoded
   * images, and (CVAE) one row per class. */
  artifacts(batch: Batch, options: { seed: number }): Promise<Record<string, ArtifactGrid>> {
    const grids: Record<string, ArtifactGrid> = {};
    const pairs = Math.min(16, batch.x.shape[0]);
    grids.reconstructions = { images: this.reconstructionPairs(batch, pairs), columns: 8 };
    const steps = 10;
    const ends = Math.min(4, Math.floor(batch.x.shape[0] / 2));
    for (const kind of ["linear", "spherical"] as const) {
      grids[`interpolation-${kind}`] = {
        images: tf.tidy(() => {
          const { mean } = this.encode(batch.x, batch.labels);
          const labels = this.numClasses ? Array.from(batch.labels!.dataSync()) : undefined;
          const rows: tf.Tensor4D[] = [];
          for (let i = 0; i < ends; i++) {
            const a = mean.slice([2 * i, 0], [1, -1]).as1D();
            const b = mean.slice([2 * i + 1, 0], [1, -1]).as1D();
            const path = kind === "linear" ? lerpLatents(a, b, steps) : slerpLatents(a, b, steps);
            // CVAE: interpolate z under the first image's class.
            rows.push(this.decode(path, labels ? Array(steps).fill(labels[2 * i]) : undefined));
          }
          return tf.concat(rows, 0);
        }),
        columns: steps,
      };
    }
    if (this.numClasses) {
      const perClass = 10;
      const labels = Array.from(
        { length: this.numClasses * perClass },
        (_, i) => Math.floor(i / perClass),
      );
      grids["class-samples"] = {
        images: tf.tidy(() => {
          // The same z in every row: only y changes down a column (style vs class).
          const z = tf.randomNormal(
            [perClass, this.config.latentDim],
            0,
            1,
            "float32",
            options.seed,
          );
          return this.decode(tf.tile(z, [this.numClasses, 1]) as tf.Tensor2D, labels);
        }),
        columns: perClass,
      };
    }
    return Promise.resolve(grids);
  }

  /** [original₀, reconstruction₀, original₁, …] in [-1, 1] (reconstruction = decoder mean at μ). */
  reconstructionPairs(batch: Batch, n: number): tf.Tensor4D {
    return tf.tidy(() => {
      const x = batch.x.slice(0, n);
      const labels = batch.labels?.slice(0, n);
      const recon = this.decode(this.encode(x, labels).mean, labels);
      const original = this.dataSpec.range === "[-1,1]" ? x : x.mul(2).sub(1);
      return tf.stack([original, recon], 1).reshape([2 * n, ...x.shape.slice(1)]) as tf.Tensor4D;
    });
  }

  weightGroups(): Record<string, WeightOwner> {
    return { encoder: this.encoder, decoder: this.decoder };
  }

  optimizers(): Record<string, tf.Optimizer> {
    return { adam: this.#optimizer };
  }

  dispose(): void {
    this.encoder.dispose();
    this.decoder.dispose();
    this.#optimizer.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// registry entries

export const vaeEntry: ModelEntry<VaeConfig> = {
  name: "vae",
  description: "VAE (Kingma & Welling 2014), MLP encoder/decoder, ELBO with closed-form KL, " +
    "β and KL warm-up, IWAE test NLL (Burda et al. 2016)",
  config: VAE_CONFIG,
  quick: { latentDim: 8, hiddenUnits: 64, hiddenLayers: 1, iwaeSamples: 50, steps: 20, batch: 32 },
  defaultDataset: "mnist",
  create: (config, data, seed) => new Vae(config, data, seed),
};

export const cvaeEntry: ModelEntry<CvaeConfig> = {
  name: "cvae",
  description: "conditional VAE (Sohn et al. 2015): q(z|x,y), p(x|z,y), prior N(0, I)",
  config: CVAE_CONFIG,
  quick: { latentDim: 4, hiddenUnits: 64, hiddenLayers: 1, iwaeSamples: 50, steps: 20, batch: 32 },
  defaultDataset: "mnist",
  create: (config, data, seed) => new Vae(config, data, seed, { conditional: true }),
};
