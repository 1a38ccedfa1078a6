/**
 * The diffusion workloads of the speed report on one backend: a U-Net denoising pass and a
 * U-Net training step at batch 64 (bench/workloads.ts), plus a 10-step denoising loop.
 *
 *   deno bench -A bench/denoise_bench.ts                        # GENLAB_BACKEND=auto
 *   GENLAB_BACKEND=wasm GENLAB_WASM_THREADS=1 deno bench -A bench/denoise_bench.ts
 *   GENLAB_BACKEND=webgpu deno bench -A bench/denoise_bench.ts  # on a machine with a GPU
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendName, setupBackend } from "../lib/backend/mod.ts";
import { UNet } from "../lib/models/diffusion/unet.ts";
import { prepare } from "./workloads.ts";

const info = await setupBackend({
  backend: (Deno.env.get("GENLAB_BACKEND") ?? "auto") as BackendName,
});
const group = `U-Net batch 64 on ${info.name} (${info.threads} thread${
  info.threads === 1 ? "" : "s"
})`;

const denoise = prepare("unet-denoise");
const train = prepare("unet-train");
await denoise.step(); // warm-up: kernel setup, optimizer slots
await train.step();

Deno.bench("denoising pass", { group, baseline: true }, async () => {
  await denoise.step();
});

Deno.bench("training step", { group }, async () => {
  await train.step();
});

// A sampler's inner loop: x ← (x − c₁·ε̂(x, t)) · c₂ over 10 timesteps, read once at the end.
const model = new UNet({}, 0);
const start = tf.randomNormal([64, 28, 28, 1], 0, 1, "float32", 4) as tf.Tensor4D;
Deno.bench("10-step denoising loop", { group }, async () => {
  let x = tf.clone(start);
  for (let step = 9; step >= 0; step--) {
    const next = tf.tidy(() => {
      const t = tf.fill([64], step * 100) as tf.Tensor1D;
      return tf.mul(tf.sub(x, tf.mul(model.apply(x, t), 0.1)), 1.01) as tf.Tensor4D;
    });
    x.dispose();
    x = next;
  }
  await x.data();
  x.dispose();
});
