/**
 * PixelCNN — van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent Neural Networks" (2016a),
 * §3.5 and Fig. 5: a 7×7 mask-A convolution, residual blocks whose 3×3 convolutions carry mask B,
 * two 1×1 output layers, and a per-pixel distribution:
 *   - binarized images (dataSpec.range "binary"): one Bernoulli logit per pixel;
 *   - 8-bit images (dataSpec.range "[0,1]", the byte is recovered as round(255·x)): a 256-way
 *     softmax (§3.6 of the paper: discrete, no dequantization, so the NLL is exact).
 *
 * Stacked 3×3 mask-B convolutions have a BLIND SPOT: a pixel's receptive field grows up and to
 * the left but only one column to the right per row above, so pixels above-right of the centre
 * are never seen (Gated PixelCNN, §2.2; tests/autoregressive_test.ts shows it by gradients).
 *
 * The likelihood machinery (NLL, the row-cropped sampler, K categories) lives in discrete.ts and
 * is shared with gated_pixelcnn.ts and pixelrnn.ts; `AutoregressiveImageModel` below adapts any of
 * them to the model contract (lib/models/types.ts).
 *
 * Layout: config → network → image model (shared by the three autoregressive models) → entry.
 */
import * as tf from "@tensorflow/tfjs";
import { bitsPerDim } from "../../metrics/likelihood.ts";
import { Conv2d, ParamScope } from "../../nn/blocks.ts";
import { MaskedConv2d } from "../../nn/masked_conv.ts";
import { adam, type FusedAdam } from "../../nn/optimizers.ts";
import type { WeightOwner } from "../../nn/state.ts";
import { Rng } from "../../util/rng.ts";
import { UserInputError } from "../../util/errors.ts";
import type { Batch, DataSpec, GenerativeModel, ModelEntry, SampleOptions } from "../types.ts";
import { type ConfigOf, defineConfig, int, number, oneOf } from "../config.ts";
import { type CausalNetwork, channelsFor, DiscreteAutoregressive } from "./discrete.ts";

// ---------------------------------------------------------------------------------------------
// config

/** Output distribution choices shared by the autoregressive image models. */
export const PIXEL_OUTPUTS = ["bernoulli", "softmax256"] as const;
export type PixelOutput = typeof PIXEL_OUTPUTS[number];

export const PIXELCNN_CONFIG = defineConfig("pixelcnn", {
  filters: int(64, { min: 2, max: 512 }, "channels 2h of the residual stream (paper: 2h = 256)"),
  residualBlocks: int(6, { min: 0, max: 30 }, "residual blocks with a 3×3 mask-B conv (paper: 15)"),
  firstKernel: int(7, { min: 3, max: 11 }, "size of the first, mask-A convolution (paper: 7)"),
  output: oneOf(
    PIXEL_OUTPUTS,
    "bernoulli",
    "per-pixel distribution: bernoulli on binarized data, or a 256-way softmax on 8-bit data",
  ),
  learningRate: number(1e-3, { gt: 0, max: 1 }, "Adam learning rate"),
}, {
  rules: [{ check: (c) => c.firstKernel % 2 === 1, message: "firstKernel must be odd" }],
  dataRules: [
    (_c, data) =>
      data.channels === 1
        ? undefined
        : `models greyscale images only (no RGB channel groups), got ${data.channels} channels`,
  ],
});
export type PixelCnnConfig = ConfigOf<typeof PIXELCNN_CONFIG>;

// ---------------------------------------------------------------------------------------------
// network

/** Residual block (Fig. 5): ReLU → 1×1 (h) → ReLU → 3×3 mask B (h) → ReLU → 1×1 (2h), + x. */
class MaskedResidualBlock {
  readonly reduce: Conv2d;
  readonly masked: MaskedConv2d;
  readonly expand: Conv2d;

  constructor(p: ParamScope, channels: number) {
    const half = Math.max(1, Math.floor(channels / 2));
    this.reduce = new Conv2d(p.child("reduce"), channels, half, { kernelSize: 1 });
    this.masked = new MaskedConv2d(p.child("masked"), half, half, "B", 3);
    this.expand = new Conv2d(p.child("expand"), half, channels, { kernelSize: 1 });
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.reduce.apply(tf.relu(x));
      h = this.masked.apply(tf.relu(h));
      return x.add(this.expand.apply(tf.relu(h)));
    });
  }
}

/** The PixelCNN network: mask-A k×k → residual blocks → ReLU → 1×1 → ReLU → 1×1 logits.
 * (1×1 convolutions see only the pixel itself, so they are mask-B layers already.) */
export class PixelCnnNetwork implements CausalNetwork {
  readonly variables: tf.Variable[];
  readonly first: MaskedConv2d;
  readonly blocks: MaskedResidualBlock[];
  readonly head1: Conv2d;
  readonly head2: Conv2d;
  readonly receptiveRows: number;

  constructor(
    rng: Rng,
    options: {
      inChannels: number;
      outChannels: number;
      filters: number;
      residualBlocks: number;
      firstKernel: number;
    },
  ) {
    const p = ParamScope.root(rng, "pixelcnn");
    this.variables = p.variables;
    this.first = new MaskedConv2d(
      p.child("first"),
      options.inChannels,
      options.filters,
      "A",
      options.firstKernel,
    );
    this.blocks = Array.from(
      { length: options.residualBlocks },
      (_, i) => new MaskedResidualBlock(p.child(`block${i}`), options.filters),
    );
    this.head1 = new Conv2d(p.child("head1"), options.filters, options.filters, { kernelSize: 1 });
    this.head2 = new Conv2d(p.child("head2"), options.filters, options.outChannels, {
      kernelSize: 1,
    });
    this.receptiveRows = Math.floor(options.firstKernel / 2) + options.residualBlocks;
  }

