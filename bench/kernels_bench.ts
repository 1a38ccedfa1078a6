/**
 * Kernel timings on the wasm backend at DCGAN sizes (batch 64, 28×28 images):
 *   deno bench -A bench/kernels_bench.ts            (GENLAB_WASM_THREADS=1 for one thread)
 * The conv gradients and transposed matmuls are genlab's replacements (lib/backend/).
 */
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../lib/backend/mod.ts";

await setupBackend({ backend: "wasm" });

const B = 64;
const x2 = tf.randomNormal([B, 14, 14, 64]) as tf.Tensor4D;
const w2 = tf.randomNormal([5, 5, 64, 128]) as tf.Tensor4D;
const dy2 = tf.randomNormal([B, 7, 7, 128]) as tf.Tensor4D;
const x1 = tf.randomNormal([B, 28, 28, 1]) as tf.Tensor4D;
const w1 = tf.randomNormal([5, 5, 1, 64]) as tf.Tensor4D;
const dy1 = tf.randomNormal([B, 14, 14, 64]) as tf.Tensor4D;
const m = tf.randomNormal([1024, 1024]);
const xd = tf.randomNormal([B, 100]);
const dyd = tf.randomNormal([B, 6272]);

function run(f: () => tf.Tensor): void {
  tf.tidy(() => {
    f().dataSync();
  });
}

const filterGrad = (x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[]) =>
  tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
    strides: 2,
    pad: "same",
    dataFormat: "NHWC",
    filterShape,
  }) as tf.Tensor;

Deno.bench("matMul 1024³", { group: "matmul", baseline: true }, () => run(() => tf.matMul(m, m)));
Deno.bench(
  "matMul 1024³ transposeB",
  { group: "matmul" },
  () => run(() => tf.matMul(m, m, false, true)),
);
Deno.bench(
  "dense dW = xᵀ·dy (100×64×6272)",
  { group: "matmul" },
  () => run(() => tf.matMul(xd, dyd, true, false)),
);

Deno.bench(
  "conv2d 14²×64 → 7²×128 (5×5 s2)",
  { group: "conv 64→128", baseline: true },
  () => run(() => tf.conv2d(x2, w2, 2, "same")),
);
Deno.bench(
  "Conv2DBackpropFilter",
  { group: "conv 64→128" },
  () => run(() => filterGrad(x2, dy2, [5, 5, 64, 128])),
);
Deno.bench(
  "Conv2DBackpropInput (= conv2dTranspose)",
  { group: "conv 64→128" },
  () => run(() => tf.conv2dTranspose(dy2, w2, [B, 14, 14, 64], 2, "same")),
);

Deno.bench(
  "conv2d 28²×1 → 14²×64 (5×5 s2)",
  { group: "conv 1→64", baseline: true },
  () => run(() => tf.conv2d(x1, w1, 2, "same")),
);
Deno.bench(
  "Conv2DBackpropFilter (im2col)",
  { group: "conv 1→64" },
  () => run(() => filterGrad(x1, dy1, [5, 5, 1, 64])),
);
Deno.bench(
  "Conv2DBackpropInput (col2im)",
  { group: "conv 1→64" },
  () => run(() => tf.conv2dTranspose(dy1, w1, [B, 28, 28, 1], 2, "same")),
);
