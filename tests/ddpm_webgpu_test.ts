/**
 * DDPM on the webgpu backend matches the native one: one training step (loss and the updated
 * weights) and a short DDIM loop from the same noise, within 1e-3 (relative to the largest
 * magnitude, as in backend_webgpu_test.ts, whose header explains the tolerance). Without a WebGPU
 * adapter (Mesa's llvmpipe software adapter is enough) the tests are ignored and the reason printed.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../lib/backend/mod.ts";
import { probeWebgpu, setupWebgpu } from "../lib/backend/webgpu.ts";
import { Ddpm, DDPM_CONFIG } from "../lib/models/diffusion/ddpm_model.ts";

const TOL = 1e-3;
const probe = await probeWebgpu();
const ignore = !probe.ok;
let nativeName = "";
if (ignore) {
  console.log(`ddpm_webgpu_test: every test ignored: ${probe.reason}`);
} else {
  await setupWebgpu();
  await setupBackend({ backend: "native" }); // registers kernels; tfjs name of the native backend:
  nativeName = tf.getBackend();
}

const DATA = { range: "[-1,1]" as const, height: 8, width: 8, channels: 1 };
const CONFIG = DDPM_CONFIG.parse({
  baseChannels: 8,
  channelMults: "1,2",
  groups: 4,
  timesteps: 100,
  predictionType: "v",
  lossWeighting: "min-snr",
});

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-12);
}

/** On one backend: build (same seed → same init), one step, then DDIM-5 (η = 0) from seed 9. */
async function run(backend: string) {
  await tf.setBackend(backend);
  const model = new Ddpm(CONFIG, DATA, 10, 4);
  const x = tf.tidy(() =>
    tf.clipByValue(tf.randomNormal([4, 8, 8, 1], 0, 0.6, "float32", 2), -1, 1)
  ) as tf.Tensor4D;
  const { loss } = await model.trainStep({ x }, 1);
  const weights = await Promise.all(model.network.variables().map((v) => v.data()));
  const images = await model.sample(4, { seed: 9, method: { sampler: "ddim", steps: 5, eta: 0 } });
  const samples = await images.data();
  tf.dispose([x, images]);
  model.dispose();
  return { loss, weights: weights.flatMap((w) => Array.from(w)), samples };
}

Deno.test({
  name: "ddpm on webgpu: one training step and a DDIM-5 loop match native within 1e-3",
  ignore,
  fn: async () => {
    const ref = await run(nativeName);
    const got = await run("webgpu");
    const lossErr = Math.abs(got.loss - ref.loss) / Math.abs(ref.loss);
    const weightErr = relErr(got.weights, ref.weights);
    const sampleErr = relErr(got.samples, ref.samples);
    console.log(
      `webgpu vs native: loss ${lossErr.toExponential(1)}, weights ${
        weightErr.toExponential(1)
      }, DDIM samples ${sampleErr.toExponential(1)}`,
    );
    assert.ok(lossErr < TOL, `loss ${got.loss} vs ${ref.loss}`);
    assert.ok(weightErr < TOL, `weights after one step differ by ${weightErr}`);
    assert.ok(sampleErr < TOL, `DDIM samples differ by ${sampleErr}`);
  },
});