  apply(input: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.first.apply(input);
      for (const block of this.blocks) h = block.apply(h);
      return this.head2.apply(tf.relu(this.head1.apply(tf.relu(h))));
    });
  }

  dispose(): void {
    this.first.dispose();
    this.blocks.forEach((b) => b.masked.dispose());
    this.variables.forEach((v) => v.dispose());
  }
}

// ---------------------------------------------------------------------------------------------
// image model (shared by pixelcnn, gated-pixelcnn, pixelrnn)

/** Categories and data range for an output choice. */
export function outputSpec(output: PixelOutput): { categories: number; range: DataSpec["range"] } {
  return output === "bernoulli"
    ? { categories: 2, range: "binary" }
    : { categories: 256, range: "[0,1]" };
}

/**
 * Any DiscreteAutoregressive model over images, behind the model contract: the batch (binary or
 * [0,1]) becomes integer values, the loss is the mean NLL per pixel, `nll` is −log p(x) per image
 * in nats (exact: the distribution is discrete), `sample` is the row-cropped pixel-by-pixel sampler.
 */
export class AutoregressiveImageModel implements GenerativeModel {
  readonly rng: Rng;
  readonly dataSpec: DataSpec;
  readonly #optimizer: FusedAdam;

  constructor(
    readonly name: string,
    readonly config: Record<string, unknown> & { learningRate: number },
    readonly model: DiscreteAutoregressive,
    data: DataSpec,
    rng: Rng,
    readonly conditional = false,
  ) {
    this.rng = rng;
    const { range } = outputSpec(model.categories === 2 ? "bernoulli" : "softmax256");
    this.dataSpec = { range, height: data.height, width: data.width, channels: 1 };
    // tf.train.adam's math and state layout, one fused native update where the backend has it
    // (and an exact step count, so a resumed run continues bit for bit).
    this.#optimizer = adam({ learningRate: config.learningRate });
  }

  /** Batch pixels → integer values: binary as is; [0,1] → round(255·x), the original byte. */
  values(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.model.categories === 2 ? x : x.mul(255).round() as tf.Tensor4D);
  }

  async trainStep(batch: Batch, _step: number): Promise<Record<string, number>> {
    const labels = this.conditional ? batch.labels : undefined;
    const loss = tf.tidy(() => {
      const values = this.values(batch.x);
      return this.#optimizer.minimize(
        () => this.model.loss(values, labels),
        true,
        this.model.network.variables,
      )!;
    });
    const [perDim] = await loss.data();
    loss.dispose();
    const dims = this.dataSpec.height * this.dataSpec.width;
    return { nll: perDim * dims, bits_per_dim: bitsPerDim(perDim * dims, dims) };
  }

  async nll(batch: Batch): Promise<Float64Array> {
    const nats = tf.tidy(() =>
      this.model.nll(this.values(batch.x), this.conditional ? batch.labels : undefined)
    );
    const out = Float64Array.from(await nats.data());
    nats.dispose();
    return out;
  }

  async sample(n: number, options: SampleOptions = {}): Promise<tf.Tensor4D> {
    if (options.method && Object.keys(options.method).length > 0) {
      throw new UserInputError(
        `${this.name} has no sampling options (got ${Object.keys(options.method).join(", ")})`,
      );
    }
    let labels = options.labels;
    if (this.conditional && !labels) labels = Array.from({ length: n }, (_, i) => i % 10);
    const rng = options.seed !== undefined ? new Rng(options.seed) : this.rng.fork();
    const values = await this.model.sample(n, rng, {
      labels: this.conditional ? labels : undefined,
      onProgress: options.onProgress,
    });
    const { height, width } = this.dataSpec;
    const scale = this.model.categories === 2 ? 2 : 2 / 255;
    const pixels = Float32Array.from(values, (v) => v * scale - 1);
    return tf.tensor4d(pixels, [n, height, width, 1]);
  }

  weightGroups(): Record<string, WeightOwner> {
    return { network: this.model.network.variables };
  }

  optimizers(): Record<string, tf.Optimizer> {
    return { adam: this.#optimizer };
  }

  dispose(): void {
    this.model.dispose();
    this.#optimizer.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// registry entry

/** Any causal network over an image's pixels as a contract model: the network is built from
 * the seed's first fork (its channels follow the `output` option), the model keeps the Rng. */
export function autoregressiveImageModel<
  C extends { output: PixelOutput; learningRate: number } & Record<string, unknown>,
>(
  name: string,
  config: C,
  data: DataSpec,
  seed: number,
  buildNetwork: (rng: Rng, channels: { inChannels: number; outChannels: number }) => CausalNetwork,
): AutoregressiveImageModel {
  const rng = new Rng(seed);
  const { categories } = outputSpec(config.output);
  const network = buildNetwork(rng.fork(), channelsFor(categories, "scalar"));
  const model = new DiscreteAutoregressive(network, categories, data.height, data.width, "scalar");
  return new AutoregressiveImageModel(name, config, model, data, rng);
}

export function createPixelCnn(config: PixelCnnConfig, data: DataSpec, seed: number) {
  return autoregressiveImageModel(
    "pixelcnn",
    config,
    data,
    seed,
    (rng, channels) => new PixelCnnNetwork(rng, { ...channels, ...config }),
  );
}

export const pixelCnnEntry: ModelEntry<PixelCnnConfig> = {
  name: "pixelcnn",
  description: "PixelCNN (van den Oord et al. 2016a): masked convolutions A/B, exact NLL",
  config: PIXELCNN_CONFIG,
  quick: { filters: 16, residualBlocks: 2, steps: 20, batch: 16 },
  defaultDataset: "mnist",
  create: (config, data, seed) => createPixelCnn(config, data, seed),
};
