/**
 * One D (critic) step and one G step of every GAN variant at batch 64 on MNIST-shaped data, plus
 * the vanilla GAN and WGAN-GP on 2-D points (the ring's MLPs).
 *
 *   deno bench -A bench/gan_bench.ts
 *   GENLAB_BACKEND=cpu deno bench -A bench/gan_bench.ts
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendName, setupBackend } from "../lib/backend/mod.ts";
import { Dcgan, DCGAN_DEFAULTS } from "../lib/models/gan/dcgan.ts";
import { Gan, GAN_CONFIG } from "../lib/models/gan/gan.ts";
import {
  ACGAN_CONFIG,
  CGAN_CONFIG,
  ConditionalGan,
  INFOGAN_CONFIG,
} from "../lib/models/gan/conditional.ts";
import { SCGAN_CONFIG, SelfConditionedGan } from "../lib/models/gan/self_conditioned.ts";
import { Wgan, WGAN_CONFIG, WGAN_GP_CONFIG } from "../lib/models/gan/wgan.ts";

const backend = (Deno.env.get("GENLAB_BACKEND") ?? "auto") as BackendName;
const info = await setupBackend({ backend });
const batch = 64;
const image = { range: "[-1,1]" as const, height: 28, width: 28, channels: 1 };
const points = { range: "[-1,1]" as const, height: 1, width: 1, channels: 2 };
const real = tf.randomUniform([batch, 28, 28, 1], -1, 1, "float32", 1) as tf.Tensor4D;
const realPoints = tf.randomNormal([batch, 1, 1, 2], 0, 1, "float32", 2) as tf.Tensor4D;
const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), "int32");
const where = `batch ${batch} on ${info.name} (${info.threads} thread${
  info.threads === 1 ? "" : "s"
})`;

interface Variant {
  name: string;
  d: () => Promise<unknown>;
  g: () => Promise<unknown>;
}

const dcgan = new Dcgan(DCGAN_DEFAULTS, image, 0);
const gan = new Gan(GAN_CONFIG.defaults, image, 0);
const cgan = new ConditionalGan("cgan", CGAN_CONFIG.defaults, image, 10, 0);
const acgan = new ConditionalGan("acgan", ACGAN_CONFIG.defaults, image, 10, 0);
const infogan = new ConditionalGan("infogan", INFOGAN_CONFIG.defaults, image, 10, 0);
// scgan's clusters: k-means of 64 random "images" (the cost per step does not depend on them).
const scgan = new SelfConditionedGan(SCGAN_CONFIG.defaults, image, 0);
const scganData = Uint8Array.from(await real.data(), (v) => Math.round((v + 1) * 127.5));
await scgan.fit({
  name: "bench",
  split: "train",
  images: scganData,
  labels: new Uint8Array(batch),
  count: batch,
  ...image,
  numClasses: 0,
  classNames: [],
  provenance: "random",
});
const wgan = new Wgan("wgan", WGAN_CONFIG.defaults, image, 0);
const wganGp = new Wgan("wgan-gp", WGAN_GP_CONFIG.defaults, image, 0);
const ganRing = new Gan(GAN_CONFIG.parse({ latentDim: 2 }), points, 0);
const wganGpRing = new Wgan("wgan-gp", WGAN_GP_CONFIG.parse({ latentDim: 2 }), points, 0);

const variants: Variant[] = [
  { name: "dcgan", d: () => dcgan.discriminatorStep(real), g: () => dcgan.generatorStep(batch) },
  { name: "gan (MLP)", d: () => gan.discriminatorStep(real), g: () => gan.generatorStep(batch) },
  {
    name: "cgan",
    d: () => cgan.discriminatorStep(real, labels),
    g: () => cgan.generatorStep(labels),
  },
  {
    name: "acgan",
    d: () => acgan.discriminatorStep(real, labels),
    g: () => acgan.generatorStep(labels),
  },
  {
    name: "infogan",
    d: () => infogan.discriminatorStep(real, labels), // labels play the sampled codes here
    g: () => infogan.generatorStep(labels),
  },
  {
    name: "scgan (K = 20; D step = cluster ids + cgan D step)",
    d: async () => {
      const ids = scgan.clusterIds(real);
      await scgan.gan.discriminatorStep(real, ids);
      ids.dispose();
    },
    g: () => scgan.gan.generatorStep(labels),
  },
  { name: "wgan", d: () => wgan.criticStep(real), g: () => wgan.generatorStep(batch) },
  { name: "wgan-gp", d: () => wganGp.criticStep(real), g: () => wganGp.generatorStep(batch) },
  {
    name: "gan on 2-D points",
    d: () => ganRing.discriminatorStep(realPoints),
    g: () => ganRing.generatorStep(batch),
  },
  {
    name: "wgan-gp on 2-D points",
    d: () => wganGpRing.criticStep(realPoints),
    g: () => wganGpRing.generatorStep(batch),
  },
];

// Warm up: the first steps create optimizer state and compile kernels.
for (const v of variants) {
  await v.d();
  await v.g();
}

for (const v of variants) {
  Deno.bench(`${v.name}: D step`, { group: `D step, ${where}` }, async () => {
    await v.d();
  });
  Deno.bench(`${v.name}: G step`, { group: `G step, ${where}` }, async () => {
    await v.g();
  });
}
