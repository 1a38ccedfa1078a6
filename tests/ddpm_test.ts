/**
 * The DDPM model and the trainer's EMA: the Algorithm 1 loss against an independent computation
 * (fixed t and ε, every prediction type and weighting), tensor counts over training and sampling,
 * EMA math against its closed form, EMA checkpoint/resume, class conditioning. Tiny shapes on the
 * exact cpu backend (8×8 images, an 8-channel two-level U-Net).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Ddpm, DDPM_CONFIG, type DdpmConfig } from "../lib/models/diffusion/ddpm_model.ts";
import { Ema, emaDecayAt, emaUpdate } from "../lib/train/ema.ts";
import { loadRun, resolveSpec, train } from "../lib/train/trainer.ts";
import { Rng } from "../lib/util/rng.ts";
import { maxAbsDiff, runCli, tempDir, useBackend } from "./helpers.ts";

const DATA = { range: "[-1,1]" as const, height: 8, width: 8, channels: 1 };
const TINY: Partial<DdpmConfig> = {
  baseChannels: 8,
  channelMults: "1,2",
  groups: 4,
  timesteps: 100,
  gridSteps: 4,
};

function tinyModel(overrides: Partial<DdpmConfig> = {}, seed = 0): Ddpm {
  return new Ddpm(DDPM_CONFIG.parse({ ...TINY, ...overrides }), DATA, 10, seed);
}

function batch(n: number, seed: number) {
  const x = tf.tidy(() =>
    tf.clipByValue(tf.randomNormal([n, 8, 8, 1], 0, 0.6, "float32", seed), -1, 1)
  ) as tf.Tensor4D;
  const labels = tf.tensor1d(Array.from({ length: n }, (_, i) => i % 10), "int32");
  return { x, labels };
}

/** ᾱ_t of Ho et al.'s linear schedule, recomputed here: β from 1e-4 to 0.02 over T steps. */
function linearAlphaBar(T: number): number[] {
  const out: number[] = [];
  let prod = 1;
  for (let t = 0; t < T; t++) out.push(prod *= 1 - (1e-4 + (0.02 - 1e-4) * t / (T - 1)));
  return out;
}

/** The loss of Algorithm 1 computed independently in float64 from the network's output. */
async function referenceLoss(
  model: Ddpm,
  x0: tf.Tensor4D,
  t: number[],
  noise: tf.Tensor4D,
  labels?: tf.Tensor1D,
  perturbation?: { gamma: number; xi: tf.Tensor4D },
): Promise<number> {
  const { predictionType, lossWeighting, minSnrGamma, timesteps } = model.config;
  const alphaBar = linearAlphaBar(timesteps);
  const x = await x0.data(), e = await noise.data();
  const xi = perturbation ? await perturbation.xi.data() : undefined;
  const D = x.length / t.length;
  const xt = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const ab = alphaBar[t[Math.floor(i / D)]];
    // DDPM-IP (Ning et al. 2023): the input is built from ε + γξ; the target below keeps ε.
    const inputNoise = xi ? e[i] + perturbation!.gamma * xi[i] : e[i];
    xt[i] = Math.sqrt(ab) * x[i] + Math.sqrt(1 - ab) * inputNoise;
  }
  const out = tf.tidy(() =>
    model.network.apply(tf.tensor4d(xt, x0.shape), tf.tensor1d(t, "int32"), labels)
  );
  const y = await out.data();
  out.dispose();
  let loss = 0;
  for (let b = 0; b < t.length; b++) {
    const ab = alphaBar[t[b]], snr = ab / (1 - ab);
    let mse = 0;
    for (let i = b * D; i < (b + 1) * D; i++) {
      const target = predictionType === "epsilon"
        ? e[i]
        : predictionType === "x0"
        ? x[i]
        : Math.sqrt(ab) * e[i] - Math.sqrt(1 - ab) * x[i];
      mse += (y[i] - target) ** 2 / D;
    }
    // Min-SNR-γ (Hang et al. 2023): x₀-weight min(SNR, γ), divided by the target's SNR factor.
    const factor = predictionType === "epsilon" ? snr : predictionType === "x0" ? 1 : snr + 1;
    const w = lossWeighting === "simple" ? 1 : Math.min(snr, minSnrGamma) / factor;
    loss += w * mse / t.length;
  }
  return loss;
}

