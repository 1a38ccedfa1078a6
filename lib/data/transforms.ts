/**
 * Pixel scalings a model can ask for (DataSpec.range).
 */
import * as tf from "@tensorflow/tfjs";
import type { DataSpec } from "./types.ts";

/** uint8 pixels → the model's range: [-1,1] (GANs, diffusion), [0,1], or {0,1} binarized at 0.5
 * (likelihood models on binarized MNIST, deterministic threshold). */
export function scalePixels(
  pixels: Uint8Array,
  shape: [number, number, number, number],
  range: DataSpec["range"],
): tf.Tensor4D {
  const values = new Float32Array(pixels.length);
  if (range === "[-1,1]") {
    for (let i = 0; i < pixels.length; i++) values[i] = pixels[i] / 127.5 - 1;
  } else if (range === "[0,1]") {
    for (let i = 0; i < pixels.length; i++) values[i] = pixels[i] / 255;
  } else for (let i = 0; i < pixels.length; i++) values[i] = pixels[i] >= 128 ? 1 : 0;
  return tf.tensor4d(values, shape);
}

/** Model output in [-1, 1] → uint8 pixels (for PNGs and metrics on bytes). Async: read with
 * `await images.data()`, which every backend (webgpu too) supports. */
export async function toUint8(images: tf.Tensor4D): Promise<Uint8Array> {
  const values = await images.data();
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    out[i] = Math.max(0, Math.min(255, Math.round((values[i] + 1) * 127.5)));
  }
  return out;
}
