/**
 * Gated PixelCNN — van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu,
 * "Conditional Image Generation with PixelCNN Decoders" (2016b), §2.1–2.3, Fig. 2.
 *
 * Two stacks remove the blind spot of stacked masked convolutions:
 *   vertical   v' = gate(V ⋆ v + c)        V: ⌈k/2⌉×k over rows ≤ i (everything above)
 *   horizontal h' = h + 1×1(gate(H ⋆ h + 1×1(shiftDown(V ⋆ v)) + c))
 *                                          H: 1×⌈k/2⌉ over the row up to the pixel (mask A first)
 * with the gated activation gate(a) = tanh(a₁) ⊙ σ(a₂) (eq. 2; a split in two along channels)
 * and class conditioning c = embedding(label) added inside both gates (eq. 4: V_f^T h, V_g^T h).
 * The vertical stack sees the full rectangle above the pixel, the horizontal stack everything to
 * its left: together all of x₍<ᵢ₎ within reach, no blind spot (shown by gradients in the tests and
 * notebooks/pixelcnn.ipynb).
 *
 * `createGridPixelCnn` is THE entry for "PixelCNN over an integer grid with K categories" (the
 * VQ-VAE prior over its code grid): see its doc comment.
 */
import * as tf from "@tensorflow/tfjs";
import { Conv2d, ParamScope } from "../../nn/blocks.ts";
import { HorizontalConv, shiftDown, VerticalConv } from "../../nn/masked_conv.ts";
import { Rng } from "../../util/rng.ts";
import type { DataSpec, ModelEntry } from "../types.ts";
import { type ConfigOf, defineConfig, int, number, oneOf } from "../config.ts";
import {
  type CausalNetwork,
  channelsFor,
  DiscreteAutoregressive,
  type InputEncoding,
} from "./discrete.ts";
import { AutoregressiveImageModel, outputSpec, PIXEL_OUTPUTS } from "./pixelcnn.ts";

// ---------------------------------------------------------------------------------------------
// config

export const GATED_PIXELCNN_CONFIG = defineConfig("gated-pixelcnn", {
  filters: int(64, { min: 2, max: 512 }, "channels of each stack"),
  layers: int(6, { min: 1, max: 30 }, "gated layers (paper: 15 on 32×32)"),
  kernelSize: int(3, { min: 3, max: 11 }, "k: vertical ⌈k/2⌉×k, horizontal 1×⌈k/2⌉ kernels"),
  firstKernel: int(7, { min: 3, max: 11 }, "k of the first layer (a wider first view)"),
  conditioning: oneOf(["none", "class"], "none", "class-conditional gates (eq. 4) or none"),
  output: oneOf(
    PIXEL_OUTPUTS,
    "bernoulli",
    "per-pixel distribution: bernoulli on binarized data, or a 256-way softmax on 8-bit data",
  ),
  learningRate: number(1e-3, { gt: 0, max: 1 }, "Adam learning rate"),
}, {
  rules: [
    { check: (c) => c.kernelSize % 2 === 1, message: "kernelSize must be odd" },
    { check: (c) => c.firstKernel % 2 === 1, message: "firstKernel must be odd" },
  ],
  dataRules: [
    (_c, data) =>
      data.channels === 1
        ? undefined
        : `models greyscale images only (no RGB channel groups), got ${data.channels} channels`,
  ],
});
export type GatedPixelCnnConfig = ConfigOf<typeof GATED_PIXELCNN_CONFIG>;

// ---------------------------------------------------------------------------------------------
// network

/** tanh(a₁) ⊙ σ(a₂), a = [a₁, a₂] along channels (eq. 2). */
function gate(a: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [f, g] = tf.split(a, 2, 3);
    return tf.tanh(f).mul(tf.sigmoid(g));
  });
}

class GatedLayer {
  readonly vertical: VerticalConv;
  readonly horizontal: HorizontalConv;
  readonly verticalToHorizontal: Conv2d;
  readonly horizontalOut: Conv2d;
  readonly classEmbedding?: tf.Variable;

  constructor(
    p: ParamScope,
    inChannels: number,
    readonly filters: number,
    kernelSize: number,
    readonly first: boolean,
    numClasses: number,
  ) {
    const f = filters;
    this.vertical = new VerticalConv(p.child("vertical"), inChannels, 2 * f, kernelSize);
    this.horizontal = new HorizontalConv(
      p.child("horizontal"),
      inChannels,
      2 * f,
      kernelSize,
      first ? "A" : "B",
    );
    this.verticalToHorizontal = new Conv2d(p.child("v2h"), 2 * f, 2 * f, { kernelSize: 1 });
    this.horizontalOut = new Conv2d(p.child("hout"), f, f, { kernelSize: 1 });
    if (numClasses > 0) this.classEmbedding = p.zeros("class", [numClasses, 2 * f]);
  }

  apply(
    v: tf.Tensor4D,
    h: tf.Tensor4D,
    labels?: tf.Tensor1D,
  ): { v: tf.Tensor4D; h: tf.Tensor4D } {
    return tf.tidy(() => {
      const condition = this.classEmbedding && labels
        ? tf.gather(this.classEmbedding, labels.toInt()).reshape([-1, 1, 1, 2 * this.filters])
        : tf.scalar(0);
      const vPre = this.vertical.apply(v);
      const hPre = this.horizontal.apply(h).add(this.verticalToHorizontal.apply(shiftDown(vPre)));
      const vOut = gate(vPre.add(condition));
      const hGated = this.horizontalOut.apply(gate(hPre.add(condition)));
      // Residual on the horizontal stack (Fig. 2), not in the first layer (channels differ and
      // the input pixel itself must not leak through).
      const hOut = this.first ? hGated : h.add(hGated) as tf.Tensor4D;
      return { v: vOut, h: hOut };
    });
  }