Deno.test("ddpm: the training step's loss equals Algorithm 1 computed independently (ε, x₀, v; simple, min-SNR; class labels; input perturbation)", async () => {
  await useBackend("cpu");
  const cases: Partial<DdpmConfig>[] = [
    { predictionType: "epsilon", lossWeighting: "simple" },
    { predictionType: "epsilon", lossWeighting: "min-snr" },
    { predictionType: "x0", lossWeighting: "min-snr", minSnrGamma: 2 },
    { predictionType: "v", lossWeighting: "min-snr", conditioning: "class" },
    { predictionType: "v", lossWeighting: "min-snr", inputPerturbation: 0.1 },
    { predictionType: "epsilon", lossWeighting: "simple", inputPerturbation: 0.5 },
  ];
  for (const overrides of cases) {
    const model = tinyModel(overrides, 3);
    const { x, labels } = batch(4, 5);
    // The step draws t (JS side), the noise seed, then (γ > 0) ξ's seed from the model's RNG:
    // replay that stream.
    const replay = Rng.fromState(model.rng.state());
    const t = Array.from({ length: 4 }, () => replay.int(model.config.timesteps));
    const noise = tf.randomNormal([4, 8, 8, 1], 0, 1, "float32", replay.seed()) as tf.Tensor4D;
    const gamma = overrides.inputPerturbation ?? 0;
    const xi = gamma > 0
      ? tf.randomNormal([4, 8, 8, 1], 0, 1, "float32", replay.seed()) as tf.Tensor4D
      : undefined;
    const perturbation = xi ? { gamma, xi } : undefined;
    const condition = overrides.conditioning === "class" ? labels : undefined;
    const expected = await referenceLoss(model, x, t, noise, condition, perturbation);
    if (perturbation) {
      // The perturbation must matter at this size, or the check below could not tell it was used.
      const unperturbed = await referenceLoss(model, x, t, noise, condition);
      assert.ok(
        Math.abs(unperturbed - expected) > 1e-3 * expected,
        `${unperturbed} vs ${expected}`,
      );
    }
    const { loss } = await model.trainStep({ x, labels }, 1);
    assert.ok(
      Math.abs(loss - expected) <= 1e-5 * Math.max(1, expected),
      `${JSON.stringify(overrides)}: step loss ${loss} vs independent ${expected}`,
    );
    // model.loss gives the same number for the same (t, ε, ξ) after the step changed the weights.
    const tT = tf.tensor1d(t, "int32");
    const after = model.loss(x, tT, noise, condition, xi);
    const again = await referenceLoss(model, x, t, noise, condition, perturbation);
    assert.ok(Math.abs((await after.data())[0] - again) <= 1e-5 * Math.max(1, again));
    for (const tensor of [x, labels, noise, tT, after, ...(xi ? [xi] : [])]) tensor.dispose();
    model.dispose();
  }
});

Deno.test("ddpm: class conditioning changes the prediction and samples take labels", async () => {
  await useBackend("cpu");
  const model = tinyModel({ conditioning: "class" }, 1);
  const { x } = batch(2, 2);
  const t = tf.tensor1d([10, 10], "int32");
  const a = model.net()(x, t, tf.tensor1d([0, 0], "int32"));
  const b = model.net()(x, t, tf.tensor1d([1, 1], "int32"));
  // The class embedding is glorot-initialised, so different labels give different outputs at init.
  assert.ok(maxAbsDiff(await a.data(), await b.data()) > 1e-4);
  const images = await model.sample(4, { seed: 1, labels: [0, 1, 2, 3] });
  assert.deepEqual(images.shape, [4, 8, 8, 1]);
  tf.dispose([x, t, a, b, images]);
  model.dispose();
});

Deno.test("ddpm: log-normal timesteps follow ln σ ~ N(P_mean, P_std²); cosine learning-rate decay hits its anchors", async () => {
  await useBackend("cpu");
  const model = tinyModel({ timesteps: 1000, timestepSampling: "log-normal" }, 3);
  const t = model.drawTimesteps(20_000);
  // The σ of each drawn t, in log: its quantiles must be those of N(−1.2, 1.2²) up to the
  // discretisation (adjacent σ differ by < 4 % in log on the linear schedule) and sampling noise.
  const logSigma = Array.from(t, (ti) => Math.log(model.schedule.sigmas[ti])).sort((a, b) => a - b);
  const quantile = (q: number) => logSigma[Math.floor(q * logSigma.length)];
  assert.ok(Math.abs(quantile(0.5) - -1.2) < 0.05, `median ln σ ${quantile(0.5)}`);
  assert.ok(Math.abs(quantile(0.8413) - 0) < 0.06, `84th percentile ln σ ${quantile(0.8413)}`);
  assert.ok(Math.abs(quantile(0.1587) - -2.4) < 0.06, `16th percentile ln σ ${quantile(0.1587)}`);
  assert.ok(t.every((ti) => ti >= 0 && ti < 1000));
  model.dispose();

  const decayed = tinyModel({
    learningRate: 1e-3,
    warmupSteps: 100,
    learningRateDecay: "cosine",
    decaySteps: 1100,
  });
  assert.equal(decayed.learningRateAt(50), 5e-4); // warm-up: linear
  assert.equal(decayed.learningRateAt(100), 1e-3); // peak
  assert.ok(Math.abs(decayed.learningRateAt(600) - 5e-4) < 1e-12); // half-way: cos(π/2) → ½
  assert.equal(decayed.learningRateAt(1100), 0);
  assert.equal(decayed.learningRateAt(5000), 0);
  decayed.dispose();
  assert.throws(
    () => DDPM_CONFIG.parse({ learningRateDecay: "cosine" }),
    /decaySteps=<--steps>/,
  );
});

