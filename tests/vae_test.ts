/**
 * Autoencoder family math: the Gaussian KL and the reparameterization trick, the IWAE bound
 * (k = 1 is the ELBO, tighter in k, exact with the true posterior), VQ-VAE quantization and the
 * straight-through gradient, dead-code restarts, and no tensor leaks per step.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  diagonalNormalLogPdf,
  gaussianKlToStandard,
  lerpLatents,
  reparameterize,
  slerpLatents,
  standardNormalLogPdf,
} from "../lib/models/vae/gaussian.ts";
import { Vae, VAE_DEFAULTS } from "../lib/models/vae/vae.ts";
import { AE_DEFAULTS, Autoencoder } from "../lib/models/vae/ae.ts";
import {
  codePerplexity,
  nearestCodes,
  straightThrough,
  Vqvae,
  VQVAE_DEFAULTS,
} from "../lib/models/vae/vqvae.ts";
import { iwaeBound, LogMeanExpAccumulator, normalLogPdf } from "../lib/metrics/likelihood.ts";
import { useBackend } from "./helpers.ts";

const SHAPE = { height: 28, width: 28, channels: 1 };

Deno.test("gaussian KL: closed form = −½Σ(1 + log σ² − μ² − σ²) = Monte-Carlo E_q[log q − log p]", async () => {
  await useBackend("cpu");
  const mu = [0.5, -1.2, 0.1], logVar = [0.3, -0.8, 1.1];
  const formula = -0.5 * mu.reduce((s, m, i) => s + 1 + logVar[i] - m * m - Math.exp(logVar[i]), 0);
  const mean = tf.tensor2d([mu]), lv = tf.tensor2d([logVar]);
  const kl = gaussianKlToStandard(mean, lv).dataSync()[0];
  assert.ok(Math.abs(kl - formula) < 1e-5, `${kl} vs ${formula}`);
  // MC: z = μ + σε, KL ≈ mean(log q(z) − log p(z)) over 200k draws.
  const S = 200_000;
  const [mc, se] = tf.tidy(() => {
    const eps = tf.randomNormal([S, 3], 0, 1, "float32", 7);
    const z = reparameterize(mean, lv, eps);
    const diff = diagonalNormalLogPdf(z, mean, lv).sub(standardNormalLogPdf(z));
    const { mean: m, variance } = tf.moments(diff);
    return [m.dataSync()[0], Math.sqrt(variance.dataSync()[0] / S)];
  });
  assert.ok(Math.abs(mc - formula) < 5 * se, `MC ${mc} ± ${se} vs ${formula}`);
  tf.dispose([mean, lv]);
});

Deno.test("reparameterized samples have mean μ and variance σ²", async () => {
  await useBackend("cpu");
  const S = 100_000;
  const mean = tf.tensor1d([2, -1]), logVar = tf.tensor1d([Math.log(0.25), Math.log(4)]);
  const eps = tf.randomNormal([S, 2], 0, 1, "float32", 3);
  const z = reparameterize(mean, logVar, eps);
  const m = tf.moments(z, 0);
  const got = { mean: m.mean.dataSync(), variance: m.variance.dataSync() };
  const want = { mean: [2, -1], variance: [0.25, 4] };
  for (let i = 0; i < 2; i++) {
    const seMean = Math.sqrt(want.variance[i] / S);
    const seVar = want.variance[i] * Math.sqrt(2 / S);
    assert.ok(Math.abs(got.mean[i] - want.mean[i]) < 5 * seMean, `mean ${got.mean[i]}`);
    assert.ok(Math.abs(got.variance[i] - want.variance[i]) < 5 * seVar, `var ${got.variance[i]}`);
  }
  tf.dispose([mean, logVar, eps, z, m.mean, m.variance]);
});

Deno.test("IWAE with the exact posterior as proposal equals log p(x) (linear-Gaussian model)", async () => {
  await useBackend("cpu");
  // z ~ N(0, I₂), x | z ~ N(Wz + b, s²I₃) with orthogonal columns of W, so the posterior is
  // diagonal: Σ_post = (I + WᵀW/s²)⁻¹, μ_post = Σ_post Wᵀ(x − b)/s²; p(x) = N(b, WWᵀ + s²I).
  const W = [[1, 0], [0, 2], [0, 0]], b = [0.3, -0.2, 0.5], s2 = 0.5;
  const x = [1.1, 0.4, -0.3];
  const postVar = [1 / (1 + 1 / s2), 1 / (1 + 4 / s2)];
  const r = x.map((v, i) => v - b[i]);
  const postMean = [postVar[0] * (r[0] * 1) / s2, postVar[1] * (r[1] * 2) / s2];
  // log p(x): covariance diag(1 + s², 4 + s², s²) (W Wᵀ is diagonal here).
  const cov = [1 + s2, 4 + s2, s2];
  const logPx = cov.reduce((s, c, i) => s - 0.5 * (Math.log(2 * Math.PI * c) + r[i] * r[i] / c), 0);
  const k = 64;
  const mean = tf.tensor1d(postMean), logVar = tf.tensor1d(postVar.map(Math.log));
  const z = reparameterize(mean, logVar, tf.randomNormal([k, 1, 2], 0, 1, "float32", 5)); // [k,1,2]
  const xr = tf.tensor1d(x);
  const logJoint = tf.tidy(() => {
    const xMean = z.matMul(tf.tensor2d(W).transpose().expandDims(0).tile([k, 1, 1])).add(b);
    return normalLogPdf(xr, xMean, Math.log(s2)).sum(-1).add(standardNormalLogPdf(z))
      .reshape([k, 1]);
  }) as tf.Tensor2D;
  const logQ = diagonalNormalLogPdf(z, mean, logVar).reshape([k, 1]) as tf.Tensor2D;
  const bound = iwaeBound(logJoint, logQ).dataSync()[0];
  assert.ok(Math.abs(bound - logPx) < 1e-4, `IWAE ${bound} vs log p(x) ${logPx}`);
  // Every single weight is exact too (k = 1), and the streaming accumulator agrees.
  const w = logJoint.sub(logQ).dataSync();
  for (const v of w) assert.ok(Math.abs(v - logPx) < 1e-4);
  const acc = new LogMeanExpAccumulator(1);
  for (const v of w) acc.add([v]);
  assert.ok(Math.abs(acc.result()[0] - logPx) < 1e-4);
  tf.dispose([mean, logVar, z, xr, logJoint, logQ]);
});

function tinyVae(likelihood: "bernoulli" | "logistic" | "gaussian" = "bernoulli") {
  return new Vae(
    {
      ...VAE_DEFAULTS,
      latentDim: 4,
      hiddenUnits: 16,
      hiddenLayers: 1,
      likelihood,
      iwaeChunkRows: 4000,
    },
    SHAPE,
    0,
  );
}

Deno.test("VAE: IWAE with k = 1 is the ELBO in expectation, and the bound tightens with k", async () => {
  await useBackend("cpu");
  const vae = tinyVae();
  // One binary image, replicated: each row is an independent draw of the estimator.
  const R = 2000;
  const image = tf.randomUniform([1, 28, 28, 1], 0, 1, "float32", 11).greater(0.7).toFloat();
  const x = tf.tile(image, [R, 1, 1, 1]) as tf.Tensor4D;
  const k1 = await vae.nll({ x }, { importanceSamples: 1 });
  const { logLikelihood, kl } = vae.elboTerms(x, undefined, 99);
  const negElbo = tf.tidy(() => logLikelihood.neg().add(kl));
  const e = tf.moments(negElbo);
  const negElboMean = e.mean.dataSync()[0];
  const k1Mean = k1.reduce((a, b) => a + b, 0) / R;
  const k1Var = k1.reduce((a, b) => a + (b - k1Mean) ** 2, 0) / (R - 1);
  const se = Math.sqrt(k1Var / R + e.variance.dataSync()[0] / R);
  assert.ok(
    Math.abs(k1Mean - negElboMean) < 5 * se,
    `k=1 ${k1Mean} vs −ELBO ${negElboMean} ± ${se}`,
  );
  // −IWAE_k is non-increasing in k (in expectation; 50 replicas average the noise).
  const few = x.slice(0, 50);
  const means: number[] = [];
  for (const k of [1, 10, 100]) {
    const v = await vae.nll({ x: few }, { importanceSamples: k });
    means.push(v.reduce((a, b) => a + b, 0) / v.length);
  }
  assert.ok(means[0] > means[1] && means[1] > means[2], `NLL by k: ${means}`);
  tf.dispose([image, x, logLikelihood, kl, negElbo, e.mean, e.variance, few]);
  vae.dispose();
});

Deno.test("VAE/CVAE/AE/VQ-VAE: train steps, nll and sample allocate no lasting tensors", async () => {
  await useBackend("cpu");
  const binary = tf.randomUniform([4, 28, 28, 1], 0, 1, "float32", 1).greater(0.5)
    .toFloat() as tf.Tensor4D;
  const unit = tf.randomUniform([4, 28, 28, 1], 0, 1, "float32", 2) as tf.Tensor4D;
  const signed = unit.mul(2).sub(1) as tf.Tensor4D;
  const labels = tf.tensor1d([0, 1, 2, 3], "int32");
  const cases: Array<[string, () => Promise<unknown>, () => void]> = [];
  for (const likelihood of ["bernoulli", "logistic", "gaussian"] as const) {
    const vae = tinyVae(likelihood);
    const x = likelihood === "bernoulli" ? binary : signed;
    cases.push([likelihood, async () => {
      await vae.trainStep({ x }, 1);
      await vae.nll({ x }, { importanceSamples: 3 });
      (await vae.sample(2, { seed: 1 })).dispose();
    }, () => vae.dispose()]);
  }
  const cvae = new Vae(
    { ...VAE_DEFAULTS, latentDim: 2, hiddenUnits: 8, hiddenLayers: 1 },
    {
      ...SHAPE,
      numClasses: 10,
    },
    0,
    { conditional: true },
  );
  cases.push(["cvae", async () => {
    await cvae.trainStep({ x: binary, labels }, 1);
    await cvae.nll({ x: binary, labels }, { importanceSamples: 3 });
    (await cvae.sample(3, { labels: [1, 2, 3], seed: 1 })).dispose();
  }, () => cvae.dispose()]);
  const ae = new Autoencoder(
    { ...AE_DEFAULTS, hiddenUnits: 8, hiddenLayers: 1, noise: "masking" },
    SHAPE,
    0,
  );
  cases.push(["ae", async () => {
    await ae.trainStep({ x: unit }, 1);
    (await ae.sample(2, { seed: 1 })).dispose();
  }, () => ae.dispose()]);
  for (const codebook of ["loss", "ema"] as const) {
    const vq = new Vqvae(
      { ...VQVAE_DEFAULTS, numCodes: 8, codeDim: 4, filters: 4, codebook, restartEvery: 1 },
      SHAPE,
      0,
    );
    cases.push([`vqvae-${codebook}`, async () => {
      await vq.trainStep({ x: signed }, 1);
      (await vq.sample(2, { seed: 1 })).dispose();
    }, () => vq.dispose()]);
  }
  for (const [name, step, dispose] of cases) {
    await step(); // first call builds optimizer slots
    const before = tf.memory().numTensors;
    await step();
    await step();
    assert.equal(tf.memory().numTensors, before, `${name} leaks tensors`);
    dispose();
  }
  tf.dispose([binary, unit, signed, labels]);
});

Deno.test("VQ: nearest code, straight-through gradient, perplexity", async () => {
  await useBackend("cpu");
  const flat = tf.randomNormal([50, 3], 0, 1, "float32", 4) as tf.Tensor2D;
  const book = tf.randomNormal([7, 3], 0, 1, "float32", 5) as tf.Tensor2D;
  const codes = nearestCodes(flat, book).dataSync();
  const f = flat.arraySync(), e = book.arraySync();
  f.forEach((row, i) => {
    const d = e.map((c) => c.reduce((s, v, j) => s + (v - row[j]) ** 2, 0));
    assert.equal(codes[i], d.indexOf(Math.min(...d)));
  });
  // L(z) = Σ c ⊙ sin(z): ∂L/∂z_e through the straight-through path = ∂L/∂z_q at z_q.
  const zq = tf.tensor2d(codes.length ? Array.from(codes, (k) => e[k]) : [], [50, 3]);
  const c = tf.randomNormal([50, 3], 0, 1, "float32", 6);
  const loss = (z: tf.Tensor) => c.mul(tf.sin(z)).sum();
  const gradZe = tf.grad((ze: tf.Tensor) => loss(straightThrough(ze, zq)))(flat).dataSync();
  const gradZq = tf.grad(loss)(zq).dataSync();
  for (let i = 0; i < gradZe.length; i++) assert.ok(Math.abs(gradZe[i] - gradZq[i]) < 1e-6);
  // Forward value is z_q.
  const forward = straightThrough(flat, zq).dataSync(), zqv = zq.dataSync();
  for (let i = 0; i < zqv.length; i++) assert.ok(Math.abs(forward[i] - zqv[i]) < 1e-6);
  assert.ok(Math.abs(codePerplexity([5, 5, 5, 5]) - 4) < 1e-12);
  assert.ok(Math.abs(codePerplexity([9, 0, 0]) - 1) < 1e-12);
  tf.dispose([flat, book, zq, c]);
});

Deno.test("VQ-VAE: a dead code restarts at an encoder output and then gets used", async () => {
  await useBackend("cpu");
  const vq = new Vqvae(
    { ...VQVAE_DEFAULTS, numCodes: 4, codeDim: 2, filters: 4, restartEvery: 1 },
    SHAPE,
    0,
  );
  // Code 3 far away: never the nearest; mark it unused.
  const book = vq.codebook.arraySync();
  book[3] = [1e3, 1e3];
  vq.codebook.assign(tf.tensor2d(book));
  vq.usage.assign(tf.tensor1d([0.5, 0.3, 0.2, 0]));
  const x = tf.randomUniform([2, 28, 28, 1], -1, 1, "float32", 1) as tf.Tensor4D;
  const before = vq.encodeToCodes(x).dataSync();
  assert.ok(!Array.from(before).includes(3));
  const losses = await vq.trainStep({ x }, 2); // step 1 would re-initialize the codebook
  assert.ok(losses.restarted >= 1, `restarted ${losses.restarted}`);
  const moved = vq.codebook.arraySync()[3];
  assert.ok(Math.hypot(moved[0], moved[1]) < 100, `code 3 still at ${moved}`);
  // It now sits on an encoder output (up to one optimizer step), so some position picks it.
  const codes = vq.encodeToCodes(x);
  assert.ok(Array.from(codes.dataSync()).includes(3), "the restarted code is chosen");
  assert.deepEqual(codes.shape, [2, 7, 7]);
  assert.equal(codes.dtype, "int32");
  const images = vq.decodeCodes(codes);
  assert.deepEqual(images.shape, [2, 28, 28, 1]);
  tf.dispose([x, codes, images]);
  vq.dispose();
});

Deno.test("latent interpolation: endpoints exact; slerp keeps the norm of equal-norm ends", async () => {
  await useBackend("cpu");
  const a = tf.tensor1d([3, 0, 0, 0]), b = tf.tensor1d([0, 0, 3, 0]);
  for (const path of [lerpLatents(a, b, 5), slerpLatents(a, b, 5)]) {
    const rows = path.arraySync();
    assert.deepEqual(rows[0].map((v) => Math.round(v * 1e5) / 1e5), [3, 0, 0, 0]);
    assert.deepEqual(rows[4].map((v) => Math.round(v * 1e5) / 1e5), [0, 0, 3, 0]);
    path.dispose();
  }
  const mid = slerpLatents(a, b, 5).arraySync()[2];
  assert.ok(Math.abs(Math.hypot(...mid) - 3) < 1e-5);
  const lmid = lerpLatents(a, b, 5).arraySync()[2];
  assert.ok(Math.hypot(...lmid) < 2.2); // the straight line cuts inside: |mid| = 3/√2
  tf.dispose([a, b]);
});

Deno.test("vae --quick trains through the trainer (with artifact grids) and eval reports IWAE NLL", async () => {
  const { resolveSpec, train } = await import("../lib/train/trainer.ts");
  const { runEval } = await import("../lib/cli/eval.ts");
  const { tempDir } = await import("./helpers.ts");
  await useBackend("cpu");
  const dir = await tempDir("vae");
  const result = await train(resolveSpec("vae", { quick: true, steps: 6 }), {
    out: `${dir}/run`,
    progress: false,
  });
  result.model.dispose();
  for (const name of ["reconstructions", "interpolation-linear", "interpolation-spherical"]) {
    assert.ok((await Deno.stat(`${dir}/run/samples/${name}.png`)).size > 100, name);
  }
  await runEval(`${dir}/run`, { n: 10, seed: 0, backend: "cpu", iwaeK: 4, nllN: 20, fid: false });
  const metrics = JSON.parse(await Deno.readTextFile(`${dir}/run/metrics.json`));
  assert.equal(metrics.iwae_k, 4);
  assert.equal(metrics.nll_test_images, 20);
  assert.ok(metrics.nll_test_nats > 0 && Number.isFinite(metrics.nll_test_nats));
  const bpd = metrics.nll_test_nats / (784 * Math.LN2);
  assert.ok(Math.abs(metrics.nll_test_bits_per_dim - bpd) < 1e-4);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("VAE: β and KL warm-up weight only the training loss's KL term", async () => {
  await useBackend("cpu");
  const vae = new Vae(
    { ...VAE_DEFAULTS, latentDim: 2, hiddenUnits: 8, hiddenLayers: 1, beta: 4, klWarmupSteps: 100 },
    SHAPE,
    0,
  );
  assert.equal(vae.klWeight(0), 0);
  assert.equal(vae.klWeight(25), 1);
  assert.equal(vae.klWeight(100), 4);
  assert.equal(vae.klWeight(1000), 4);
  const x = tf.randomUniform([3, 28, 28, 1], 0, 1, "float32", 1).greater(0.5)
    .toFloat() as tf.Tensor4D;
  const losses = await vae.trainStep({ x }, 50); // weight 2
  assert.ok(Math.abs(losses.loss - (losses.recon + 2 * losses.kl)) < 1e-3 * losses.loss);
  assert.ok(Math.abs(losses.neg_elbo - (losses.recon + losses.kl)) < 1e-9);
  x.dispose();
  vae.dispose();
});

Deno.test("vae family: the same seed builds the same weights (seeded initializers)", async () => {
  await useBackend("cpu");
  const { MODELS } = await import("../lib/models/registry.ts");
  for (const name of ["ae", "vae", "vqvae"]) {
    const entry = MODELS[name];
    const { steps: _steps, batch: _batch, ...quick } = entry.quick;
    const config = entry.config.parse(quick);
    const data = { range: "[-1,1]" as const, height: 28, width: 28, channels: 1, numClasses: 10 };
    const [a, b, c] = [0, 0, 1].map((seed) => entry.create(config, data, seed));
    const weights = (m: typeof a) =>
      Object.values(m.weightGroups()).flatMap((g) =>
        Array.isArray(g) ? g.map((v) => v.dataSync()) : g.weights.map((w) => w.read().dataSync())
      );
    const [wa, wb, wc] = [a, b, c].map(weights);
    assert.ok(wa.length > 0);
    wa.forEach((w, i) => assert.deepEqual(w, wb[i], `${name}: weight ${i} differs for one seed`));
    assert.ok(wa.some((w, i) => w.some((x, j) => x !== wc[i][j])), `${name}: seeds 0 and 1 agree`);
    [a, b, c].forEach((m) => m.dispose());
  }
});
