/**
 * Autoencoder and denoising autoencoder (seed 002 §3 "Background: Autoencoders"; Vincent et al.,
 * "Extracting and Composing Robust Features with Denoising Autoencoders", 2008).
 *
 * AE:  z = f(x), x̂ = g(z), trained to reconstruct x: representation learning through a
 *      bottleneck (latentDim ≪ D). Data on [0,1]; loss = per-pixel cross-entropy (the decoder
 *      outputs logits), summed per image — the Bernoulli-style reconstruction loss of Vincent et al.
 * DAE: the encoder sees a corrupted x̃ ~ C(x̃ | x) and the decoder must still produce the clean x,
 *      so the code cannot be the identity map: Gaussian noise x̃ = x + σε, or masking noise (each
 *      pixel set to 0 with probability p, Vincent et al. §4).
 *
 * An AE is not a generative model: it has no prior over z. `sample()` decodes draws from a
 * diagonal Gaussian fitted (running moments) to the training codes — a crude stand-in that shows
 * exactly why the VAE's KL term (which makes the code distribution match N(0, I)) matters.
 */
import * as tf from "@tensorflow/tfjs";
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
import { lerpLatents } from "./gaussian.ts";
import { buildMlp, flatInput } from "./networks.ts";

// ---------------------------------------------------------------------------------------------
// config

function aeOptions(defaults: { noise: "none" | "gaussian" | "masking" }) {
  return {
    latentDim: int(16, { min: 1, max: 1024 }, "bottleneck dimension (2 for a direct scatter plot)"),
    hiddenUnits: int(256, { min: 1, max: 8192 }, "units of each hidden layer"),
    hiddenLayers: int(2, { min: 1, max: 8 }, "hidden ReLU layers of the encoder and the decoder"),
    noise: oneOf(
      ["none", "gaussian", "masking"],
      defaults.noise,
      "input corruption: none (AE), gaussian x+σε, or masking (pixels zeroed with prob. p)",
    ),
    noiseLevel: number(0.3, { min: 0, max: 1 }, "σ of the gaussian noise, or p of the masking"),
    learningRate: number(1e-3, { gt: 0, max: 1 }, "Adam learning rate"),
  };
}

export const AE_CONFIG = defineConfig("ae", aeOptions({ noise: "none" }));
export const DAE_CONFIG = defineConfig("dae", aeOptions({ noise: "gaussian" }));
export type AeConfig = ConfigOf<typeof AE_CONFIG>;
export const AE_DEFAULTS: AeConfig = AE_CONFIG.defaults;

// ---------------------------------------------------------------------------------------------
// model

/** Momentum of the running code moments used by sample(). */
const CODE_MOMENT_DECAY = 0.99;

export class Autoencoder implements GenerativeModel {
  readonly name: string;
  readonly rng: Rng;
  readonly dataSpec: DataSpec;
  /** x [D] → z [latentDim]. Usable on its own. */
  readonly encoder: tf.Sequential;
  /** z → D logits of the pixel intensities. Usable on its own. */
  readonly decoder: tf.Sequential;
  /** Running mean and variance of the training codes (for sample()). */
  readonly codeMean: tf.Variable;
  readonly codeVar: tf.Variable;
  readonly #optimizer: tf.AdamOptimizer;