Deno.test("ddpm: terminalSnr=zero trains on Lin et al.'s rescaled schedule (x_T pure noise, v-target −x₀) and samples stay finite; ε refused", async () => {
  await useBackend("cpu");
  const model = tinyModel({ predictionType: "v", lossWeighting: "simple", terminalSnr: "zero" }, 2);
  const T = model.config.timesteps;
  // Algorithm 1 of Lin et al.: √ᾱ shifted so √ᾱ_T = 0 and scaled so √ᾱ_1 is unchanged — recomputed
  // here from the linear schedule (so every step in between is checked, not only the ends).
  const plain = linearAlphaBar(T).map(Math.sqrt);
  const first = plain[0], last = plain[T - 1];
  for (let t = 0; t < T; t++) {
    const expected = ((plain[t] - last) * first / (first - last)) ** 2;
    assert.ok(Math.abs(model.schedule.alphaBar[t] - expected) < 1e-12, `ᾱ_${t}`);
  }
  assert.equal(model.schedule.alphaBar[T - 1], 0);
  // At t = T the input is the noise alone and the v-target is −x₀: the loss is ‖net(ε) + x₀‖².
  const { x } = batch(2, 4);
  const noise = tf.randomNormal([2, 8, 8, 1], 0, 1, "float32", 9) as tf.Tensor4D;
  const tLast = tf.tensor1d([T - 1, T - 1], "int32");
  const loss = model.loss(x, tLast, noise);
  const out = model.network.apply(noise, tLast);
  const expected = tf.mean(tf.square(tf.add(out, x)));
  assert.ok(Math.abs((await loss.data())[0] - (await expected.data())[0]) < 1e-6);
  // Every sampler starts at (or next to) t = T, where ᾱ = 0: nothing may become NaN or infinite.
  for (
    const method of [
      { sampler: "ddpm", steps: 10 },
      { sampler: "ddim", steps: 5, eta: 0, spacing: "trailing" },
      { sampler: "dpmpp-2m", steps: 5 },
      { sampler: "heun", steps: 3 },
    ] as Record<string, string | number>[]
  ) {
    const images = await model.sample(2, { seed: 3, method });
    assert.ok((await images.data()).every(Number.isFinite), `${method.sampler}: finite samples`);
    images.dispose();
  }
  tf.dispose([x, noise, tLast, loss, out, expected]);
  model.dispose();
  assert.throws(
    () => DDPM_CONFIG.parse({ terminalSnr: "zero" }),
    /terminalSnr=zero needs predictionType=v/,
  );
});

Deno.test("ddpm: tensor count flat over 200 training steps and over a whole sampling loop", async () => {
  await useBackend("cpu");
  const model = tinyModel({ baseChannels: 4, groups: 2, attention: "none" });
  const ema = new Ema(model.ema());
  const { x, labels } = batch(2, 1);
  const counts: number[] = [];
  for (let step = 1; step <= 200; step++) {
    await model.trainStep({ x, labels }, step);
    ema.update();
    if (step === 2 || step === 200) counts.push(tf.memory().numTensors);
  }
  assert.equal(counts[1], counts[0], "tensors after step 2 vs step 200");
  // Input perturbation draws one more tensor (ξ) per step: it must be freed too.
  const perturbed = tinyModel({
    baseChannels: 4,
    groups: 2,
    attention: "none",
    inputPerturbation: 0.1,
  });
  await perturbed.trainStep({ x, labels }, 1);
  const afterOne = tf.memory().numTensors;
  for (let step = 2; step <= 20; step++) await perturbed.trainStep({ x, labels }, step);
  assert.equal(tf.memory().numTensors, afterOne, "tensors after perturbed step 1 vs step 20");
  perturbed.dispose();
  const methods: Record<string, string | number>[] = [
    { sampler: "ddpm", steps: 100 },
    { sampler: "ddim", steps: 10, eta: 1 },
  ];
  for (const method of methods) {
    const before = tf.memory().numTensors;
    const images = await ema.withAveraged(() => model.sample(2, { seed: 4, method }));
    images.dispose();
    assert.equal(tf.memory().numTensors, before, `sampling ${JSON.stringify(method)} leaked`);
  }
  ema.dispose();
  x.dispose();
  labels.dispose();
  model.dispose();
});