  dispose(): void {
    this.horizontal.dispose();
  }
}

/** Gated stacks → ReLU → 1×1 → ReLU → 1×1 logits, from the horizontal stack. */
export class GatedPixelCnnNetwork implements CausalNetwork {
  readonly variables: tf.Variable[];
  readonly layers: GatedLayer[];
  readonly head1: Conv2d;
  readonly head2: Conv2d;
  readonly receptiveRows: number;

  constructor(
    rng: Rng,
    options: {
      inChannels: number;
      outChannels: number;
      filters: number;
      layers: number;
      kernelSize: number;
      firstKernel: number;
      numClasses: number;
    },
  ) {
    const p = ParamScope.root(rng, "gatedpixelcnn");
    this.variables = p.variables;
    const { filters: f } = options;
    this.layers = Array.from({ length: options.layers }, (_, i) =>
      new GatedLayer(
        p.child(`layer${i}`),
        i === 0 ? options.inChannels : f,
        f,
        i === 0 ? options.firstKernel : options.kernelSize,
        i === 0,
        options.numClasses,
      ));
    this.head1 = new Conv2d(p.child("head1"), f, f, { kernelSize: 1 });
    this.head2 = new Conv2d(p.child("head2"), f, options.outChannels, { kernelSize: 1 });
    // The vertical stack reaches ⌊k/2⌋ rows further up per layer; the shift adds one.
    this.receptiveRows = Math.floor(options.firstKernel / 2) +
      (options.layers - 1) * Math.floor(options.kernelSize / 2) + 1;
  }

  apply(input: tf.Tensor4D, labels?: tf.Tensor1D): tf.Tensor4D {
    return tf.tidy(() => {
      let v = input;
      let h = input;
      for (const layer of this.layers) ({ v, h } = layer.apply(v, h, labels));
      return this.head2.apply(tf.relu(this.head1.apply(tf.relu(h))));
    });
  }

  dispose(): void {
    this.layers.forEach((l) => l.dispose());
    this.variables.forEach((v) => v.dispose());
  }
}

// ---------------------------------------------------------------------------------------------
// PixelCNN over an integer grid (the VQ-VAE prior)

/**
 * A Gated PixelCNN over an H×W grid of integers in {0 … K−1} — the one implementation to use as
 * a prior over discrete codes (VQ-VAE, van den Oord et al. 2017, §3.3), or over pixels.
 *
 *   const prior = createGridPixelCnn({ categories: 64, height: 7, width: 7, seed: 0 });
 *   const loss = prior.loss(codes);            // codes: [N, 7, 7, 1] integers (float or int32)
 *   const nats = prior.nll(codes);             // −log p(codes) per grid, [N]
 *   const grid = await prior.sample(16, rng);  // Int32Array, 16·7·7 codes, raster order
 *
 * Codes enter one-hot by default (they are unordered); pass `numClasses` for class-conditional
 * priors (then give `labels` to loss/nll/sample). Train its `network.variables` with any
 * optimizer; dispose with `prior.dispose()`.
 */
export function createGridPixelCnn(options: {
  categories: number;
  height: number;
  width: number;
  seed: number;
  filters?: number;
  layers?: number;
  kernelSize?: number;
  firstKernel?: number;
  numClasses?: number;
  encoding?: InputEncoding;
}): DiscreteAutoregressive {
  const encoding = options.encoding ?? "onehot";
  const { inChannels, outChannels } = channelsFor(options.categories, encoding);
  const network = new GatedPixelCnnNetwork(new Rng(options.seed), {
    inChannels,
    outChannels,
    filters: options.filters ?? 64,
    layers: options.layers ?? 6,
    kernelSize: options.kernelSize ?? 3,
    firstKernel: options.firstKernel ?? 3,
    numClasses: options.numClasses ?? 0,
  });
  return new DiscreteAutoregressive(
    network,
    options.categories,
    options.height,
    options.width,
    encoding,
  );
}

// ---------------------------------------------------------------------------------------------
// registry entry

export function createGatedPixelCnn(
  config: GatedPixelCnnConfig,
  data: DataSpec & { numClasses?: number },
  seed: number,
) {
  const rng = new Rng(seed);
  const { categories } = outputSpec(config.output);
  const { inChannels, outChannels } = channelsFor(categories, "scalar");
  const conditional = config.conditioning === "class";
  const network = new GatedPixelCnnNetwork(rng.fork(), {
    inChannels,
    outChannels,
    ...config,
    numClasses: conditional ? (data.numClasses ?? 10) : 0,
  });
  const model = new DiscreteAutoregressive(network, categories, data.height, data.width, "scalar");
  return new AutoregressiveImageModel("gated-pixelcnn", config, model, data, rng, conditional);
}

export const gatedPixelCnnEntry: ModelEntry<GatedPixelCnnConfig> = {
  name: "gated-pixelcnn",
  description:
    "Gated PixelCNN (van den Oord et al. 2016b): vertical + horizontal stacks, no blind spot",
  config: GATED_PIXELCNN_CONFIG,
  quick: { filters: 16, layers: 2, steps: 20, batch: 16 },
  defaultDataset: "mnist",
  create: (config, data, seed) => createGatedPixelCnn(config, data, seed),
};
