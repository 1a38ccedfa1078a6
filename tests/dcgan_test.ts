/**
 * DCGAN math: the losses' closed forms and gradients, and the architecture's shapes.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { bceWithLogits, discriminatorLoss, nonSaturatingGeneratorLoss } from "../lib/nn/losses.ts";
import { Dcgan, DCGAN_DEFAULTS } from "../lib/models/gan/dcgan.ts";
import { useBackend } from "./helpers.ts";

const DATA = { range: "[-1,1]" as const, height: 28, width: 28, channels: 1 };

const close = (a: number, b: number, tol = 1e-6) =>
  assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

Deno.test("losses: closed forms at D = 1/2 and at confident logits", async () => {
  await useBackend("cpu");
  // D(x) = σ(0) = 1/2 everywhere: L_D = 2 ln 2, L_G = ln 2 (the equilibrium values).
  const zero = tf.zeros([5, 1]);
  close(discriminatorLoss(zero, zero).dataSync()[0], 2 * Math.LN2);
  close(nonSaturatingGeneratorLoss(zero).dataSync()[0], Math.LN2);
  // −log σ(z) = log(1 + e^{−z}); large |z| stays finite (softplus form).
  const logits = tf.tensor1d([3, -3, 80, -80]);
  const expected1 = [3, -3, 80, -80].map((z) => Math.log1p(Math.exp(-z)));
  const expected1Mean = expected1.reduce((a, b) => a + b) / 4;
  close(bceWithLogits(logits, 1).dataSync()[0], expected1Mean, 1e-4);
  tf.dispose([zero, logits]);
});

Deno.test("losses: non-saturating G gradient stays large where the minimax one vanishes", async () => {
  await useBackend("cpu");
  // When D confidently rejects fakes (logit −6): d/dz log(1 − σ(z)) = −σ(z) ≈ −0.0025,
  // d/dz [−log σ(z)] = σ(z) − 1 ≈ −0.9975 (Goodfellow et al. 2014, §3).
  const z = tf.scalar(-6);
  const saturating = tf.grad((x: tf.Tensor) => tf.log(tf.sub(1, tf.sigmoid(x))))(z).dataSync()[0];
  const nonSaturating = tf.grad((x: tf.Tensor) => nonSaturatingGeneratorLoss(x))(z).dataSync()[0];
  const sigma = 1 / (1 + Math.exp(6));
  close(saturating, -sigma, 1e-6);
  close(nonSaturating, sigma - 1, 1e-6);
  assert.ok(Math.abs(nonSaturating) > 100 * Math.abs(saturating));
  z.dispose();
});

Deno.test("dcgan: shapes, tanh range, parameter counts, no leaked tensors per step", async () => {
  await useBackend("cpu");
  const model = new Dcgan(
    { ...DCGAN_DEFAULTS, generatorFilters: 4, discriminatorFilters: 4, latentDim: 8 },
    { range: "[-1,1]", height: 28, width: 28, channels: 1 },
    0,
  );
  const samples = await model.sample(3, { seed: 1 });
  assert.deepEqual(samples.shape, [3, 28, 28, 1]);
  const values = samples.dataSync();
  assert.ok(values.every((v) => v >= -1 && v <= 1));
  // G: dense 8→7·7·8 (no bias) + BN(8·49... ) — count via the closed form of each layer.
  const f = 4, latent = 8;
  const denseG = latent * 49 * 2 * f; // no bias
  const bn = (c: number) => 4 * c; // gamma, beta, moving mean, moving variance
  const convT1 = 4 * 4 * (2 * f) * f; // no bias
  const convT2 = 4 * 4 * f * 1 + 1;
  assert.equal(model.generator.countParams(), denseG + bn(49 * 2 * f) + convT1 + bn(f) + convT2);
  const x = tf.randomUniform([2, 28, 28, 1], -1, 1) as tf.Tensor4D;
  await model.trainStep({ x }, 1);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await model.trainStep({ x }, i + 2);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([samples, x]);
  model.dispose();
});

Deno.test("dcgan: D steps change only D, G steps change only G", async () => {
  await useBackend("cpu");
  const model = new Dcgan(
    { ...DCGAN_DEFAULTS, generatorFilters: 2, discriminatorFilters: 2, latentDim: 4 },
    { range: "[-1,1]", height: 28, width: 28, channels: 1 },
    0,
  );
  const snapshot = (m: tf.LayersModel) =>
    m.trainableWeights.map((w) => Array.from(w.read().dataSync()));
  const x = tf.randomUniform([2, 28, 28, 1], -1, 1) as tf.Tensor4D;
  const g0 = snapshot(model.generator), d0 = snapshot(model.discriminator);
  await model.discriminatorStep(x);
  assert.deepEqual(snapshot(model.generator), g0);
  assert.notDeepEqual(snapshot(model.discriminator), d0);
  const d1 = snapshot(model.discriminator);
  await model.generatorStep(2);
  assert.deepEqual(snapshot(model.discriminator), d1);
  assert.notDeepEqual(snapshot(model.generator), g0);
  x.dispose();
  model.dispose();
});

Deno.test("dcgan: generatorEma averages all of G's weights; eval/sample get the average", async () => {
  await useBackend("cpu");
  const { loadRun, resolveSpec, train } = await import("../lib/train/trainer.ts");
  const tiny = { generatorFilters: 2, discriminatorFilters: 2, latentDim: 4 };
  const off = new Dcgan({ ...DCGAN_DEFAULTS, ...tiny }, DATA, 0);
  assert.equal(off.ema, undefined, "no EMA unless asked for");
  off.dispose();
  const on = new Dcgan({ ...DCGAN_DEFAULTS, ...tiny, generatorEma: 0.9 }, DATA, 0);
  // Trainable weights and batch-norm moving statistics alike.
  assert.equal(on.ema!().variables.length, on.generator.weights.length);
  on.dispose();

  const dir = `${Deno.makeTempDirSync()}/run`;
  const spec = resolveSpec("dcgan", {
    steps: 4,
    batch: 4,
    seed: 0,
    modelConfig: { ...tiny, generatorEma: 0.9 },
    sampleCount: 4,
  });
  (await train(spec, { out: dir, progress: false })).model.dispose();
  const averaged = await loadRun(dir, "ema");
  const live = await loadRun(dir, "live");
  assert.equal(averaged.weights, "ema");
  const a = await averaged.model.sample(2, { seed: 3 });
  const b = await live.model.sample(2, { seed: 3 });
  // After 4 steps the average (decay ≤ 0.9 with warm-up) lags the live weights: samples differ.
  assert.ok(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] > 1e-6);
  tf.dispose([a, b]);
  averaged.model.dispose();
  live.model.dispose();
});
