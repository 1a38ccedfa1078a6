/**
 * The one autoregressive core shared by PixelCNN, Gated PixelCNN and PixelRNN — and by the VQ-VAE
 * prior over its code grid: an H×W grid of integers in {0 … K−1}, modelled in raster order,
 *
 *   p(v) = Π_{i} p(v_i | v_{<i}),        −log p(v) = Σ_i −log softmax(logits_i)[v_i]   (nats)
 *
 * (van den Oord et al. 2016a, eq. 1–2). K = 2 uses one Bernoulli logit per position (binarized
 * images); K > 2 a K-way softmax (8-bit pixels: K = 256; VQ-VAE codes: K = codebook size).
 *
 * A network here is any causal map from the encoded grid [N, H, W, C_in] to logits
 * [N, H, W, C_out] whose output at position i depends on inputs at positions < i only, and which
 * says how many rows above a position its output can read (`receptiveRows`). Sampling uses that:
 * the logits for row i are computed from the crop of rows i − receptiveRows … i only, which gives
 * exactly the full-image logits (tested) at a fraction of the work.
 *
 * VQ-VAE prior: `createGridPixelCnn({ categories: K, height, width, ... })` in gated_pixelcnn.ts
 * builds this over a code grid (one-hot input encoding, optional class conditioning); train it
 * with `loss(codes)` and sample codes with `sample(n)`.
 */
import * as tf from "@tensorflow/tfjs";
import { bernoulliNll, sumPerExample } from "../../metrics/likelihood.ts";
import { Rng } from "../../util/rng.ts";

/** A causal network: logits at position i depend on input positions < i (raster order). */
export interface CausalNetwork {
  /** encoded grid [N, H, W, C_in] → logits [N, H, W, C_out]; labels for class-conditional nets. */
  apply(input: tf.Tensor4D, labels?: tf.Tensor1D): tf.Tensor4D;
  /** Output row i reads input rows ≥ i − receptiveRows only. */
  readonly receptiveRows: number;
  readonly variables: tf.Variable[];
  /** Recurrent networks (PixelRNN) can sample row by row from a cached state instead of
   * recomputing every row above: see RowStepper. */
  rowStepper?(n: number): RowStepper;
  dispose(): void;
}

/** Incremental evaluation for recurrent networks: the state of rows < i is kept, so the logits of
 * row i cost one step, not a pass over rows 0 … i. */
export interface RowStepper {
  /** Rows of input the step needs: the crop passed in is rows i − inputRows … i. */
  readonly inputRows: number;
  /** Logits of row i, [n, 1, W, C_out], from the encoded crop; the state is not advanced. */
  row(crop: tf.Tensor4D, labels?: tf.Tensor1D): tf.Tensor4D;
  /** Row i is final: advance the state with it. */
  commit(crop: tf.Tensor4D, labels?: tf.Tensor1D): void;
  dispose(): void;
}

/** How integers enter the network: one scaled channel (ordinal values such as pixel
 * intensities) or a one-hot vector (unordered codes such as VQ-VAE indices). */
export type InputEncoding = "scalar" | "onehot";

/** Channels the network reads and writes for K categories. */
export function channelsFor(categories: number, encoding: InputEncoding) {
  return {
    inChannels: encoding === "onehot" ? categories : 1,
    outChannels: categories === 2 ? 1 : categories,
  };
}

export interface GridSampleOptions {
  labels?: number[];
  seed?: number;
  onProgress?: (done: number, total: number) => void;
  /** Pixels fixed in advance (e.g. the top half for completions): values ≥ 0 are kept,
   * length n·H·W; negative entries are sampled. */
  given?: Int32Array;
}

/** An autoregressive model over H×W integer grids with K categories. */
export class DiscreteAutoregressive {
  constructor(
    readonly network: CausalNetwork,
    readonly categories: number,
    readonly height: number,
    readonly width: number,
    readonly encoding: InputEncoding,
  ) {}

