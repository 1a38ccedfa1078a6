/**
 * VQ-VAE — van den Oord, Vinyals & Kavukcuoglu, "Neural Discrete Representation Learning" (2017).
 *
 * The encoder maps x to a grid z_e(x) ∈ R^{h×w×D}; each vector is replaced by its nearest of K
 * codebook vectors e_k (eq. 1–2: k = argminⱼ ‖z_e − eⱼ‖₂, z_q = e_k) and the decoder
 * reconstructs x from z_q. argmin has no gradient, so the decoder's gradient is copied to the
 * encoder unchanged — the straight-through estimator, z_q ← z_e + sg[z_q − z_e], whose forward
 * value is z_q and whose gradient w.r.t. z_e is the gradient w.r.t. z_q. The loss (eq. 3) is
 *
 *   L = ‖x − x̂‖² + ‖sg[z_e] − e‖² + β‖z_e − sg[e]‖²,    β = 0.25
 *
 * (reconstruction, codebook, commitment; means over elements). Options from the paper and its
 * follow-ups: the codebook learned by exponential moving averages instead of its loss term
 * (appendix A.1: N_k ← γN_k + (1−γ)n_k, m_k ← γm_k + (1−γ)Σ z_e, e_k = m_k/N_k), and restarting
 * dead codes (never chosen) at random encoder outputs of the current batch (Dhariwal et al. 2020,
 * Jukebox §2.3 / Williams et al. 2020). Codebook perplexity exp(−Σ p_k log p_k) measures usage
 * (K when all codes are used equally, 1 when one code takes everything).
 *
 * The prior over the code grid is trained afterwards (§3.2: two stages): `sample()` asks a
 * `CodePrior` for an int32 [n, h, w] grid of codes and decodes it. With `prior: "pixelcnn"` the
 * run has two stages in ONE trainer run: steps 1 … autoencoderSteps train the autoencoder, the
 * later steps freeze it and fit a Gated PixelCNN over its code grids (`createGridPixelCnn`, K-way
 * categorical, one-hot input; §3.3 of the paper uses a PixelCNN over the latents) by maximum
 * likelihood on `encodeToCodes(batch)`, with its own Adam — both in the checkpoint, so resume is
 * exact. `sample()` then draws code grids from that prior. Without it (or before its first step)
 * each position is drawn independently from the codebook usage: the baseline, no spatial
 * structure (textures rather than garments). Any other prior plugs in with `setCodePrior()`.
 */
import * as tf from "@tensorflow/tfjs";
import { adam, type FusedAdam } from "../../nn/optimizers.ts";
import type { WeightOwner } from "../../nn/state.ts";
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
import type { DiscreteAutoregressive } from "../autoregressive/discrete.ts";
import { createGridPixelCnn } from "../autoregressive/gated_pixelcnn.ts";
import { buildConvDecoder, buildConvEncoder } from "./networks.ts";

// ---------------------------------------------------------------------------------------------
// config

