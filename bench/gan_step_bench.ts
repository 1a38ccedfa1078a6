/**
 * DCGAN discriminator step and generator step at batch 64 (the demo's configuration).
 *
 *   deno task bench                                 # default backend (auto: native, else wasm)
 *   GENLAB_BACKEND=cpu deno bench -A bench/gan_step_bench.ts
 *   GENLAB_BACKEND=webgpu deno bench -A bench/gan_step_bench.ts   # on a machine with a GPU
 *   GENLAB_WASM_THREADS=1 deno bench -A bench/gan_step_bench.ts
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendName, setupBackend } from "../lib/backend/mod.ts";
import { Dcgan, DCGAN_DEFAULTS } from "../lib/models/gan/dcgan.ts";

const backend = (Deno.env.get("GENLAB_BACKEND") ?? "auto") as BackendName;
const info = await setupBackend({ backend });
const batch = Number(Deno.env.get("GENLAB_BENCH_BATCH") ?? 64);
const model = new Dcgan(DCGAN_DEFAULTS, { range: "[-1,1]", height: 28, width: 28, channels: 1 }, 0);
const real = tf.randomUniform([batch, 28, 28, 1], -1, 1, "float32", 1) as tf.Tensor4D;
// Warm up: the first step creates optimizer state and compiles kernels.
await model.trainStep({ x: real }, 0);
const group = `dcgan batch ${batch} on ${info.name} (${info.threads} thread${
  info.threads === 1 ? "" : "s"
})`;

Deno.bench("discriminator step", { group, baseline: true }, async () => {
  await model.discriminatorStep(real);
});

Deno.bench("generator step", { group }, async () => {
  await model.generatorStep(batch);
});

Deno.bench("D + G step", { group }, async () => {
  await model.trainStep({ x: real }, 1);
});
