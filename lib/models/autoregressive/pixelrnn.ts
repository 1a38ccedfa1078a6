/**
 * PixelRNN with Row LSTM layers — van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent
 * Neural Networks" (2016a), §3.1 and eq. 3.
 *
 * The image is processed row by row, top to bottom; a whole row is one LSTM step:
 *
 *   [o, f, i, g]_i = σ/σ/σ/tanh( K^ss ⊛ h_{i−1} + K^is ⊛ x_i )
 *   c_i = f ⊙ c_{i−1} + i ⊙ g,      h_i = o ⊙ tanh(c_i)
 *
 * K^is ("input-to-state") is a 1×k convolution along the row, masked (mask B: the pixel and its
 * left neighbours) and computed for all rows at once; K^ss ("state-to-state") is an unmasked 1×k
 * convolution over the previous row's state. So h_i at column j sees row i up to j and, through
 * h_{i−1}, a triangle above that widens by ⌊k/2⌋ columns per row (the Row LSTM's triangular
 * receptive field, seed 002: it cannot reach all earlier pixels; the Diagonal BiLSTM can — not
 * implemented here). The network: 7×7 mask-A conv → Row LSTM layers with residual 1×1
 * projections → ReLU → 1×1 → ReLU → 1×1 logits; the likelihood and sampler are discrete.ts's.
 *
 * Sampling keeps each layer's (h, c) of the finished rows (`rowStepper`): a pixel costs the first
 * conv on ⌊7/2⌋+1 rows and one LSTM step per layer; the state advances once per finished row.
 */
import * as tf from "@tensorflow/tfjs";
import { Conv2d, ParamScope } from "../../nn/blocks.ts";
import { MaskedConv2d } from "../../nn/masked_conv.ts";
import { Rng } from "../../util/rng.ts";
import type { DataSpec, ModelEntry } from "../types.ts";
import { type ConfigOf, defineConfig, int, number, oneOf } from "../config.ts";
import { type CausalNetwork, type RowStepper } from "./discrete.ts";
import { autoregressiveImageModel, PIXEL_OUTPUTS } from "./pixelcnn.ts";

// ---------------------------------------------------------------------------------------------
// config

export const PIXELRNN_CONFIG = defineConfig("pixelrnn", {
  filters: int(32, { min: 2, max: 256 }, "channels of the residual stream and of each LSTM state"),
  layers: int(2, { min: 1, max: 12 }, "Row LSTM layers (paper: 7 on MNIST)"),
  kernelSize: int(3, { min: 3, max: 7 }, "k of the 1×k input-to-state and state-to-state convs"),
  firstKernel: int(7, { min: 3, max: 11 }, "size of the first, mask-A convolution (paper: 7)"),
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
      data.channels === 1 ? undefined : `models greyscale images only, got ${data.channels}`,
  ],
});
export type PixelRnnConfig = ConfigOf<typeof PIXELRNN_CONFIG>;

// ---------------------------------------------------------------------------------------------
// network

/** One Row LSTM layer with a residual 1×1 projection of its state back to the stream. */
export class RowLstm {
  readonly inputToState: MaskedConv2d;
  readonly stateToState: tf.Variable;
  readonly project: Conv2d;

  constructor(p: ParamScope, channels: number, readonly hidden: number, kernelSize: number) {
    this.inputToState = new MaskedConv2d(p.child("is"), channels, 4 * hidden, "B", 1, kernelSize);
    this.stateToState = p.glorot("ss", [1, kernelSize, hidden, 4 * hidden]);
    this.project = new Conv2d(p.child("proj"), hidden, channels, { kernelSize: 1 });
  }

  /** One row: gates from the row's input-to-state term and the previous state (eq. 3). */
  step(
    inputGates: tf.Tensor4D,
    h: tf.Tensor4D,
    c: tf.Tensor4D,
  ): { h: tf.Tensor4D; c: tf.Tensor4D } {
    return tf.tidy(() => {
      const gates = inputGates.add(tf.conv2d(h, this.stateToState as tf.Tensor4D, 1, "same"));
      const [o, f, inp, g] = tf.split(gates, 4, 3);
      const cNext = tf.sigmoid(f).mul(c).add(tf.sigmoid(inp).mul(tf.tanh(g))) as tf.Tensor4D;
      return { h: tf.sigmoid(o).mul(tf.tanh(cNext)) as tf.Tensor4D, c: cNext };
    });
  }