export const VQVAE_CONFIG = defineConfig("vqvae", {
  numCodes: int(64, { min: 2, max: 8192 }, "codebook size K"),
  codeDim: int(16, { min: 1, max: 1024 }, "dimension D of each code vector"),
  filters: int(32, { min: 1, max: 1024 }, "channels of the first conv layer (doubled once)"),
  beta: number(0.25, { min: 0, max: 100 }, "commitment weight β (paper: 0.25)"),
  codebook: oneOf(
    ["loss", "ema"],
    "loss",
    "codebook update: its loss term ‖sg[z_e] − e‖², or exponential moving averages (appendix A.1)",
  ),
  emaDecay: number(0.99, { min: 0, lt: 1 }, "γ of the EMA codebook"),
  deadCodeRestart: oneOf(
    ["restart", "none"],
    "restart",
    "re-initialize codes whose usage fell below deadCodeFraction/K at random encoder outputs",
  ),
  deadCodeFraction: number(0.03, { min: 0, max: 1 }, "a code is dead when its usage < this / K"),
  restartEvery: int(100, { min: 1, max: 1_000_000 }, "steps between dead-code checks"),
  learningRate: number(1e-3, { gt: 0, max: 1 }, "Adam learning rate"),
  prior: oneOf(
    ["independent", "pixelcnn"],
    "independent",
    "prior over code grids for sample(): codes drawn independently by usage, or a Gated " +
      "PixelCNN trained on the code grids after autoencoderSteps (two stages, one run)",
  ),
  autoencoderSteps: int(
    1000,
    { min: 1, max: 10_000_000 },
    "prior = pixelcnn: steps 1…this train the autoencoder; later steps freeze it and train " +
      "the prior (so --steps = autoencoderSteps + prior steps)",
  ),
  priorFilters: int(64, { min: 2, max: 512 }, "channels of the PixelCNN prior's stacks"),
  priorLayers: int(6, { min: 1, max: 30 }, "gated layers of the PixelCNN prior"),
  priorLearningRate: number(1e-3, { gt: 0, max: 1 }, "Adam learning rate of the prior"),
}, {
  dataRules: [
    (_c, data) =>
      data.height % 4 === 0 && data.width % 4 === 0
        ? undefined
        : `needs image sides divisible by 4 (two stride-2 convs), got ${data.height}×${data.width}`,
  ],
});
export type VqvaeConfig = ConfigOf<typeof VQVAE_CONFIG>;
export const VQVAE_DEFAULTS: VqvaeConfig = VQVAE_CONFIG.defaults;

// ---------------------------------------------------------------------------------------------
// the prior hook

/** A prior over code grids: int32 codes in [0, K), shape [n, h, w]. The caller disposes. */
export interface CodePrior {
  sample(
    n: number,
    grid: { height: number; width: number },
    seed: number,
    onProgress?: (done: number, total: number) => void,
  ): Promise<tf.Tensor3D>;
}

/** Each position independently from a categorical over codes (e.g. the codebook usage): the
 * baseline prior, no spatial structure. */
export class IndependentCodePrior implements CodePrior {
  constructor(readonly probabilities: Float32Array) {}

  sample(n: number, grid: { height: number; width: number }, seed: number): Promise<tf.Tensor3D> {
    return Promise.resolve(tf.tidy(() => {
      const logits = tf.log(tf.tensor1d(this.probabilities).add(1e-12)).reshape([1, -1]);
      const draws = tf.multinomial(
        logits.tile([n * grid.height * grid.width, 1]) as tf.Tensor2D,
        1,
        seed,
        false,
      );
      return draws.reshape([n, grid.height, grid.width]).toInt() as tf.Tensor3D;
    }));
  }
}

/** An autoregressive prior over code grids (a PixelCNN from `createGridPixelCnn`): codes in
 * raster order, each from p(k_i | k_<i) — one network pass per grid position. */
export class AutoregressiveCodePrior implements CodePrior {
  constructor(readonly model: DiscreteAutoregressive) {}

  async sample(
    n: number,
    grid: { height: number; width: number },
    seed: number,
    onProgress?: (done: number, total: number) => void,
  ): Promise<tf.Tensor3D> {
    if (grid.height !== this.model.height || grid.width !== this.model.width) {
      throw new Error(
        `code prior is ${this.model.height}×${this.model.width}, asked for ${grid.height}×${grid.width}`,
      );
    }
    const codes = await this.model.sample(n, new Rng(seed), { onProgress });
    return tf.tensor3d(codes, [n, grid.height, grid.width], "int32");
  }
}

// ---------------------------------------------------------------------------------------------
// quantization (pure functions; tested on their own)

/** Nearest codebook row for each row of `flat` ([M, D] against codebook [K, D]) → int32 [M]:
 * argmin ‖z − e‖² = ‖z‖² − 2 z·e + ‖e‖². */
export function nearestCodes(flat: tf.Tensor2D, codebook: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const distances = flat.square().sum(1, true)
      .sub(flat.matMul(codebook, false, true).mul(2))
      .add(codebook.square().sum(1).reshape([1, -1]));
    return distances.argMin(1).toInt() as tf.Tensor1D;
  });
}