  constructor(readonly config: AeConfig, data: Omit<DataSpec, "range">, seed: number, name = "ae") {
    this.name = name;
    this.dataSpec = {
      range: "[0,1]",
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
      inputDim: pixels,
      outputUnits: latentDim,
      hiddenUnits,
      hiddenLayers,
      init: "he",
      rng: initRng,
    });
    this.decoder = buildMlp({
      name: "decoder",
      inputDim: latentDim,
      outputUnits: pixels,
      hiddenUnits,
      hiddenLayers,
      init: "he",
      rng: initRng,
    });
    this.codeMean = tf.variable(tf.zeros([latentDim]), false);
    this.codeVar = tf.variable(tf.ones([latentDim]), false);
    this.#optimizer = tf.train.adam(config.learningRate);
  }

  /** C(x̃ | x): the corruption of the DAE (identity for the plain AE). x on [0,1]. */
  corrupt(x: tf.Tensor4D, seed: number): tf.Tensor4D {
    const { noise, noiseLevel } = this.config;
    return tf.tidy(() => {
      if (noise === "gaussian") {
        return x.add(tf.randomNormal(x.shape, 0, noiseLevel, "float32", seed)) as tf.Tensor4D;
      }
      if (noise === "masking") {
        const keep = tf.randomUniform(x.shape, 0, 1, "float32", seed).greaterEqual(noiseLevel);
        return x.mul(keep.toFloat()) as tf.Tensor4D;
      }
      return x.clone();
    });
  }

  encode(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.encoder.apply(flatInput(x)) as tf.Tensor2D);
  }

  #decodeLogits(z: tf.Tensor2D): tf.Tensor4D {
    const { height, width, channels } = this.dataSpec;
    return tf.tidy(() =>
      (this.decoder.apply(z) as tf.Tensor).reshape([
        z.shape[0],
        height,
        width,
        channels,
      ]) as tf.Tensor4D
    );
  }

  /** Decoded images in [-1, 1]. */
  decode(z: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => tf.sigmoid(this.#decodeLogits(z)).mul(2).sub(1) as tf.Tensor4D);
  }

  async trainStep(batch: Batch, _step: number): Promise<Record<string, number>> {
    const x = batch.x;
    const noisy = this.corrupt(x, this.rng.seed());
    let extras: tf.Tensor[] = [];
    const loss = tf.tidy(() =>
      this.#optimizer.minimize(() => {
        const z = this.encode(noisy);
        const logits = this.#decodeLogits(z);
        // Cross-entropy with [0,1] targets, summed per image: softplus(ℓ) − xℓ.
        const ce = tf.softplus(logits).sub(x.mul(logits)).reshape([x.shape[0], -1]).sum(1).mean();
        const mse = tf.sigmoid(logits).sub(x).square().mean();
        extras = [tf.keep(mse), tf.keep(z.mean(0)), tf.keep(tf.moments(z, 0).variance)];
        return ce as tf.Scalar;
      }, true)!
    );
    noisy.dispose();
    // Running code moments (not trained: no gradient reaches these variables).
    tf.tidy(() => {
      this.codeMean.assign(
        this.codeMean.mul(CODE_MOMENT_DECAY).add(extras[1].mul(1 - CODE_MOMENT_DECAY)),
      );
      this.codeVar.assign(
        this.codeVar.mul(CODE_MOMENT_DECAY).add(extras[2].mul(1 - CODE_MOMENT_DECAY)),
      );
    });
    const [lossValue] = await loss.data();
    const [mse] = await extras[0].data();
    tf.dispose([loss, ...extras]);
    return { loss: lossValue, mse };
  }

  /** Decodes z ~ N(running code mean, diag running code variance): not a learned prior. */
  sample(n: number, options: SampleOptions = {}): Promise<tf.Tensor4D> {
    return Promise.resolve(tf.tidy(() => {
      const eps = tf.randomNormal(
        [n, this.config.latentDim],
        0,
        1,
        "float32",
        options.seed ?? this.rng.seed(),
      );
      return this.decode(eps.mul(this.codeVar.sqrt()).add(this.codeMean) as tf.Tensor2D);
    }));
  }

  /** Triples [original, corrupted input, reconstruction] and linear interpolations. */
  artifacts(batch: Batch, options: { seed: number }): Promise<Record<string, ArtifactGrid>> {
    const n = Math.min(16, batch.x.shape[0]);
    const reconstructions = tf.tidy(() => {
      const x = batch.x.slice(0, n);
      const noisy = this.corrupt(x, options.seed);
      const recon = this.decode(this.encode(noisy));
      return tf.stack([x.mul(2).sub(1), noisy.clipByValue(0, 1).mul(2).sub(1), recon], 1)
        .reshape([3 * n, ...x.shape.slice(1)]) as tf.Tensor4D;
    });
    const steps = 10;
    const interpolation = tf.tidy(() => {
      const z = this.encode(batch.x.slice(0, 8));
      const rows: tf.Tensor4D[] = [];
      for (let i = 0; i < Math.min(4, Math.floor(z.shape[0] / 2)); i++) {
        const a = z.slice([2 * i, 0], [1, -1]).as1D();
        const b = z.slice([2 * i + 1, 0], [1, -1]).as1D();
        rows.push(this.decode(lerpLatents(a, b, steps)));
      }
      return tf.concat(rows, 0);
    });
    return Promise.resolve({
      reconstructions: { images: reconstructions, columns: 12 },
      "interpolation-linear": { images: interpolation, columns: steps },
    });
  }

  weightGroups(): Record<string, WeightOwner> {
    return {
      encoder: this.encoder,
      decoder: this.decoder,
      codeMoments: [this.codeMean, this.codeVar],
    };
  }

  optimizers(): Record<string, tf.Optimizer> {
    return { adam: this.#optimizer };
  }

  dispose(): void {
    this.encoder.dispose();
    this.decoder.dispose();
    tf.dispose([this.codeMean, this.codeVar]);
    this.#optimizer.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// registry entries

const AE_QUICK = { latentDim: 2, hiddenUnits: 64, hiddenLayers: 1, steps: 20, batch: 32 };

export const aeEntry: ModelEntry<AeConfig> = {
  name: "ae",
  description:
    "autoencoder (MLP, cross-entropy reconstruction); samples from a Gaussian fit to codes",
  config: AE_CONFIG,
  quick: AE_QUICK,
  defaultDataset: "mnist",
  create: (config, data, seed) => new Autoencoder(config, data, seed, "ae"),
};

export const daeEntry: ModelEntry<AeConfig> = {
  name: "dae",
  description: "denoising autoencoder (Vincent et al. 2008): gaussian or masking input noise",
  config: DAE_CONFIG,
  quick: AE_QUICK,
  defaultDataset: "mnist",
  create: (config, data, seed) => new Autoencoder(config, data, seed, "dae"),
};
