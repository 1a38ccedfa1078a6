/**
 * The one PNG writer: image batches → a grid PNG (fast-png).
 */
import type * as tf from "@tensorflow/tfjs";
import { encode } from "fast-png";

export interface GridOptions {
  /** Images per row; default ceil(sqrt(n)). */
  columns?: number;
  /** Pixels between tiles. */
  padding?: number;
  /** Integer upscaling (nearest) so small images are visible. */
  scale?: number;
  /** Value range of the input tensor. */
  range?: "[-1,1]" | "[0,1]";
}

/** A grid of NHWC images (1 or 3 channels) as PNG bytes. Does not dispose `images`. Async: the
 * pixels are read with `await images.data()`, which every backend (webgpu too) supports. */
export async function imageGridPng(
  images: tf.Tensor4D,
  options: GridOptions = {},
): Promise<Uint8Array> {
  return gridPng(await images.data(), images.shape, options);
}

/** The same grid from values already on the CPU (row-major NHWC, shape [n, h, w, c]). */
export function gridPng(
  values: ArrayLike<number>,
  shape: readonly [number, number, number, number],
  options: GridOptions = {},
): Uint8Array {
  const [n, height, width, channels] = shape;
  if (channels !== 1 && channels !== 3) {
    throw new Error(`image grid: 1 or 3 channels, got ${channels}`);
  }
  if (values.length !== n * height * width * channels) {
    throw new Error(`image grid: ${values.length} values for shape [${shape}]`);
  }
  const columns = options.columns ?? Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / columns);
  const padding = options.padding ?? 2;
  const scale = options.scale ?? 2;
  const toByte = options.range === "[0,1]"
    ? (v: number) => v * 255
    : (v: number) => (v + 1) * 127.5;
  const tileW = width * scale;
  const tileH = height * scale;
  const outW = columns * tileW + (columns + 1) * padding;
  const outH = rows * tileH + (rows + 1) * padding;
  const pixels = new Uint8Array(outW * outH * channels).fill(255);
  for (let i = 0; i < n; i++) {
    const x0 = padding + (i % columns) * (tileW + padding);
    const y0 = padding + Math.floor(i / columns) * (tileH + padding);
    for (let y = 0; y < tileH; y++) {
      for (let x = 0; x < tileW; x++) {
        const src = ((i * height + Math.floor(y / scale)) * width + Math.floor(x / scale)) *
          channels;
        const dst = ((y0 + y) * outW + x0 + x) * channels;
        for (let c = 0; c < channels; c++) {
          pixels[dst + c] = Math.max(0, Math.min(255, Math.round(toByte(values[src + c]))));
        }
      }
    }
  }
  return encode({ width: outW, height: outH, data: pixels, channels, depth: 8 });
}