Deno.test("ema: decay 0 equals the live weights; constant decay equals its closed form; warm-up schedule", async () => {
  await useBackend("cpu");
  const live: tf.Variable[] = [
    tf.variable(tf.tensor1d([1, -2, 3])),
    tf.variable(tf.tensor2d([[0.5, 4]])),
  ];
  const values = [[1, -2, 3], [2, 0, 1], [-1, 5, 0.25], [4, 4, -4]];
  // construction + dispose leaves no tensor behind.
  const count = tf.memory().numTensors;
  new Ema({ variables: live, decay: 0.5, warmup: 0 }).dispose();
  assert.equal(tf.memory().numTensors, count);
  // decay 0: after every update the shadow IS the live weights.
  const copy = new Ema({ variables: live, decay: 0, warmup: 0 });
  for (const v of values.slice(1)) {
    live[0].assign(tf.tensor1d(v));
    live[1].assign(tf.tensor2d([[v[0] * 2, v[2]]]));
    copy.update();
    assert.deepEqual(await copy.shadow[0].data(), await live[0].data());
    assert.deepEqual(await copy.shadow[1].data(), await live[1].data());
  }
  copy.dispose();
  // constant decay d, no warm-up: shadow_n = d^n v_0 + (1 − d) Σ_{k=1..n} d^(n−k) v_k.
  const d = 0.7;
  live[0].assign(tf.tensor1d(values[0]));
  const ema = new Ema({ variables: [live[0]], decay: d, warmup: 0 });
  for (let n = 1; n < values.length; n++) {
    live[0].assign(tf.tensor1d(values[n]));
    ema.update();
    const closed = values[0].map((v0, i) => {
      let s = d ** n * v0;
      for (let k = 1; k <= n; k++) s += (1 - d) * d ** (n - k) * values[k][i];
      return s;
    });
    assert.ok(maxAbsDiff(await ema.shadow[0].data(), closed) < 1e-6, `update ${n}`);
  }
  // swap twice is the identity; withAveraged puts the live weights back.
  const before = Array.from(await live[0].data());
  ema.swap();
  assert.ok(maxAbsDiff(await live[0].data(), await ema.shadow[0].data()) > 0.1);
  ema.swap();
  assert.deepEqual(Array.from(await live[0].data()), before);
  ema.dispose();
  // warm-up: decay_n = min(decay, (1 + n)/(warmup + n)) — TensorFlow's rule at warmup = 10.
  assert.equal(emaDecayAt(1, 0.999, 10), 2 / 11);
  assert.equal(emaDecayAt(100, 0.999, 10), 101 / 110);
  assert.equal(emaDecayAt(1e6, 0.999, 10), 0.999);
  assert.equal(emaDecayAt(1, 0.999, 0), 0.999);
  // the one update function, on its own: s ← d s + (1 − d) l.
  const s = [tf.variable(tf.tensor1d([2, 4]))], l = [tf.variable(tf.tensor1d([0, 1]))];
  emaUpdate(s, l, 0.25);
  assert.ok(maxAbsDiff(await s[0].data(), [0.5, 1.75]) < 1e-7);
  tf.dispose([...s, ...l, ...live]);
});

/** A tiny 6-step DDPM run trained straight through, and the same spec stopped after step 3 (to
 * be resumed by the caller). */
async function straightAndStopped(name: string, seed: number) {
  const spec = () =>
    resolveSpec("ddpm", {
      quick: true,
      steps: 6,
      batch: 2,
      seed,
      sampleCount: 2,
      sampleEvery: 100,
      modelConfig: { baseChannels: 4, groups: 2, emaWarmup: 2 },
    });
  const straightDir = `${await tempDir(`${name}-straight`)}/run`;
  (await train(spec(), { out: straightDir, progress: false })).model.dispose();
  const dir = `${await tempDir(name)}/run`;
  (await train(spec(), { out: dir, progress: false, stopAfter: 3 })).model.dispose();
  return { straightDir, dir };
}