  /** Integer values [N, H, W, 1] (float or int tensor) → network input. Scalar: K = 2 feeds the
   * bits as they are; otherwise v/(K−1) scaled to [−1, 1]. */
  encode(values: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const k = this.categories;
      if (this.encoding === "onehot") {
        const [n, h, w] = values.shape;
        return tf.oneHot(values.toInt().reshape([n * h * w]), k).toFloat().reshape([n, h, w, k]);
      }
      const v = values.toFloat();
      return k === 2 ? v : v.mul(2 / (k - 1)).sub(1);
    });
  }

  logits(values: tf.Tensor4D, labels?: tf.Tensor1D): tf.Tensor4D {
    return tf.tidy(() => this.network.apply(this.encode(values), labels));
  }

  /** −log p(v) per grid in nats, [N]: Bernoulli (K = 2) or softmax cross-entropy. */
  nll(values: tf.Tensor4D, labels?: tf.Tensor1D): tf.Tensor1D {
    return tf.tidy(() => {
      const logits = this.logits(values, labels);
      if (this.categories === 2) return sumPerExample(bernoulliNll(values.toFloat(), logits));
      const [n, h, w] = values.shape;
      const flat = logits.reshape([n * h * w, this.categories]);
      const target = tf.oneHot(values.toInt().reshape([n * h * w]), this.categories);
      const logProb = tf.logSoftmax(flat).mul(target).sum(1);
      return logProb.reshape([n, h * w]).sum(1).neg() as tf.Tensor1D;
    });
  }

  /** Mean NLL per position (nats/dim): the training loss, on a scale independent of H·W. */
  loss(values: tf.Tensor4D, labels?: tf.Tensor1D): tf.Scalar {
    return tf.tidy(() => this.nll(values, labels).mean().div(this.height * this.width));
  }

  /**
   * Sample n grids pixel by pixel, batched over the n grids. For row i only the crop of rows
   * max(0, i − R) … i goes through the network (R = receptiveRows), so a pixel costs about
   * (R + 1)/H of a full forward pass instead of one. Returns values, length n·H·W, row-major.
   */
  async sample(n: number, rng: Rng, options: GridSampleOptions = {}): Promise<Int32Array> {
    const { height: h, width: w, categories: k } = this;
    const values = new Int32Array(n * h * w);
    const given = options.given;
    const labels = options.labels ? tf.tensor1d(options.labels, "int32") : undefined;
    const stepper = this.network.rowStepper?.(n);
    const reach = stepper ? stepper.inputRows : this.network.receptiveRows;
    const total = h * w;
    const cropOf = (i: number) => {
      const top = Math.max(0, i - reach);
      const rows = i - top + 1;
      const crop = new Float32Array(n * rows * w);
      for (let b = 0; b < n; b++) {
        crop.set(values.subarray(b * total + top * w, b * total + (i + 1) * w), b * rows * w);
      }
      return tf.tensor4d(crop, [n, rows, w, 1]);
    };
    try {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const pixel = i * w + j;
          const allGiven = given !== undefined &&
            Array.from({ length: n }, (_, b) => given[b * total + pixel]).every((v) => v >= 0);
          if (!allGiven) {
            const probs = tf.tidy(() => {
              const crop = this.encode(cropOf(i));
              const logits = stepper ? stepper.row(crop, labels) : this.network.apply(crop, labels);
              const last = logits.shape[1] - 1;
              const at = logits.slice([0, last, j, 0], [n, 1, 1, -1]).reshape([n, -1]);
              return k === 2 ? tf.sigmoid(at) : tf.softmax(at);
            });
            const p = await probs.data();
            probs.dispose();
            for (let b = 0; b < n; b++) {
              const u = rng.uniform();
              let v = 0;
              if (k === 2) v = u < p[b] ? 1 : 0;
              else {
                let cdf = 0;
                for (v = 0; v < k - 1; v++) {
                  cdf += p[b * k + v];
                  if (u < cdf) break;
                }
              }
              values[b * total + pixel] = v;
            }
          }
          if (given) {
            for (let b = 0; b < n; b++) {
              if (given[b * total + pixel] >= 0) {
                values[b * total + pixel] = given[b * total + pixel];
              }
            }
          }
          options.onProgress?.(pixel + 1, total);
        }
        if (stepper) tf.tidy(() => stepper.commit(this.encode(cropOf(i)), labels));
      }
    } finally {
      labels?.dispose();
      stepper?.dispose();
    }
    return values;
  }

  dispose(): void {
    this.network.dispose();
  }
}
