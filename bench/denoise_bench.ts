/**
 * Diffusion speed on one backend: a denoising step (U-Net forward + DDIM update, through the same
 * Denoiser and sampler code `sample()` runs) at batch 1/16/64; full sampling loops DDPM-1000 vs
 * DDIM-{10, 20, 50, 100} at batch 4 (same network, same start noise); and the batch-64 U-Net
 * pass and training step of the speed report (bench/workloads.ts).
 *
 *   deno bench -A bench/denoise_bench.ts                        # GENLAB_BACKEND=auto
 *   GENLAB_BACKEND=wasm GENLAB_WASM_THREADS=1 deno bench -A bench/denoise_bench.ts
 *   GENLAB_BACKEND=webgpu deno bench -A bench/denoise_bench.ts  # on a machine with a GPU
 *
 * Untrained weights: the work per step does not depend on them. The loop group takes ≈1 min on
 * 2 cores (deno bench runs each loop at least twice: a warm-up and one measured iteration).
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendName, setupBackend } from "../lib/backend/mod.ts";
import { UNet } from "../lib/models/diffusion/unet.ts";
import { makeSchedule } from "../lib/models/diffusion/schedule.ts";
import { Denoiser } from "../lib/models/diffusion/denoiser.ts";
import { makeSampler, sampleLoop, type SamplingMethod } from "../lib/models/diffusion/samplers.ts";
import { Rng } from "../lib/util/rng.ts";
import { prepare } from "./workloads.ts";

const info = await setupBackend({
  backend: (Deno.env.get("GENLAB_BACKEND") ?? "auto") as BackendName,
});
const on = `on ${info.name} (${info.threads} thread${info.threads === 1 ? "" : "s"})`;

const unet = new UNet({}, 0);
const schedule = makeSchedule({ kind: "linear", timesteps: 1000 });
const denoiser = new Denoiser((x, t, labels) => unet.apply(x, t, labels), "epsilon", schedule);

/** Resolve once x is computed (one element read, as in workloads.ts). */
async function computed(x: tf.Tensor): Promise<void> {
  const first = tf.tidy(() => x.reshape([-1]).slice(0, 1));
  await first.data();
  first.dispose();
}

// ── one denoising step: U-Net forward + DDIM update at t = 500 ──
const ddim = makeSampler(schedule, { sampler: "ddim", steps: 50 });
const middle = 25; // the step from the 25th of 50 timesteps
for (const batch of [1, 16, 64]) {
  const x = tf.randomNormal([batch, 28, 28, 1], 0, 1, "float32", batch) as tf.Tensor4D;
  const rng = new Rng(0);
  const step = async () => {
    const next = tf.tidy(() => ddim.step(denoiser.predict(x, ddim.points[middle]), middle, x, rng));
    await computed(next);
    next.dispose();
  };
  await step(); // warm-up: kernel setup
  Deno.bench(`denoising step, batch ${batch}`, {
    group: `one denoising step ${on}`,
    baseline: batch === 1,
  }, step);
}

// ── full loops at a small batch, same start noise ──
const LOOP_BATCH = 4;
const start = tf.randomNormal([LOOP_BATCH, 28, 28, 1], 0, 1, "float32", 7) as tf.Tensor4D;
const loops: [string, SamplingMethod][] = [
  ["DDPM-1000", { sampler: "ddpm" }],
  ...[10, 20, 50, 100].map((steps): [string, SamplingMethod] => [
    `DDIM-${steps}`,
    { sampler: "ddim", steps, eta: 0 },
  ]),
];
for (const [name, method] of loops) {
  Deno.bench(name, {
    group: `sampling loop, batch ${LOOP_BATCH}, ${on}`,
    baseline: name === "DDPM-1000",
    n: 1,
    warmup: 0,
  }, async () => {
    const x = await sampleLoop(denoiser, makeSampler(schedule, method), start, { seed: 1 });
    await computed(x);
    x.dispose();
  });
}

// ── the speed report's batch-64 workloads ──
const pass = prepare("unet-denoise");
const train = prepare("unet-train");
await pass.step();
await train.step();
const group = `U-Net batch 64 ${on}`;
Deno.bench("denoising pass", { group, baseline: true }, async () => {
  await pass.step();
});
Deno.bench("training step", { group }, async () => {
  await train.step();
});
