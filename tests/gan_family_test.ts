/**
 * GAN family I (gan, cgan, acgan, wgan, wgan-gp): the losses' hand values, the gradient penalty
 * (zero for a 1-Lipschitz linear critic; its weight gradient against finite differences),
 * clipping, label dependence of a conditional G, the mode-coverage metric, and 2-D point training.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  discriminatorLoss,
  gradientPenalty,
  hingeDiscriminatorLoss,
  hingeGeneratorLoss,
  lsganDiscriminatorLoss,
  lsganGeneratorLoss,
  minimaxGeneratorLoss,
  nonSaturatingGeneratorLoss,
  wassersteinCriticLoss,
  wassersteinGeneratorLoss,
} from "../lib/nn/losses.ts";
import { registerGradientFixes } from "../lib/backend/gradients.ts";
import { klToUniform, modeCoverage } from "../lib/models/gan/diagnostics.ts";
import { Wgan, WGAN_CONFIG } from "../lib/models/gan/wgan.ts";
import { CGAN_CONFIG, ConditionalGan, INFOGAN_CONFIG } from "../lib/models/gan/conditional.ts";
import { sampleToy2d, toy2dModes } from "../lib/data/toy2d.ts";
import { loadRun, resolveSpec, train } from "../lib/train/trainer.ts";
import { applyLinearDecay } from "../lib/models/gan/common.ts";
import { adam } from "../lib/nn/optimizers.ts";
import { Rng } from "../lib/util/rng.ts";
import { tempDir, useBackend } from "./helpers.ts";

const close = (a: number, b: number, tol = 1e-5) =>
  assert.ok(Math.abs(a - b) < tol, `${a} vs ${b} (tol ${tol})`);
const value = (t: tf.Tensor) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};
const softplus = (x: number) => Math.log1p(Math.exp(x));

Deno.test("losses equal hand-computed values on fixed logits", async () => {
  await useBackend("cpu");
  const real = tf.tensor1d([0.5, 2]);
  const fake = tf.tensor1d([-1, 0.5]);
  // BCE forms: −log σ(r) = softplus(−r), −log(1 − σ(f)) = softplus(f).
  close(
    value(discriminatorLoss(real, fake)),
    (softplus(-0.5) + softplus(-2)) / 2 + (softplus(-1) + softplus(0.5)) / 2,
  );
  close(value(nonSaturatingGeneratorLoss(fake)), (softplus(1) + softplus(-0.5)) / 2);
  close(value(minimaxGeneratorLoss(fake)), -(softplus(-1) + softplus(0.5)) / 2);
  // LSGAN: ½·mean((r−1)²) + ½·mean(f²) = ½·(0.25+1)/2 + ½·(1+0.25)/2 = 0.625; G: ½·(4+0.25)/2.
  close(value(lsganDiscriminatorLoss(real, fake)), 0.625);
  close(value(lsganGeneratorLoss(fake)), 1.0625);
  // hinge: mean(relu(1−r)) + mean(relu(1+f)) = (0.5+0)/2 + (0+1.5)/2 = 1; G: −mean(f) = 0.25.
  close(value(hingeDiscriminatorLoss(real, fake)), 1);
  close(value(hingeGeneratorLoss(fake)), 0.25);
  // Wasserstein: mean(f) − mean(r) = −0.25 − 1.25; G: −mean(f).
  close(value(wassersteinCriticLoss(real, fake)), -1.5);
  close(value(wassersteinGeneratorLoss(fake)), 0.25);
  tf.dispose([real, fake]);
});

Deno.test("the non-saturating G loss has the larger gradient where D(G(z)) ≈ 0", async () => {
  await useBackend("cpu");
  const logits = tf.tensor1d([-8, -6, -4]); // D(G(z)) = σ(logit) ≈ 3e-4 … 2e-2
  const minimax = tf.grad((z: tf.Tensor) => minimaxGeneratorLoss(z))(logits).dataSync();
  const nonSaturating = tf.grad((z: tf.Tensor) => nonSaturatingGeneratorLoss(z))(logits)
    .dataSync();
  [-8, -6, -4].forEach((z, i) => {
    const sigma = 1 / (1 + Math.exp(-z));
    close(minimax[i], -sigma / 3, 1e-6); // d/dz of −mean softplus(z) = −σ(z)/n
    close(nonSaturating[i], (sigma - 1) / 3, 1e-6); // d/dz of mean softplus(−z) = (σ(z) − 1)/n
    assert.ok(Math.abs(nonSaturating[i]) > 10 * Math.abs(minimax[i]));
  });
  logits.dispose();
});

Deno.test("gradient penalty: ≈ 0 for a 1-Lipschitz linear critic, (‖w‖ − 1)² otherwise", async () => {
  await useBackend("cpu");
  registerGradientFixes();
  const real = tf.randomNormal([6, 2, 2, 1], 0, 1, "float32", 1);
  const fake = tf.randomNormal([6, 2, 2, 1], 0, 1, "float32", 2);
  const epsilon = tf.randomUniform([6], 0, 1, "float32", 3) as tf.Tensor1D;
  const linear = (norm: number) => {
    const w = tf.mul(tf.tensor2d([[1], [2], [-2], [4]]), norm / 5); // ‖[1,2,−2,4]‖ = 5
    return (x: tf.Tensor) => tf.matMul(tf.reshape(x, [x.shape[0], 4]), w);
  };
  close(value(gradientPenalty(linear(1), real, fake, epsilon)), 0, 1e-6);
  close(value(gradientPenalty(linear(3), real, fake, epsilon)), 4, 1e-4);
  close(value(gradientPenalty(linear(0.5), real, fake, epsilon)), 0.25, 1e-4);
  tf.dispose([real, fake, epsilon]);
});

Deno.test("gradient penalty: its weight gradient (a gradient of a gradient) matches finite differences", async () => {
  await useBackend("cpu");
  registerGradientFixes();
  const rng = new Rng(5);
  const init = (n: number) => Array.from({ length: n }, () => rng.normal(0, 0.8));
  const w1 = tf.variable(tf.tensor2d(init(6), [2, 3]));
  const b1 = tf.variable(tf.tensor1d(init(3)));
  const w2 = tf.variable(tf.tensor2d(init(3), [3, 1]));
  // A tiny critic with leakyReLU: its penalty's gradient goes through Greater (zero gradient).
  const critic = (x: tf.Tensor) =>
    tf.matMul(tf.leakyRelu(tf.add(tf.matMul(tf.reshape(x, [-1, 2]), w1), b1), 0.2), w2);
  const real = tf.tensor4d([1, 0.5, -1, 2, 0.3, -0.7, 1.5, 1], [4, 1, 1, 2]);
  const fake = tf.tensor4d([0, -0.2, 0.4, 0.9, -1.1, 0.6, 0.2, -0.3], [4, 1, 1, 2]);
  const epsilon = tf.tensor1d([0.1, 0.5, 0.7, 0.9]);
  const penalty = () => gradientPenalty(critic, real, fake, epsilon);
  const { grads } = tf.variableGrads(penalty, [w1, b1, w2]);
  const h = 1e-2;
  for (const v of [w1, b1, w2] as tf.Variable[]) {
    const analytic = grads[v.name].dataSync();
    const base = v.dataSync().slice();
    for (let i = 0; i < base.length; i++) {
      const shifted = (delta: number) => {
        const values = base.slice();
        values[i] += delta;
        v.assign(tf.tensor(values, v.shape));
        return value(penalty());
      };
      const numeric = (shifted(h) - shifted(-h)) / (2 * h);
      v.assign(tf.tensor(base, v.shape));
      close(analytic[i], numeric, 2e-3 + 2e-2 * Math.abs(numeric));
    }
  }
  tf.dispose([w1, b1, w2, real, fake, epsilon, ...Object.values(grads)]);
});

Deno.test("wgan: clipping keeps every critic weight inside [−c, c]", async () => {
  await useBackend("cpu");
  const c = 0.05;
  const model = new Wgan(
    "wgan",
    WGAN_CONFIG.parse({ hiddenUnits: 8, latentDim: 4, learningRate: 0.05, clipValue: c }),
    { range: "[-1,1]", height: 1, width: 1, channels: 2 },
    0,
  );
  const real = tf.tensor4d(sampleToy2d("8gaussians", 32, new Rng(1)), [32, 1, 1, 2]);
  // Glorot init puts weights outside [−c, c]; after each critic step all are inside.
  const before = model.critic.getWeights().flatMap((w) => Array.from(w.dataSync()));
  assert.ok(before.some((w) => Math.abs(w) > c));
  for (let step = 1; step <= 3; step++) {
    await model.trainStep({ x: real }, step);
    const weights = model.critic.getWeights().flatMap((w) => Array.from(w.dataSync()));
    assert.ok(weights.every((w) => Math.abs(w) <= c + 1e-7));
    assert.ok(weights.some((w) => Math.abs(w) === Math.fround(c)), "some weights sit at ±c");
  }
  real.dispose();
  model.dispose();
});

Deno.test("cgan: the generator's output depends on the label", async () => {
  await useBackend("cpu");
  const model = new ConditionalGan(
    "cgan",
    CGAN_CONFIG.parse({ generatorFilters: 4, discriminatorFilters: 4, latentDim: 8 }),
    { range: "[-1,1]", height: 8, width: 8, channels: 1 },
    10,
    0,
  );
  const zeros = await model.sample(3, { seed: 9, labels: [0, 0, 0] });
  const sevens = await model.sample(3, { seed: 9, labels: [7, 7, 7] });
  const again = await model.sample(3, { seed: 9, labels: [7, 7, 7] });
  const diff = tf.max(tf.abs(tf.sub(zeros, sevens))).dataSync()[0];
  assert.ok(diff > 1e-5, `label 0 vs 7 differ by ${diff}`); // small: N(0, 0.02²) init weights
  assert.equal(tf.max(tf.abs(tf.sub(sevens, again))).dataSync()[0], 0); // same z, same label
  tf.dispose([zeros, sevens, again]);
  model.dispose();
});

Deno.test("infogan: uses no labels, starts at L_I = −log K, and Q learns to read the code", async () => {
  await useBackend("cpu");
  const data = { range: "[-1,1]" as const, height: 8, width: 8, channels: 1 };
  const config = INFOGAN_CONFIG.parse({
    generatorFilters: 4,
    discriminatorFilters: 4,
    latentDim: 4,
    categories: 4,
    learningRate: 5e-3,
  });
  const rng = new Rng(1);
  const images = tf.tensor4d(Array.from({ length: 8 * 64 }, () => rng.normal() * 0.5), [
    8,
    8,
    8,
    1,
  ]);
  const run = async (labels?: number[], steps = 1) => {
    const model = new ConditionalGan("infogan", config, data, config.categories, 0);
    const rows = [];
    for (let step = 1; step <= steps; step++) {
      const batch = { x: images, labels: labels ? tf.tensor1d(labels, "int32") : undefined };
      rows.push(await model.trainStep(batch, step));
      batch.labels?.dispose();
    }
    model.dispose();
    return rows;
  };
  const before = tf.memory().numTensors;
  // The data's labels play no part: none, or two different label sets, give the same step.
  const unlabelled = await run();
  assert.deepEqual(await run([0, 1, 2, 3, 0, 1, 2, 3]), unlabelled);
  assert.deepEqual(await run([3, 3, 3, 3, 3, 3, 3, 3]), unlabelled);
  // At init Q's logits are ≈ 0, so the cross-entropy −L_I is ≈ log K (I(c; G) bound ≈ 0) ...
  close(unlabelled[0].info_loss, Math.log(4), 0.05);
  // ... and G and Q together make the code recoverable: the bound on I(c; G(z, c)) rises.
  const trained = await run(undefined, 60);
  const last = trained.slice(-10).reduce((sum, r) => sum + r.info_loss, 0) / 10;
  assert.ok(last < 0.5 * Math.log(4), `info loss after 60 steps ${last} (log K = ${Math.log(4)})`);
  assert.equal(tf.memory().numTensors, before);
  images.dispose();
});

Deno.test("mode coverage: 8/8 on the true ring, 1/8 on a single mode", () => {
  const { centers, sigma } = toy2dModes("8gaussians");
  const ring = modeCoverage(sampleToy2d("8gaussians", 4000, new Rng(3)), centers, sigma);
  assert.equal(ring.modesCovered, 8);
  assert.ok(ring.highQualityFraction > 0.98, `${ring.highQualityFraction}`); // 3σ in 2-D: 98.9 %
  assert.ok(ring.klToUniform < 0.01, `${ring.klToUniform}`);
  const rng = new Rng(4);
  const single = new Float32Array(2000);
  for (let i = 0; i < 1000; i++) {
    single[2 * i] = centers[3][0] + sigma * rng.normal();
    single[2 * i + 1] = centers[3][1] + sigma * rng.normal();
  }
  const collapsed = modeCoverage(single, centers, sigma);
  assert.equal(collapsed.modesCovered, 1);
  close(collapsed.klToUniform, Math.log(8), 1e-9);
  const grid = toy2dModes("25gaussians");
  assert.equal(
    modeCoverage(sampleToy2d("25gaussians", 5000, new Rng(5)), grid.centers, grid.sigma)
      .modesCovered,
    25,
  );
  close(klToUniform([1, 1, 1, 1]), 0, 1e-12);
});

Deno.test("trainer: a GAN trains on 2-D points and writes a scatter preview and a film strip", async () => {
  await useBackend("cpu");
  const out = `${await tempDir("gan-points")}/run`;
  const spec = resolveSpec("gan", {
    quick: true,
    dataset: "toy:8gaussians",
    steps: 6,
    seed: 0,
    modelConfig: { discriminatorSteps: 3 },
  });
  const result = await train(spec, { out, progress: false });
  assert.equal(result.step, 6);
  // k = 3: G steps at trainer steps 1 and 4 only.
  const g = result.losses.map((r) => r.g_loss);
  assert.ok(g.every(Number.isFinite));
  assert.ok(g[0] === g[1] && g[1] === g[2] && g[2] !== g[3] && g[3] === g[4] && g[4] === g[5]);
  const film = await Deno.stat(`${out}/samples/film.png`);
  assert.ok(film.size > 1000);
  const points = JSON.parse(await Deno.readTextFile(`${out}/samples/points-000006.json`));
  assert.equal(points.points.length, 2 * 500);
  result.model.dispose();
  // Resume continues the same point stream and steps.
  const resumed = await train({ resume: out, steps: 8 }, { progress: false });
  assert.equal(resumed.step, 8);
  resumed.model.dispose();
});

Deno.test("linear lr decay: lr·(1 − (t−1)/T), 0 from step T + 1; constant when T = 0", async () => {
  await useBackend("cpu"); // the optimizers make tensors: runs alone under --filter too
  const optimizers = [tf.train.adam(0.01), tf.train.rmsprop(0.01), adam({ learningRate: 0.01 })];
  const rate = () => optimizers.map((o) => (o as unknown as { learningRate: number }).learningRate);
  applyLinearDecay(optimizers, 0.01, 1, 4);
  rate().forEach((r) => close(r, 0.01, 1e-12));
  applyLinearDecay(optimizers, 0.01, 3, 4);
  rate().forEach((r) => close(r, 0.005, 1e-12));
  applyLinearDecay(optimizers, 0.01, 5, 4);
  assert.deepEqual(rate(), [0, 0, 0]);
  applyLinearDecay(optimizers, 0.01, 9, 4);
  assert.deepEqual(rate(), [0, 0, 0]);
  const constant = [tf.train.adam(0.01)];
  applyLinearDecay(constant, 0.02, 3, 0); // T = 0: untouched
  close((constant[0] as unknown as { learningRate: number }).learningRate, 0.01, 1e-12);
  [...optimizers, ...constant].forEach((o) => o.dispose());
});

Deno.test("wgan-gp with decay and an EMA of G: samples come from the averaged G, lr reaches 0", async () => {
  await useBackend("cpu");
  const out = `${await tempDir("wgan-gp-ema")}/run`;
  const spec = resolveSpec("wgan-gp", {
    quick: true,
    dataset: "toy:8gaussians",
    steps: 4,
    seed: 0,
    modelConfig: { decaySteps: 3, generatorEma: 0.9, criticSteps: 1 },
  });
  const result = await train(spec, { out, progress: false });
  assert.ok(result.model.ema, "generatorEma > 0 opts the model into the trainer's EMA");
  // Step 4 = T + 1 ran at lr 0; the returned model carries the EMA, which differs from the live G.
  const model = result.model as Wgan;
  for (const optimizer of Object.values(model.optimizers())) {
    assert.equal((optimizer as unknown as { learningRate: number }).learningRate, 0);
  }
  const live = await loadRun(out, "live");
  const averaged = model.generator.getWeights().map((w) => Array.from(w.dataSync()));
  const liveWeights = (live.model as Wgan).generator.getWeights().map((w) =>
    Array.from(w.dataSync())
  );
  assert.ok(averaged.some((w, i) => w.some((x, j) => x !== liveWeights[i][j])));
  result.model.dispose();
  live.model.dispose();
});