  /** The whole map, row by row (training and NLL). */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [n, height, width] = x.shape;
      const hd = this.hidden;
      const inputGates = this.inputToState.apply(x); // all rows at once
      let state = {
        h: tf.zeros([n, 1, width, hd]) as tf.Tensor4D,
        c: tf.zeros([n, 1, width, hd]) as tf.Tensor4D,
      };
      const rows: tf.Tensor4D[] = [];
      for (let i = 0; i < height; i++) {
        state = this.step(inputGates.slice([0, i, 0, 0], [n, 1, width, 4 * hd]), state.h, state.c);
        rows.push(state.h);
      }
      return x.add(this.project.apply(tf.concat(rows, 1)));
    });
  }
}

export class PixelRnnNetwork implements CausalNetwork {
  readonly variables: tf.Variable[];
  readonly first: MaskedConv2d;
  readonly layers: RowLstm[];
  readonly head1: Conv2d;
  readonly head2: Conv2d;
  /** The LSTM state carries every row above: no crop is exact. */
  readonly receptiveRows = Number.MAX_SAFE_INTEGER;

  constructor(
    rng: Rng,
    options: {
      inChannels: number;
      outChannels: number;
      filters: number;
      layers: number;
      kernelSize: number;
      firstKernel: number;
    },
  ) {
    const p = ParamScope.root(rng, "pixelrnn");
    this.variables = p.variables;
    const f = options.filters;
    this.first = new MaskedConv2d(
      p.child("first"),
      options.inChannels,
      f,
      "A",
      options.firstKernel,
    );
    this.layers = Array.from(
      { length: options.layers },
      (_, i) => new RowLstm(p.child(`rowlstm${i}`), f, f, options.kernelSize),
    );
    this.head1 = new Conv2d(p.child("head1"), f, f, { kernelSize: 1 });
    this.head2 = new Conv2d(p.child("head2"), f, options.outChannels, { kernelSize: 1 });
  }

  apply(input: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.first.apply(input);
      for (const layer of this.layers) h = layer.apply(h);
      return this.head2.apply(tf.relu(this.head1.apply(tf.relu(h))));
    });
  }

  /** Row-by-row sampling from cached (h, c) of every layer: a pixel costs one LSTM step. */
  rowStepper(n: number): RowStepper {
    const half = Math.floor(this.first.kernelHeight / 2);
    let states: Array<{ h: tf.Tensor4D; c: tf.Tensor4D }> | null = null;
    const run = (crop: tf.Tensor4D, commit: boolean): tf.Tensor4D => {
      const [, rows, width] = crop.shape;
      states ??= this.layers.map((l) => ({
        h: tf.keep(tf.zeros([n, 1, width, l.hidden])) as tf.Tensor4D,
        c: tf.keep(tf.zeros([n, 1, width, l.hidden])) as tf.Tensor4D,
      }));
      let x = this.first.apply(crop).slice([0, rows - 1, 0, 0], [n, 1, width, -1]) as tf.Tensor4D;
      this.layers.forEach((layer, k) => {
        const next = layer.step(layer.inputToState.apply(x), states![k].h, states![k].c);
        x = x.add(layer.project.apply(next.h));
        if (commit) {
          tf.dispose([states![k].h, states![k].c]);
          states![k] = { h: tf.keep(next.h), c: tf.keep(next.c) };
        }
      });
      return this.head2.apply(tf.relu(this.head1.apply(tf.relu(x))));
    };
    return {
      inputRows: half,
      row: (crop) => tf.tidy(() => run(crop, false)),
      commit: (crop) => tf.tidy(() => void run(crop, true)),
      dispose: () => states?.forEach((s) => tf.dispose([s.h, s.c])),
    };
  }

  dispose(): void {
    this.first.dispose();
    this.layers.forEach((l) => l.inputToState.dispose());
    this.variables.forEach((v) => v.dispose());
  }
}

// ---------------------------------------------------------------------------------------------
// registry entry

export function createPixelRnn(config: PixelRnnConfig, data: DataSpec, seed: number) {
  return autoregressiveImageModel(
    "pixelrnn",
    config,
    data,
    seed,
    (rng, channels) => new PixelRnnNetwork(rng, { ...channels, ...config }),
  );
}

export const pixelRnnEntry: ModelEntry<PixelRnnConfig> = {
  name: "pixelrnn",
  description: "PixelRNN with Row LSTM layers (van den Oord et al. 2016a), exact NLL",
  config: PIXELRNN_CONFIG,
  quick: { filters: 8, layers: 1, steps: 10, batch: 8 },
  defaultDataset: "mnist",
  create: (config, data, seed) => createPixelRnn(config, data, seed),
};