/** Identity forward, zero gradient: sg[·] of the paper. */
export const stopGradient: (x: tf.Tensor) => tf.Tensor = tf.customGrad(
  // deno-lint-ignore no-explicit-any
  (x: any) => ({ value: (x as tf.Tensor).clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) }),
) as unknown as (x: tf.Tensor) => tf.Tensor;

/** Straight-through: forward value z_q, gradient w.r.t. z_e = the gradient w.r.t. z_q. */
export function straightThrough(ze: tf.Tensor, zq: tf.Tensor): tf.Tensor {
  return tf.tidy(() => ze.add(stopGradient(zq.sub(ze))));
}

/** Perplexity exp(−Σ p log p) of code counts. */
export function codePerplexity(counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  let entropy = 0;
  for (let i = 0; i < counts.length; i++) {
    const p = counts[i] / total;
    if (p > 0) entropy -= p * Math.log(p);
  }
  return Math.exp(entropy);
}

// ---------------------------------------------------------------------------------------------
// model

export class Vqvae implements GenerativeModel {
  readonly name = "vqvae";
  readonly rng: Rng;
  readonly dataSpec: DataSpec;
  /** x → z_e grid [h, w, D]. Usable on its own. */
  readonly encoder: tf.Sequential;
  /** z_q grid → x (linear output on [-1,1]). Usable on its own. */
  readonly decoder: tf.Sequential;
  /** The K code vectors e_k, [K, D]. */
  readonly codebook: tf.Variable<tf.Rank.R2>;
  /** Running usage of each code (EMA of the fraction of grid positions choosing it). */
  readonly usage: tf.Variable<tf.Rank.R1>;
  /** EMA codebook state: cluster sizes N_k and sums m_k (appendix A.1). */
  readonly emaCount: tf.Variable<tf.Rank.R1>;
  readonly emaSum: tf.Variable<tf.Rank.R2>;
  readonly grid: { height: number; width: number };
  /** The PixelCNN over code grids (prior = pixelcnn), trained after autoencoderSteps. */
  readonly prior: DiscreteAutoregressive | null = null;
  #customPrior: CodePrior | null = null;
  readonly #optimizer: tf.AdamOptimizer;
  readonly #priorOptimizer: FusedAdam | null = null;

  constructor(readonly config: VqvaeConfig, data: Omit<DataSpec, "range">, seed: number) {
    this.dataSpec = {
      range: "[-1,1]",
      height: data.height,
      width: data.width,
      channels: data.channels,
    };
    this.rng = new Rng(seed);
    const coder = {
      ...data,
      filters: config.filters,
      latentChannels: config.codeDim,
      rng: this.rng.fork(), // seeded weights: same --seed, same network
    };
    this.encoder = buildConvEncoder(coder);
    this.decoder = buildConvDecoder(coder);
    this.grid = { height: data.height / 4, width: data.width / 4 };
    const { numCodes: K, codeDim: D } = config;
    const init = tf.randomUniform([K, D], -1 / K, 1 / K, "float32", this.rng.seed());
    this.codebook = tf.variable(init, true) as tf.Variable<tf.Rank.R2>;
    this.usage = tf.variable(tf.fill([K], 1 / K), false) as tf.Variable<tf.Rank.R1>;
    this.emaCount = tf.variable(tf.fill([K], 1), false) as tf.Variable<
      tf.Rank.R1
    >;
    this.emaSum = tf.variable(init.clone(), false) as tf.Variable<tf.Rank.R2>;
    init.dispose();
    this.#optimizer = tf.train.adam(config.learningRate);
    if (config.prior === "pixelcnn") {
      this.prior = createGridPixelCnn({
        categories: K,
        ...this.grid,
        seed: this.rng.seed(),
        filters: config.priorFilters,
        layers: config.priorLayers,
      });
      this.#priorOptimizer = adam({ learningRate: config.priorLearningRate });
      // Its Adam starts mid-run: make its slots now (flat tensor count, one checkpoint layout).
      this.#priorOptimizer.prepareSlots(this.prior.network.variables);
    }
  }

