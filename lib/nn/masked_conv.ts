/**
 * Masked and shifted convolutions for autoregressive image models (greyscale / one channel group).
 *
 * Pixels are generated in raster order (row by row, left to right), p(x) = Πᵢ p(xᵢ | x₍<ᵢ₎)
 * (van den Oord et al. 2016a, eq. 1). A convolution may therefore only look at pixels that come
 * BEFORE the one it predicts:
 *
 *   mask A (first layer): rows above, and the current row strictly left of the centre;
 *   mask B (later layers): the same plus the centre itself (features at position i already
 *                          depend only on x₍<ᵢ₎, so seeing them at i keeps the chain causal).
 *
 *   k = 5, mask A        mask B
 *   1 1 1 1 1            1 1 1 1 1
 *   1 1 1 1 1            1 1 1 1 1
 *   1 1 0 0 0            1 1 1 0 0
 *   0 0 0 0 0            0 0 0 0 0
 *   0 0 0 0 0            0 0 0 0 0
 *
 * With RGB one would also split channels into R/G/B groups (§3.4); greyscale needs no groups.
 *
 * The Gated PixelCNN (van den Oord et al. 2016b, §2.2) replaces the masked k×k conv by two
 * stacks without a blind spot: a VERTICAL stack (a ⌈k/2⌉×k conv over the current and previous
 * rows, shifted down one row before it feeds the horizontal stack) and a HORIZONTAL stack (a
 * 1×⌈k/2⌉ conv over the current row up to the centre; mask A in the first layer). Both are
 * implemented here as explicitly padded "valid" convolutions, which costs no masked-out FLOPs.
 */
import * as tf from "@tensorflow/tfjs";
import type { ParamScope } from "./blocks.ts";

export type MaskType = "A" | "B";

/** The k_h×k_w raster-order mask as numbers (1 = weight used), row-major. */
export function maskValues(kernelHeight: number, kernelWidth: number, type: MaskType): number[] {
  const ch = Math.floor(kernelHeight / 2);
  const cw = Math.floor(kernelWidth / 2);
  const out: number[] = [];
  for (let r = 0; r < kernelHeight; r++) {
    for (let c = 0; c < kernelWidth; c++) {
      const before = r < ch || (r === ch && (c < cw || (type === "B" && c === cw)));
      out.push(before ? 1 : 0);
    }
  }
  return out;
}

/** The mask as a [k_h, k_w, in, out] tensor (broadcast over channels; greyscale: no groups). */
export function causalMask(
  kernelHeight: number,
  kernelWidth: number,
  inChannels: number,
  outChannels: number,
  type: MaskType,
): tf.Tensor4D {
  return tf.tidy(() =>
    tf.tensor4d(maskValues(kernelHeight, kernelWidth, type), [kernelHeight, kernelWidth, 1, 1])
      .tile([1, 1, inChannels, outChannels]) as tf.Tensor4D
  );
}

/** A k_h×k_w convolution whose kernel is multiplied by a causal mask (stride 1, "same"). */
export class MaskedConv2d {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly mask: tf.Tensor4D;

  constructor(
    p: ParamScope,
    inChannels: number,
    outChannels: number,
    readonly type: MaskType,
    readonly kernelHeight: number,
    readonly kernelWidth = kernelHeight,
  ) {
    this.kernel = p.glorot("kernel", [kernelHeight, kernelWidth, inChannels, outChannels]);
    this.bias = p.zeros("bias", [outChannels]);
    this.mask = causalMask(kernelHeight, kernelWidth, inChannels, outChannels, type);
  }

  /** How many rows above the centre this layer reads (for the row-cropped sampler). */
  get rowsAbove(): number {
    return Math.floor(this.kernelHeight / 2);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() =>
      tf.conv2d(x, this.kernel.mul(this.mask) as tf.Tensor4D, 1, "same").add(this.bias)
    );
  }

  dispose(): void {
    this.mask.dispose();
  }
}

/**
 * Gated PixelCNN vertical-stack conv: output row i sees input rows i−⌊k/2⌋ … i, all k columns
 * around the centre (a ⌈k/2⌉×k kernel with top padding). Row i itself is included: the stack
 * never reaches the output directly, only through `shiftDown` into the horizontal stack.
 */
export class VerticalConv {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly half: number;

  constructor(p: ParamScope, inChannels: number, outChannels: number, readonly kernelSize: number) {
    this.half = Math.floor(kernelSize / 2);
    this.kernel = p.glorot("kernel", [this.half + 1, kernelSize, inChannels, outChannels]);
    this.bias = p.zeros("bias", [outChannels]);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const padded = tf.pad(x, [[0, 0], [this.half, 0], [this.half, this.half], [0, 0]]);
      return tf.conv2d(padded, this.kernel as tf.Tensor4D, 1, "valid").add(this.bias);
    });
  }
}

/**
 * Gated PixelCNN horizontal-stack conv: output (i, j) sees input (i, j−⌊k/2⌋ … j) — or, with
 * mask A (first layer), (i, j−⌊k/2⌋ … j−1): the pixel itself is excluded.
 */
export class HorizontalConv {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly half: number;
  readonly mask: tf.Tensor4D;

  constructor(
    p: ParamScope,
    inChannels: number,
    outChannels: number,
    readonly kernelSize: number,
    readonly type: MaskType,
  ) {
    this.half = Math.floor(kernelSize / 2);
    this.kernel = p.glorot("kernel", [1, this.half + 1, inChannels, outChannels]);
    this.bias = p.zeros("bias", [outChannels]);
    const columns = Array.from(
      { length: this.half + 1 },
      (_, c) => c < this.half || type === "B" ? 1 : 0,
    );
    this.mask = tf.tidy(() =>
      tf.tensor4d(columns, [1, this.half + 1, 1, 1]).tile([1, 1, inChannels, outChannels])
    );
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const padded = tf.pad(x, [[0, 0], [0, 0], [this.half, 0], [0, 0]]);
      return tf.conv2d(padded, this.kernel.mul(this.mask) as tf.Tensor4D, 1, "valid").add(
        this.bias,
      );
    });
  }

  dispose(): void {
    this.mask.dispose();
  }
}

/** Shift a feature map down one row (zeros enter at the top): row i then holds rows < i only. */
export function shiftDown(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    return tf.concat([tf.zeros([n, 1, w, c]), x.slice([0, 0, 0, 0], [n, h - 1, w, c])], 1);
  });
}

/** Shift a feature map right one column (zeros enter at the left). */
export function shiftRight(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    return tf.concat([tf.zeros([n, h, 1, c]), x.slice([0, 0, 0, 0], [n, h, w - 1, c])], 2);
  });
}
