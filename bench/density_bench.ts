/**
 * Why autoregressive sampling is slow, in numbers, and why flows are not:
 *   - PixelCNN / Gated PixelCNN (default configs, binarized 28×28): scoring a batch of 16 images
 *     (one forward pass gives all 784 conditionals) against sampling 16 images pixel by pixel
 *     (784 row-cropped passes);
 *   - RealNVP (default config): density of 16 images (one forward pass) against sampling 16 images
 *     (one inverse pass).
 *
 *   deno bench -A bench/density_bench.ts           # default backend (auto: native, else wasm)
 *   GENLAB_BACKEND=wasm deno bench -A bench/density_bench.ts
 *
 * Per-image sampling time = the sampling row / 16. Untrained weights: the cost does not depend
 * on what the network has learned.
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendName, setupBackend } from "../lib/backend/mod.ts";
import { createPixelCnn, PIXELCNN_CONFIG } from "../lib/models/autoregressive/pixelcnn.ts";
import {
  createGatedPixelCnn,
  GATED_PIXELCNN_CONFIG,
} from "../lib/models/autoregressive/gated_pixelcnn.ts";
import { FlowImageModel, REALNVP_CONFIG } from "../lib/models/flow/realnvp.ts";

const backend = (Deno.env.get("GENLAB_BACKEND") ?? "auto") as BackendName;
const info = await setupBackend({ backend });
const n = 16;
const on = `${info.name} (${info.threads} thread${info.threads === 1 ? "" : "s"})`;
const binary = { range: "binary" as const, height: 28, width: 28, channels: 1 };
const images = tf.tidy(() => tf.randomUniform([n, 28, 28, 1], 0, 1, "float32", 1).round());
const batch = { x: images as tf.Tensor4D };

const pixelcnn = createPixelCnn(PIXELCNN_CONFIG.defaults, binary, 0);
const gated = createGatedPixelCnn(GATED_PIXELCNN_CONFIG.parse({ filters: 32 }), binary, 0);
for (
  const [name, model] of [["pixelcnn", pixelcnn], ["gated-pixelcnn (filters 32)", gated]] as const
) {
  const group = `${name}, ${n} images, ${on}`;
  Deno.bench(
    `${name}: NLL of ${n} images (one forward pass)`,
    { group, baseline: true },
    async () => {
      await model.nll(batch);
    },
  );
  Deno.bench(
    `${name}: sample ${n} images (784 sequential steps)`,
    { group, n: 2, warmup: 0 },
    async () => {
      (await model.sample(n, { seed: 1 })).dispose();
    },
  );
}

const flow = new FlowImageModel(
  "realnvp",
  REALNVP_CONFIG.defaults,
  { ...binary, range: "[0,1]" },
  0,
);
const flowGroup = `realnvp, ${n} images, ${on}`;
Deno.bench(
  `realnvp: NLL of ${n} images (forward pass)`,
  { group: flowGroup, baseline: true },
  async () => {
    await flow.nll(batch);
  },
);
Deno.bench(`realnvp: sample ${n} images (inverse pass)`, { group: flowGroup }, async () => {
  const x = await flow.sample(n, { seed: 1 });
  await x.data();
  x.dispose();
});