  /** Prior updates done so far (0 until the second stage starts). */
  get priorSteps(): number {
    return this.#priorOptimizer?.iterations ?? 0;
  }

  /** The code grid of images: int32 [N, h, w] (what a prior over codes is trained on). */
  encodeToCodes(x: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => {
      const ze = this.encoder.apply(x) as tf.Tensor4D;
      const codes = nearestCodes(
        ze.reshape([-1, this.config.codeDim]) as tf.Tensor2D,
        this.codebook,
      );
      return codes.reshape([x.shape[0], this.grid.height, this.grid.width]) as tf.Tensor3D;
    });
  }

  /** Images in [-1, 1] from a code grid int32 [N, h, w]. */
  decodeCodes(codes: tf.Tensor3D): tf.Tensor4D {
    return tf.tidy(() => {
      const [n, h, w] = codes.shape;
      const zq = tf.oneHot(codes.reshape([-1]).toInt() as tf.Tensor1D, this.config.numCodes)
        .toFloat().matMul(this.codebook).reshape([n, h, w, this.config.codeDim]);
      return (this.decoder.apply(zq) as tf.Tensor4D).clipByValue(-1, 1) as tf.Tensor4D;
    });
  }

  /** Forward pass: reconstruction (straight-through), the three loss terms, and what the
   * codebook bookkeeping needs (one-hot assignments and the flat z_e). */
  #forward(x: tf.Tensor4D) {
    const { numCodes: K, codeDim: D, beta } = this.config;
    const ze = this.encoder.apply(x, { training: true }) as tf.Tensor4D;
    const flat = ze.reshape([-1, D]) as tf.Tensor2D;
    const codes = nearestCodes(stopGradient(flat) as tf.Tensor2D, this.codebook);
    const assign = tf.oneHot(codes, K).toFloat() as tf.Tensor2D;
    // z_q as a matMul with the one-hot assignments: its gradient reaches the codebook without
    // gather's UnsortedSegmentSum (missing on wasm).
    const zqFlat = assign.matMul(this.codebook);
    const zq = straightThrough(flat, zqFlat).reshape(ze.shape) as tf.Tensor4D;
    const recon = this.decoder.apply(zq, { training: true }) as tf.Tensor4D;
    const reconLoss = recon.sub(x).square().mean();
    const codebookLoss = stopGradient(flat).sub(zqFlat).square().mean();
    const commitLoss = flat.sub(stopGradient(zqFlat)).square().mean();
    const total = this.config.codebook === "loss"
      ? reconLoss.add(codebookLoss).add(commitLoss.mul(beta))
      : reconLoss.add(commitLoss.mul(beta));
    return { total, reconLoss, codebookLoss, commitLoss, assign, flat };
  }

  /** Data-dependent init (before the first step): codes at random encoder outputs of the batch,
   * so they start where z_e lives instead of far from it (else a few codes take everything). */
  async initCodebookFrom(x: tf.Tensor4D, seed: number): Promise<void> {
    const flat = tf.tidy(() =>
      (this.encoder.apply(x) as tf.Tensor).reshape([-1, this.config.codeDim])
    );
    const rows = await flat.data(); // async reads: webgpu has no synchronous download
    const rng = new Rng(seed);
    const { numCodes: K, codeDim: D } = this.config;
    const book = new Float32Array(K * D);
    for (let k = 0; k < K; k++) {
      const r = rng.int(flat.shape[0]);
      book.set(rows.subarray(r * D, (r + 1) * D), k * D);
    }
    flat.dispose();
    tf.tidy(() => {
      this.codebook.assign(tf.tensor2d(book, [K, D]));
      this.emaSum.assign(tf.tensor2d(book, [K, D]));
      this.emaCount.assign(tf.ones([K]));
    });
  }

  async trainStep(batch: Batch, step: number): Promise<Record<string, number>> {
    if (this.prior && step > this.config.autoencoderSteps) return this.#priorStep(batch);
    if (step === 1) await this.initCodebookFrom(batch.x, this.rng.seed());
    let kept: tf.Tensor[] = [];
    const loss = tf.tidy(() =>
      this.#optimizer.minimize(() => {
        const f = this.#forward(batch.x);
        kept = [f.reconLoss, f.codebookLoss, f.commitLoss, f.assign.sum(0), f.flat, f.assign].map((
          t,
        ) => tf.keep(t));
        return f.total as tf.Scalar;
      }, true)!
    );
    const [recon, codebookLoss, commit, countsT, flat, assign] = kept;
    const counts = await countsT.data();
    const positions = flat.shape[0];
    tf.tidy(() => {
      const fraction = (countsT as tf.Tensor1D).div(positions);
      this.usage.assign(this.usage.mul(0.99).add(fraction.mul(0.01)));
      if (this.config.codebook === "ema") {
        const g = this.config.emaDecay;
        this.emaCount.assign(this.emaCount.mul(g).add((countsT as tf.Tensor1D).mul(1 - g)));
        this.emaSum.assign(
          this.emaSum.mul(g).add(assign.transpose().matMul(flat).mul(1 - g)) as tf.Tensor2D,
        );
        // Laplace smoothing of the counts (Sonnet's VectorQuantizerEMA) keeps e_k finite.
        const n = this.emaCount.sum();
        const K = this.config.numCodes;
        const smoothed = this.emaCount.add(1e-5).div(n.add(K * 1e-5)).mul(n);
        this.codebook.assign(this.emaSum.div(smoothed.reshape([-1, 1])) as tf.Tensor2D);
      }
    });
    let restarted = 0;
    if (this.config.deadCodeRestart === "restart" && step % this.config.restartEvery === 0) {
      restarted = await this.restartDeadCodes(flat as tf.Tensor2D, this.rng.seed());
    }
    const values = await Promise.all([loss, recon, codebookLoss, commit].map((t) => t.data()));
    tf.dispose([loss, ...kept]);
    return {
      loss: values[0][0],
      recon_mse: values[1][0],
      codebook: values[2][0],
      commitment: values[3][0],
      perplexity: codePerplexity(counts),
      restarted,
    };
  }

  /** Second stage: the autoencoder is frozen; one maximum-likelihood step of the PixelCNN prior
   * on the code grids of the batch. prior_nll = −log p(codes) in nats per grid (h·w codes). */
  async #priorStep(batch: Batch): Promise<Record<string, number>> {
    const prior = this.prior!;
    const perCode = tf.tidy(() => {
      const codes = this.encodeToCodes(batch.x);
      const grid = codes.reshape([...codes.shape, 1]) as tf.Tensor4D;
      return this.#priorOptimizer!.minimize(
        () => prior.loss(grid),
        true,
        prior.network.variables,
      )!;
    });
    const value = (await perCode.data())[0];
    perCode.dispose();
    const positions = this.grid.height * this.grid.width;
    return { prior_nll: value * positions, prior_nll_per_code: value };
  }

  /** Codes whose running usage is below deadCodeFraction/K move to random rows of `flat`
   * (encoder outputs of the current batch); returns how many moved. */
  async restartDeadCodes(flat: tf.Tensor2D, seed: number): Promise<number> {
    const { numCodes: K, codeDim: D, deadCodeFraction } = this.config;
    const usage = await this.usage.data();
    const dead: number[] = [];
    for (let k = 0; k < K; k++) if (usage[k] < deadCodeFraction / K) dead.push(k);
    if (dead.length === 0) return 0;
    const rng = new Rng(seed);
    const [rows, book, sums, count] = await Promise.all(
      // copies: book, sums and count are edited below (data() may share the tensor's storage)
      [flat, this.codebook, this.emaSum, this.emaCount].map(async (t) =>
        (await t.data() as Float32Array).slice()
      ),
    );
    const use = usage.slice();
    for (const k of dead) {
      const r = rng.int(flat.shape[0]);
      for (let d = 0; d < D; d++) {
        book[k * D + d] = rows[r * D + d];
        sums[k * D + d] = rows[r * D + d];
      }
      count[k] = 1;
      use[k] = 1 / K;
    }
    tf.tidy(() => {
      this.codebook.assign(tf.tensor2d(book, [K, D]));
      this.emaSum.assign(tf.tensor2d(sums, [K, D]));
      this.emaCount.assign(tf.tensor1d(count));
      this.usage.assign(tf.tensor1d(use));
    });
    return dead.length;
  }

  /** Use another prior over code grids for sample() (null: back to the model's own). */
  setCodePrior(prior: CodePrior | null): void {
    this.#customPrior = prior;
  }

  /** The prior in use: the one set, else the trained PixelCNN (once it has had a step), else
   * independent draws from the running codebook usage. */
  codePrior(): CodePrior {
    if (this.#customPrior) return this.#customPrior;
    if (this.prior && this.priorSteps > 0) return new AutoregressiveCodePrior(this.prior);
    return this.independentPrior();
  }

  /** The baseline: each position independently from the running codebook usage. */
  independentPrior(): CodePrior {
    return new IndependentCodePrior(this.usage.dataSync() as Float32Array);
  }

  async sample(n: number, options: SampleOptions = {}): Promise<tf.Tensor4D> {
    const seed = options.seed ?? this.rng.seed();
    const codes = await this.codePrior().sample(n, this.grid, seed, options.onProgress);
    try {
      return this.decodeCodes(codes);
    } finally {
      codes.dispose();
    }
  }

  /** Reconstructions beside originals; with a trained prior also samples whose codes are drawn
   * independently (the baseline the prior's samples in final.png are compared with). */
  async artifacts(batch: Batch, options: { seed: number }): Promise<Record<string, ArtifactGrid>> {
    const n = Math.min(16, batch.x.shape[0]);
    const images = tf.tidy(() => {
      const x = batch.x.slice(0, n);
      const codes = this.encodeToCodes(x);
      return tf.stack([x, this.decodeCodes(codes)], 1).reshape([
        2 * n,
        ...x.shape.slice(1),
      ]) as tf.Tensor4D;
    });
    const grids: Record<string, ArtifactGrid> = { reconstructions: { images, columns: 8 } };
    if (this.prior && this.priorSteps > 0) {
      const codes = await this.independentPrior().sample(32, this.grid, options.seed);
      grids["independent-codes"] = { images: this.decodeCodes(codes), columns: 8 };
      codes.dispose();
    }
    return grids;
  }

  weightGroups(): Record<string, WeightOwner> {
    return {
      encoder: this.encoder,
      decoder: this.decoder,
      codebook: [this.codebook, this.usage, this.emaCount, this.emaSum],
      ...(this.prior ? { prior: this.prior.network.variables } : {}),
    };
  }

  optimizers(): Record<string, tf.Optimizer> {
    return {
      adam: this.#optimizer,
      ...(this.#priorOptimizer ? { prior: this.#priorOptimizer } : {}),
    };
  }

  dispose(): void {
    this.encoder.dispose();
    this.decoder.dispose();
    tf.dispose([this.codebook, this.usage, this.emaCount, this.emaSum]);
    this.#optimizer.dispose();
    this.prior?.dispose();
    this.#priorOptimizer?.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// registry entry

export const vqvaeEntry: ModelEntry<VqvaeConfig> = {
  name: "vqvae",
  description: "VQ-VAE (van den Oord et al. 2017): straight-through quantization, codebook and " +
    "commitment losses or EMA codebook, dead-code restart; a PixelCNN prior over the code grid",
  config: VQVAE_CONFIG,
  quick: {
    numCodes: 16,
    codeDim: 8,
    filters: 8,
    restartEvery: 10,
    prior: "pixelcnn",
    autoencoderSteps: 14,
    priorFilters: 8,
    priorLayers: 2,
    steps: 20,
    batch: 16,
  },
  defaultDataset: "fashion-mnist",
  create: (config, data, seed) => new Vqvae(config, data, seed),
};