/** The U-Net's EMA or live weights of a finished 6-step run, flattened. */
async function unetWeights(runDir: string, which: "ema" | "live"): Promise<number[]> {
  const { model, step } = await loadRun(runDir, which);
  assert.equal(step, 6);
  const values = await Promise.all(
    (model.weightGroups().unet as tf.Variable[]).map((v) => v.data()),
  );
  model.dispose();
  return values.flatMap((v) => Array.from(v));
}

Deno.test("ema: a resumed run restores the EMA weights exactly; grids and loadRun use them", async () => {
  await useBackend("cpu");
  const { straightDir, dir } = await straightAndStopped("ema-resume", 2);
  (await train({ resume: dir }, { progress: false })).model.dispose();
  const emaStraight = await unetWeights(straightDir, "ema");
  const emaResumed = await unetWeights(dir, "ema");
  const liveResumed = await unetWeights(dir, "live");
  assert.ok(emaStraight.length > 100);
  assert.deepEqual(emaResumed, emaStraight, "EMA weights after resume");
  assert.deepEqual(
    liveResumed,
    await unetWeights(straightDir, "live"),
    "live weights after resume",
  );
  assert.ok(maxAbsDiff(emaResumed, liveResumed) > 1e-6, "EMA differs from the live weights");
});

Deno.test("ema: --set emaDecay on --resume changes the EMA only; other options are refused in one line", async () => {
  await useBackend("cpu");
  const { straightDir, dir } = await straightAndStopped("ema-set", 3);
  // As the CLI passes it: a string, coerced by the option's declared type. Decay 0 makes the EMA
  // a copy of the live weights from step 4 on.
  (await train({ resume: dir, set: { emaDecay: "0" } }, { progress: false })).model.dispose();
  const live = await unetWeights(dir, "live");
  assert.deepEqual(
    live,
    await unetWeights(straightDir, "live"),
    "the training itself is unchanged",
  );
  assert.deepEqual(await unetWeights(dir, "ema"), live, "EMA with decay 0 = the live weights");
  assert.ok(maxAbsDiff(await unetWeights(straightDir, "ema"), live) > 1e-6, "decay 0.999 differs");
  const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  assert.equal(config.spec.modelConfig.emaDecay, 0);
  assert.equal(config.model.config.emaDecay, 0);
  assert.deepEqual(config.resumes.at(-1).set, { emaDecay: 0 });
  // What would change the training is refused before anything runs, in one line.
  const before = await Deno.readTextFile(`${dir}/config.json`);
  for (
    const [setting, pattern] of [
      [
        "learningRate=0.001",
        /--set learningRate cannot change a resumed ddpm run .*only emaDecay, emaWarmup may be set/,
      ],
      [
        "emaDecay=1",
        /ddpm option emaDecay=1 is not allowed \(from --set\): expected number in \[0, 1\)/,
      ],
      ["noSuchOption=1", /ddpm has no option 'noSuchOption' \(from --set\)/],
    ] as const
  ) {
    const result = await runCli(["train", "--resume", dir, "--steps", "8", "--set", setting]);
    assert.notEqual(result.code, 0);
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0], pattern);
  }
  assert.equal(await Deno.readTextFile(`${dir}/config.json`), before, "nothing written");
});

Deno.test("cli: sample --sampler/--steps/--eta writes the grid and its timing (NFE, s/image); bad values are one line", async () => {
  await useBackend("cpu");
  const dir = `${await tempDir("ddpm-cli")}/run`;
  const spec = resolveSpec("ddpm", {
    quick: true,
    steps: 2,
    batch: 2,
    sampleCount: 2,
    modelConfig: { baseChannels: 4, groups: 2 },
  });
  (await train(spec, { out: dir, progress: false })).model.dispose();
  const out = `${dir}/grid.png`;
  const ok = await runCli(
    ["sample", dir, "--sampler", "ddim", "--steps", "3", "--eta", "0.5", "-n", "4", "--out", out],
  );
  assert.equal(ok.code, 0, ok.stderr);
  const timing = JSON.parse(await Deno.readTextFile(`${dir}/grid.json`));
  assert.equal(timing.nfe, 3);
  assert.equal(timing.n, 4);
  assert.equal(timing.weights, "ema");
  assert.deepEqual(timing.method, { sampler: "ddim", steps: 3, eta: 0.5 });
  assert.ok(timing.seconds_per_image > 0);
  assert.ok((await Deno.stat(out)).size > 0);
  for (const args of [["--eta", "2"], ["--sampler", "nope"]]) {
    const bad = await runCli(["sample", dir, ...args]);
    assert.notEqual(bad.code, 0);
    assert.equal(bad.stderr.trim().split("\n").filter((l) => l.startsWith("error")).length, 1);
  }
});
