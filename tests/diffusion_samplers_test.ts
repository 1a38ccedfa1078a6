/**
 * Diffusion math without training: schedules, q(x_t|x_0), ε/x₀/v conversions, one DDPM step
 * against Algorithm 2 written out here, and every sampler against the EXACT denoiser of
 * Gaussian data N(μ, s²I), for which
 *   E[x_0 | x_t] = μ + a s² (x_t − aμ)/(a²s² + 1 − ᾱ),   E[ε | x_t] = √(1−ᾱ) (x_t − aμ)/(a²s² + 1 − ᾱ)
 * (a = √ᾱ), and the probability-flow ODE keeps the z-score (x_t − aμ)/√(a²s² + 1 − ᾱ) fixed,
 * so deterministic samplers have an exact endpoint to converge to.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  BETA_SCHEDULES,
  makeSchedule,
  type NoiseSchedule,
  TERMINAL_SNR,
} from "../lib/models/diffusion/schedule.ts";
import {
  convertPrediction,
  lossWeight,
  PREDICTION_TYPES,
  predictionTarget,
  type PredictionType,
  toEpsilon,
  toV,
  toX0,
} from "../lib/models/diffusion/prediction.ts";
import { Denoiser, type DiffusionNet, type Sampler } from "../lib/models/diffusion/denoiser.ts";
import { DdpmSampler } from "../lib/models/diffusion/ddpm.ts";
import { DdimSampler } from "../lib/models/diffusion/ddim.ts";
import { spacedTimesteps } from "../lib/models/diffusion/spacing.ts";
import {
  makeInverseSampler,
  makeSampler,
  parseSamplingMethod,
  sampleDiffusion,
  sampleLoop,
} from "../lib/models/diffusion/samplers.ts";
import { UserInputError } from "../lib/util/errors.ts";
import { type CellResult, parseCell, readme, resumableCells } from "../experiments/ddpm_vs_ddim.ts";
import { checkStudies, compare, poolCells, type StudyRecord } from "../experiments/pool_seeds.ts";
import { fidOfRows } from "../experiments/seed_dependence.ts";
import { frechetDistance, GaussianStats } from "../lib/metrics/fid.ts";
import { Rng } from "../lib/util/rng.ts";
import { maxAbsDiff, useBackend } from "./helpers.ts";

const close = (a: number, b: number, tol: number, what = "") =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

function meanVar(values: ArrayLike<number>): { mean: number; variance: number } {
  let m = 0;
  for (let i = 0; i < values.length; i++) m += values[i];
  m /= values.length;
  let v = 0;
  for (let i = 0; i < values.length; i++) v += (values[i] - m) ** 2;
  return { mean: m, variance: v / (values.length - 1) };
}

// ─────────────────────────── the exact Gaussian denoiser ───────────────────────────

const MU = 0.5, S = 0.3; // data N(μ, s²) in every pixel

/** The optimal network for data N(μ, s²I), outputting the given prediction type. */
function gaussianNet(schedule: NoiseSchedule, type: PredictionType): DiffusionNet {
  return (xt, t) =>
    tf.tidy(() => {
      const ab = schedule.alphaBarAt(t.dataSync()[0]);
      const a = Math.sqrt(ab), sn = Math.sqrt(1 - ab), variance = a * a * S * S + sn * sn;
      const centred = tf.sub(xt, a * MU);
      const eps = tf.mul(centred, sn / variance);
      const x0 = tf.add(tf.mul(centred, a * S * S / variance), MU);
      if (type === "epsilon") return eps as tf.Tensor4D;
      if (type === "x0") return x0 as tf.Tensor4D;
      return tf.sub(tf.mul(eps, a), tf.mul(x0, sn)) as tf.Tensor4D;
    });
}

/** Where the probability-flow ODE takes x, started at level ᾱ, for Gaussian data. */
function exactOdeEndpoint(x: Float32Array, alphaBar: number): Float64Array {
  const a = Math.sqrt(alphaBar), std = Math.sqrt(a * a * S * S + 1 - alphaBar);
  return Float64Array.from(x, (v) => MU + S * (v - a * MU) / std);
}

const SHAPE: [number, number, number, number] = [256, 4, 4, 1]; // 4,096 iid pixels

async function run(
  sampler: Sampler,
  start: tf.Tensor4D,
  type: PredictionType = "epsilon",
  seed = 1,
): Promise<Float32Array> {
  const denoiser = new Denoiser(gaussianNet(schedule, type), type, schedule);
  const out = await sampleLoop(denoiser, sampler, start, { seed });
  const values = out.dataSync() as Float32Array;
  out.dispose();
  assert.equal(denoiser.nfe, sampler.points.length);
  return values;
}

const schedule = makeSchedule({ kind: "linear", timesteps: 1000 });

function startNoise(std = 1, seed = 7): tf.Tensor4D {
  return tf.tidy(() => tf.mul(tf.randomNormal(SHAPE, 0, 1, "float32", seed), std));
}

/** Max deviation of a deterministic sampler from the exact ODE endpoint. */
async function odeError(sampler: Sampler, type: PredictionType = "epsilon"): Promise<number> {
  const start = startNoise(sampler.initNoiseStd);
  const x = start.dataSync() as Float32Array;
  const out = await run(sampler, start, type);
  start.dispose();
  return maxAbsDiff(out, exactOdeEndpoint(x, sampler.points[0].alphaBar));
}

// ─────────────────────────── schedules ───────────────────────────

Deno.test("schedules: ᾱ strictly decreasing in (0, 1), reference endpoints, zero terminal SNR", () => {
  for (const kind of BETA_SCHEDULES) {
    for (const terminalSnr of TERMINAL_SNR) {
      const s = makeSchedule({ kind, terminalSnr, timesteps: 1000 });
      for (let t = 1; t < s.T; t++) assert.ok(s.alphaBar[t] < s.alphaBar[t - 1], `${kind} at ${t}`);
      assert.ok(s.alphaBar[0] < 1 && s.alphaBar[s.T - 1] >= 0);
      if (terminalSnr === "zero") {
        close(s.alphaBar[s.T - 1], 0, 1e-12, `${kind} zero terminal`);
        // Lin et al.: √ᾱ_0 is kept.
        close(s.alphaBar[0], makeSchedule({ kind }).alphaBar[0], 1e-12, `${kind} first`);
      }
    }
  }
  const linear = makeSchedule({ kind: "linear" });
  close(linear.betas[0], 1e-4, 1e-15);
  close(linear.betas[999], 0.02, 1e-15);
  // ᾱ_T = ∏(1 − β_t) ≈ 4.04e-5 for DDPM's linear schedule, computed here independently.
  let prod = 1;
  for (let t = 0; t < 1000; t++) prod *= 1 - (1e-4 + (0.02 - 1e-4) * t / 999);
  close(linear.alphaBar[999], prod, 1e-15);
  close(prod, 4.036e-5, 1e-7);
  // Cosine: ᾱ_t = f(t+1)/f(0) wherever β is not clipped (Nichol & Dhariwal eq. 17).
  const cosine = makeSchedule({ kind: "cosine" });
  const f = (u: number) => Math.cos((u + 0.008) / 1.008 * Math.PI / 2) ** 2;
  for (const t of [0, 250, 500, 900]) close(cosine.alphaBar[t], f((t + 1) / 1000) / f(0), 1e-12);
  // Quadratic: linear in √β.
  const quad = makeSchedule({ kind: "quadratic" });
  close(Math.sqrt(quad.betas[500]), (Math.sqrt(1e-4) * 499 + Math.sqrt(0.02) * 500) / 999, 1e-12);
  // Derived tables agree with their definitions.
  for (const t of [0, 10, 999]) {
    close(linear.snr[t], linear.alphaBar[t] / (1 - linear.alphaBar[t]), 1e-9 * linear.snr[t]);
    close(linear.sigmas[t] ** 2, 1 / linear.snr[t], 1e-9 / linear.snr[t]);
  }
  assert.equal(linear.posteriorVariance[0], 0);
  // Continuous time: exact on the grid, and timeForSigma inverts alphaBarAt.
  for (const t of [0, 3, 417.25, 998.5]) {
    const ab = linear.alphaBarAt(t);
    close(linear.timeForSigma(Math.sqrt((1 - ab) / ab)), t, 1e-6, "timeForSigma");
  }
  assert.throws(() => makeSchedule({ timesteps: 1 }), UserInputError);
});

Deno.test("q(x_t|x_0): empirical mean and variance match √ᾱ x_0 and 1 − ᾱ", async () => {
  await useBackend("cpu");
  const n = 20000, x0Value = 0.7;
  for (const t of [0, 100, 500, 999]) {
    const out = tf.tidy(() => {
      const x0 = tf.fill([n, 1, 1, 1], x0Value) as tf.Tensor4D;
      const noise = tf.randomNormal([n, 1, 1, 1], 0, 1, "float32", 11 + t) as tf.Tensor4D;
      return schedule.qSample(x0, new Array(n).fill(t), noise);
    });
    const { mean, variance } = meanVar(out.dataSync());
    out.dispose();
    const ab = schedule.alphaBar[t], sd = Math.sqrt((1 - ab) / n);
    close(mean, Math.sqrt(ab) * x0Value, 5 * sd, `mean at t=${t}`);
    close(variance, 1 - ab, 5 * (1 - ab) * Math.sqrt(2 / n), `variance at t=${t}`);
  }
  // Per-sample t given as an int32 tensor: same as the JS array.
  const [a, b] = tf.tidy(() => {
    const x0 = tf.randomNormal([3, 2, 2, 1], 0, 1, "float32", 1) as tf.Tensor4D;
    const noise = tf.randomNormal([3, 2, 2, 1], 0, 1, "float32", 2) as tf.Tensor4D;
    return [
      schedule.qSample(x0, [3, 400, 999], noise),
      schedule.qSample(x0, tf.tensor1d([3, 400, 999], "int32"), noise),
    ];
  });
  assert.ok(maxAbsDiff(a.dataSync(), b.dataSync()) < 1e-6);
  tf.dispose([a, b]);
});

// ─────────────────────────── predictions ───────────────────────────

Deno.test("ε / x₀ / v conversions invert each other; targets and Min-SNR weights", async () => {
  await useBackend("cpu");
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const x0 = tf.randomNormal([4, 3, 3, 1], 0, 1, "float32", 3) as tf.Tensor4D;
    const eps = tf.randomNormal([4, 3, 3, 1], 0, 1, "float32", 4) as tf.Tensor4D;
    const t = [5, 200, 600, 999];
    const level = {
      a: schedule.coefficient(schedule.sqrtAlphaBar, t),
      s: schedule.coefficient(schedule.sqrtOneMinusAlphaBar, t),
    };
    const xt = schedule.qSample(x0, t, eps);
    const v = predictionTarget("v", x0, eps, level);
    const truth = { epsilon: eps, x0, v };
    for (const from of PREDICTION_TYPES) {
      for (const to of PREDICTION_TYPES) {
        const got = convertPrediction(from, to, truth[from], xt, level);
        // ε → x₀ divides by √ᾱ ≈ 0.006 at t = 999: float32 rounding is amplified there.
        const tol = from === "epsilon" && to !== "epsilon" ? 2e-3 : 1e-5;
        assert.ok(maxAbsDiff(got.dataSync(), truth[to].dataSync()) < tol, `${from} → ${to}`);
      }
    }
    // Round trip through all three.
    const back = toEpsilon("v", toV("x0", toX0("epsilon", eps, xt, level), xt, level), xt, level);
    assert.ok(maxAbsDiff(back.dataSync(), eps.dataSync()) < 2e-3);
  });
  assert.equal(tf.memory().numTensors, before);
  // Min-SNR-γ: the implied x₀-loss weight is min(SNR, γ) for every target.
  for (const snr of [0.01, 1, 5, 80]) {
    close(lossWeight("min-snr", "epsilon", snr) * snr, Math.min(snr, 5), 1e-12);
    close(lossWeight("min-snr", "x0", snr), Math.min(snr, 5), 1e-12);
    close(lossWeight("min-snr", "v", snr) * (snr + 1), Math.min(snr, 5), 1e-12);
    assert.equal(lossWeight("simple", "v", snr), 1);
  }
});

// ─────────────────────────── DDPM / DDIM steps ───────────────────────────

Deno.test("one DDPM step equals Algorithm 2 computed here; DDIM η=1, S=T has DDPM's variance", async () => {
  await useBackend("cpu");
  const T = 1000;
  const beta = (t: number) => 1e-4 + (0.02 - 1e-4) * t / (T - 1);
  let alphaBar = 1;
  const alphaBars: number[] = [];
  for (let t = 0; t < T; t++) alphaBars.push(alphaBar *= 1 - beta(t));
  const ddpm = new DdpmSampler(schedule);
  const net: DiffusionNet = (x, t) => tf.tidy(() => tf.add(tf.mul(x, 0.3), t.dataSync()[0] / T));
  const denoiser = new Denoiser(net, "epsilon", schedule);
  for (const t of [999, 500, 1]) {
    const index = ddpm.timesteps.indexOf(t);
    const xt = tf.randomNormal([2, 3, 3, 1], 0, 1, "float32", t) as tf.Tensor4D;
    const got = tf.tidy(() =>
      ddpm.step(denoiser.predict(xt, ddpm.points[index]), index, xt, new Rng(5))
    );
    const expected = tf.tidy(() => {
      const eps = tf.add(tf.mul(xt, 0.3), t / T);
      const at = 1 - beta(t), abt = alphaBars[t];
      const mean = tf.mul(tf.sub(xt, tf.mul(eps, beta(t) / Math.sqrt(1 - abt))), 1 / Math.sqrt(at));
      const posteriorVar = (1 - alphaBars[t - 1]) / (1 - abt) * beta(t);
      const z = tf.randomNormal([2, 3, 3, 1], 0, 1, "float32", new Rng(5).seed());
      return tf.add(mean, tf.mul(z, Math.sqrt(posteriorVar)));
    });
    assert.ok(maxAbsDiff(got.dataSync(), expected.dataSync()) < 1e-5, `t = ${t}`);
    tf.dispose([xt, got, expected]);
  }
  // The step to t = −1 adds no noise: x̂₀'s posterior mean with ᾱ_{−1} = 1 is x̂₀ itself.
  const last = ddpm.coefficients(T - 1);
  assert.equal(last.variance, 0);
  close(last.coefX0, 1, 1e-12);
  close(last.coefXt, 0, 1e-12);

  const ddim = new DdimSampler(schedule, { eta: 1 });
  ddim.setTimesteps(T);
  const large = new DdpmSampler(schedule, { variance: "fixed-large" });
  for (let i = 0; i < T - 1; i++) {
    const t = ddim.timesteps[i];
    close(ddim.coefficients(i).sigma ** 2, schedule.posteriorVariance[t], 1e-12, `σ² at ${t}`);
    close(ddpm.coefficients(i).variance, schedule.posteriorVariance[t], 1e-12);
    close(large.coefficients(i).variance, schedule.betas[t], 1e-12);
  }
});

Deno.test("timestep spacings: linspace / leading / trailing as in diffusers, DDIM's quadratic; S = T visits all", () => {
  assert.deepEqual(spacedTimesteps(1000, 5, "linspace"), [999, 749, 500, 250, 0]);
  assert.deepEqual(spacedTimesteps(1000, 5, "leading"), [800, 600, 400, 200, 0]);
  assert.deepEqual(spacedTimesteps(1000, 5, "trailing"), [999, 799, 599, 399, 199]);
  // Quadratic (DDIM paper App. D.2): ⌊999·i²/49²⌋ for i = 0…49, bumped to stay distinct where
  // the floor repeats (i = 1, 2: 0 and 1 → 1 and 2), so 50 distinct steps from 999 down to 0.
  const quadratic = spacedTimesteps(1000, 50, "quadratic");
  assert.deepEqual(quadratic.slice(0, 3), [999, 958, 919]);
  assert.deepEqual(quadratic.slice(-8), [20, 14, 10, 6, 3, 2, 1, 0]);
  assert.equal(new Set(quadratic).size, 50);
  assert.ok(quadratic.every((t, i) => i === 0 || t < quadratic[i - 1]), "descending");
  assert.deepEqual(spacedTimesteps(1000, 5, "quadratic"), [999, 561, 249, 62, 0]);
  // DPM-Solver++ places S + 1 quadratic points and drops the one at 0, as for linspace/leading.
  const dpmQuadratic = makeSampler(schedule, {
    sampler: "dpmpp-2m",
    steps: 20,
    spacing: "quadratic",
  });
  assert.deepEqual(
    dpmQuadratic.points.map((p) => p.t),
    spacedTimesteps(1000, 21, "quadratic").slice(0, 20),
  );
  for (const spacing of ["linspace", "leading", "trailing", "quadratic"] as const) {
    const all = spacedTimesteps(1000, 1000, spacing);
    assert.deepEqual(all, Array.from({ length: 1000 }, (_, i) => 999 - i));
  }
  assert.throws(() => spacedTimesteps(1000, 1001, "leading"), UserInputError);
  assert.throws(() => parseSamplingMethod({ sampler: "ddim", eta: "x" }), UserInputError);
  assert.throws(() => parseSamplingMethod({ sampler: "plms" }), UserInputError);
  assert.throws(() => parseSamplingMethod({ sampler: "ddim", stepz: 3 }), UserInputError);
  assert.deepEqual(parseSamplingMethod({ sampler: "ddim", steps: "20", eta: 1 }).steps, 20);
});

// ─────────────────────────── samplers against the exact denoiser ───────────────────────────

/** DDIM η = 0 with the exact Gaussian denoiser in closed form. Write (a·s, √(1 − ᾱ)) =
 * r (cos θ, sin θ): x̂₀ and ε̂ are linear in the z-score z = (x_t − aμ)/r, and one DDIM step
 * maps z to z·cos(θ − θ'), θ' the angle at the next level (0 when clean). So the output is
 * μ + s·z·∏ cos Δθ — a derivation independent of ddim.ts. */
function ddimClosedForm(sampler: Sampler, x: Float32Array): Float64Array {
  const angle = (ab: number) => Math.atan2(Math.sqrt(1 - ab), Math.sqrt(ab) * S);
  const levels = [...sampler.points.map((p) => p.alphaBar), 1];
  let contraction = 1;
  for (let i = 0; i + 1 < levels.length; i++) {
    contraction *= Math.cos(angle(levels[i]) - angle(levels[i + 1]));
  }
  const a = Math.sqrt(levels[0]), r = Math.sqrt(a * a * S * S + 1 - levels[0]);
  return Float64Array.from(x, (v) => MU + S * contraction * (v - a * MU) / r);
}

Deno.test("DDIM η=0 with the exact denoiser equals its closed form: z-score × ∏ cos Δθ", async () => {
  await useBackend("cpu");
  for (const spacing of ["linspace", "leading", "trailing", "quadratic"] as const) {
    const sampler = makeSampler(schedule, { sampler: "ddim", steps: 10, eta: 0, spacing });
    const start = startNoise(1, 21);
    const x = start.dataSync() as Float32Array;
    const out = await run(sampler, start);
    start.dispose();
    const expected = ddimClosedForm(sampler, x);
    assert.ok(maxAbsDiff(out, expected) < 1e-4, `${spacing}: ${maxAbsDiff(out, expected)}`);
  }
});

// With few steps every sampler is biased even with the exact denoiser (DDIM-50 η=0 keeps only
// ≈ 84 % of the variance at s = 0.3, see the closed form above; DPM-Solver++-20 ≈ 74 % with
// diffusers' linspace timesteps); on fine grids they all converge to N(μ, s²).
Deno.test("every sampler on a fine grid with the exact denoiser: mean and variance of N(μ, s²)", async () => {
  await useBackend("cpu");
  const shape: [number, number, number, number] = [1024, 4, 4, 1];
  const n = shape.reduce((a, b) => a * b);
  const cases: [string, Sampler][] = [
    ["DDPM-1000", new DdpmSampler(schedule)],
    ["DDIM-1000 η=0", makeSampler(schedule, { sampler: "ddim", steps: 1000, eta: 0 })],
    ["DDIM-1000 η=1", makeSampler(schedule, { sampler: "ddim", steps: 1000, eta: 1 })],
    ["DPM-Solver++(2M)-100", makeSampler(schedule, { sampler: "dpmpp-2m", steps: 100 })],
    [
      "DPM-Solver++(2M)-50 karras",
      makeSampler(schedule, { sampler: "dpmpp-2m", steps: 50, spacing: "karras" }),
    ],
    ["Heun-50", makeSampler(schedule, { sampler: "heun", steps: 50 })],
    ["Euler-500", makeSampler(schedule, { sampler: "euler", steps: 500 })],
  ];
  const report: string[] = [];
  const outputs: Record<string, Float32Array> = {};
  for (const [name, sampler] of cases) {
    const start = tf.tidy(() =>
      tf.mul(tf.randomNormal(shape, 0, 1, "float32", 3), sampler.initNoiseStd)
    );
    const values = outputs[name] = await run(sampler, start as tf.Tensor4D, "epsilon", 9);
    const { mean, variance } = meanVar(values);
    start.dispose();
    report.push(`${name}: mean ${mean.toFixed(4)} variance/s² ${(variance / S / S).toFixed(4)}`);
    // 5 standard errors (the mean's s/√n; the variance's s²√(2/n)), plus 3 % of s² for the
    // discretization bias these samplers have even with the exact denoiser (DDPM-1000 ≈ 2.5 %
    // low at s = 0.3: its posterior ignores the uncertainty of x̂₀).
    close(mean, MU, 5 * S / Math.sqrt(n), `${name} mean`);
    close(variance, S * S, S * S * (5 * Math.sqrt(2 / n) + 0.03), `${name} variance`);
  }
  console.log(report.join("\n"));
  // DDIM with S = T and η = 1 IS DDPM (fixed-small): same noise, same samples.
  assert.ok(maxAbsDiff(outputs["DDIM-1000 η=1"], outputs["DDPM-1000"]) < 1e-4);
});

Deno.test("deterministic samplers converge to the exact ODE endpoint; DPM-Solver++ and Heun faster", async () => {
  await useBackend("cpu");
  const ddim = (steps: number) =>
    makeSampler(schedule, { sampler: "ddim", steps, eta: 0, spacing: "trailing" });
  const errors: Record<string, number[]> = { ddim: [], dpm: [], euler: [], heun: [] };
  for (const steps of [10, 20, 50]) {
    errors.ddim.push(await odeError(ddim(steps)));
    errors.dpm.push(
      await odeError(makeSampler(schedule, { sampler: "dpmpp-2m", steps, spacing: "trailing" })),
    );
    errors.euler.push(await odeError(makeSampler(schedule, { sampler: "euler", steps })));
    errors.heun.push(await odeError(makeSampler(schedule, { sampler: "heun", steps })));
  }
  const message = JSON.stringify(errors);
  for (const e of Object.values(errors)) {
    assert.ok(e[0] > e[1] && e[1] > e[2], `error must shrink with S: ${message}`);
  }
  // Second-order methods: smaller error at equal S and a faster rate (≈4× per doubling vs ≈2×).
  for (let i = 0; i < 3; i++) assert.ok(errors.dpm[i] < errors.ddim[i], message);
  assert.ok(errors.dpm[0] / errors.dpm[1] > errors.ddim[0] / errors.ddim[1], message);
  for (let i = 0; i < 3; i++) assert.ok(errors.heun[i] < errors.euler[i], message);
  assert.ok(errors.heun[0] / errors.heun[1] > errors.euler[0] / errors.euler[1], message);
  // Same endpoint from every prediction type.
  for (const type of PREDICTION_TYPES) {
    assert.ok(await odeError(ddim(50), type) < errors.ddim[2] * 1.5);
  }
});

Deno.test("DDIM η=0 is deterministic; inversion round trip; tensor count flat over every loop", async () => {
  await useBackend("cpu");
  const start = startNoise();
  const a = await run(makeSampler(schedule, { sampler: "ddim", steps: 20 }), start, "epsilon", 1);
  const b = await run(makeSampler(schedule, { sampler: "ddim", steps: 20 }), start, "epsilon", 2);
  assert.equal(maxAbsDiff(a, b), 0);
  const c = await run(
    makeSampler(schedule, { sampler: "ddim", steps: 20, eta: 1 }),
    start,
    "epsilon",
    2,
  );
  assert.ok(maxAbsDiff(a, c) > 0.05, "η = 1 must add noise");
  start.dispose();

  // Inversion: images of N(μ, s²) → noise → images with the exact denoiser. The exact
  // probability-flow map sends x₀ to a_T μ + r_T (x₀ − μ)/s; both directions are first order,
  // so the round-trip error falls like 1/S.
  const images = tf.tidy(() =>
    tf.add(tf.mul(tf.randomNormal(SHAPE, 0, 1, "float32", 5), S), MU)
  ) as tf.Tensor4D;
  const x0 = images.dataSync();
  const denoiser = new Denoiser(gaussianNet(schedule, "epsilon"), "epsilon", schedule);
  const rms = (u: ArrayLike<number>, v: ArrayLike<number>) =>
    Math.sqrt(Array.from(u, (ui, i) => (ui - v[i]) ** 2).reduce((p, q) => p + q) / u.length);
  const roundTrip: number[] = [];
  for (const steps of [20, 100]) {
    const method = { sampler: "ddim" as const, steps, spacing: "trailing" as const };
    const inverse = makeInverseSampler(schedule, method);
    const latents = await sampleLoop(denoiser, inverse, images);
    const last = inverse.points[inverse.points.length - 1].alphaBar;
    const a = Math.sqrt(last), r = Math.sqrt(a * a * S * S + 1 - last);
    const exact = Float64Array.from(x0, (v) => a * MU + r * (v - MU) / S);
    const back = await sampleLoop(denoiser, makeSampler(schedule, method), latents);
    roundTrip.push(rms(back.dataSync(), x0) / S);
    if (steps === 100) assert.ok(rms(latents.dataSync(), exact) < 0.1, "latents ≈ exact map");
    tf.dispose([latents, back]);
  }
  assert.ok(roundTrip[1] < roundTrip[0] / 3 && roundTrip[1] < 0.1, `round trip ${roundTrip}`);
  images.dispose();

  // Flat tensor count over whole loops, stateful samplers included.
  const before = tf.memory().numTensors;
  for (const sampler of ["ddpm", "ddim", "dpmpp-2m", "euler", "heun"] as const) {
    const { sample, nfe } = await sampleDiffusion(
      new Denoiser(gaussianNet(schedule, "v"), "v", schedule),
      { sampler, steps: 8, eta: 0.5 },
      [2, 2, 2, 1],
      { seed: 3 },
    );
    assert.equal(nfe, sampler === "heun" ? 15 : 8);
    sample.dispose();
    assert.equal(tf.memory().numTensors, before, sampler);
  }
});

Deno.test("zero terminal SNR: DDIM runs from pure noise with v-prediction; ε-prediction refuses", async () => {
  await useBackend("cpu");
  const zero = makeSchedule({ terminalSnr: "zero" });
  const method = { sampler: "ddim" as const, steps: 50, spacing: "trailing" as const };
  const sampler = makeSampler(zero, method);
  const start = startNoise(1, 8);
  const x = start.dataSync() as Float32Array;
  const out = await sampleLoop(new Denoiser(gaussianNet(zero, "v"), "v", zero), sampler, start);
  assert.equal(sampler.points[0].alphaBar, zero.alphaBar[999]);
  assert.ok(maxAbsDiff(out.dataSync(), ddimClosedForm(sampler, x)) < 1e-4);
  tf.dispose([start, out]);
  await assert.rejects(
    () =>
      sampleDiffusion(new Denoiser(gaussianNet(zero, "v"), "epsilon", zero), method, [1, 1, 1, 1]),
    UserInputError,
  );
});

Deno.test("Epsilon Scaling: ε̂/λ with x̂₀ re-derived so x_t = √ᾱ x̂₀ + √(1−ᾱ) ε̂; λ = 1 is the plain denoiser", async () => {
  await useBackend("cpu");
  const start = startNoise(1, 9);
  for (const type of PREDICTION_TYPES) {
    const plain = new Denoiser(gaussianNet(schedule, type), type, schedule);
    const one = new Denoiser(gaussianNet(schedule, type), type, schedule, undefined, 1);
    const scaled = new Denoiser(gaussianNet(schedule, type), type, schedule, undefined, 1.25);
    for (const t of [999, 500, 20]) {
      const point = { t, alphaBar: schedule.alphaBar[t] };
      const a = Math.sqrt(point.alphaBar), sn = Math.sqrt(1 - point.alphaBar);
      const p0 = plain.predict(start, point), p1 = one.predict(start, point);
      const ps = scaled.predict(start, point);
      assert.equal(maxAbsDiff(p1.eps.dataSync(), p0.eps.dataSync()), 0, `${type} λ = 1`);
      assert.equal(maxAbsDiff(p1.x0.dataSync(), p0.x0.dataSync()), 0, `${type} λ = 1`);
      const expectedEps = p0.eps.dataSync().map((e) => e / 1.25);
      assert.ok(maxAbsDiff(ps.eps.dataSync(), expectedEps) < 1e-6, `${type} t=${t} ε̂/λ`);
      const x = start.dataSync(), x0 = ps.x0.dataSync(), eps = ps.eps.dataSync();
      const rebuilt = Float32Array.from(x, (_, i) => a * x0[i] + sn * eps[i]);
      assert.ok(maxAbsDiff(rebuilt, x) < 1e-4 / Math.max(a, 1e-2), `${type} t=${t} x_t rebuilt`);
      tf.dispose([p0.eps, p0.x0, p1.eps, p1.x0, ps.eps, ps.x0]);
    }
  }
  start.dispose();
  // The scaled path allocates nothing lasting over a whole loop either.
  const before = tf.memory().numTensors;
  const scaledV = new Denoiser(gaussianNet(schedule, "v"), "v", schedule, undefined, 1.02);
  const { sample } = await sampleDiffusion(scaledV, { sampler: "ddim", steps: 8 }, [2, 2, 2, 1]);
  sample.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => new Denoiser(gaussianNet(schedule, "v"), "v", schedule, undefined, 0));
  assert.throws(() => parseSamplingMethod({ sampler: "ddim", epsilonScale: -1 }), UserInputError);
  assert.equal(parseSamplingMethod({ sampler: "ddim", epsilonScale: "1.02" }).epsilonScale, 1.02);
});

Deno.test("exp:ddpm_vs_ddim cells parse to sampling methods; bad cells are one-line errors", () => {
  assert.deepEqual(parseCell("ddpm-1000"), { sampler: "ddpm", steps: 1000 });
  assert.deepEqual(parseCell("ddim-50-eta0"), { sampler: "ddim", steps: 50, eta: 0 });
  assert.deepEqual(parseCell("ddim-20-eta0.5"), { sampler: "ddim", steps: 20, eta: 0.5 });
  assert.deepEqual(parseCell("dpmpp-2m-20"), { sampler: "dpmpp-2m", steps: 20 });
  assert.deepEqual(parseCell("heun-10"), { sampler: "heun", steps: 10 });
  assert.deepEqual(parseCell("ddim-50-eta0-es1.01"), {
    sampler: "ddim",
    steps: 50,
    eta: 0,
    epsilonScale: 1.01,
  });
  assert.deepEqual(parseCell("ddim-50-eta0-quadratic"), {
    sampler: "ddim",
    steps: 50,
    eta: 0,
    spacing: "quadratic",
  });
  assert.deepEqual(parseCell("dpmpp-2m-20-karras-es0.99"), {
    sampler: "dpmpp-2m",
    steps: 20,
    spacing: "karras",
    epsilonScale: 0.99,
  });
  for (
    const bad of [
      "ddim",
      "heun-10-eta1",
      "plms-20",
      "ddim-x-eta0",
      "ddim-50-eta0-es0",
      "ddim-50-eta0-karras",
      "heun-10-trailing",
      "ddim-50-eta0-cubic",
      "ddim-50-eta7",
      "ddim-50-eta1.5",
      "ddim-50-eta0.5.3",
    ]
  ) {
    assert.throws(() => parseCell(bad), UserInputError, bad);
  }
  // NFE per cell as the study reports it.
  assert.equal(makeSampler(schedule, parseCell("heun-20")).points.length, 39);
  assert.equal(makeSampler(schedule, parseCell("dpmpp-2m-20")).points.length, 20);
});

Deno.test("exp:ddpm_vs_ddim --resume keeps cells only from a sitting with the same model, n and seeds", () => {
  const meta = {
    model: "runs/x (step 5000, ema weights)",
    dataset: "fashion-mnist",
    n: 1024,
    seed: 1,
    batch: 256,
    backend: "native (2 threads)",
    commit: "aaa",
    started: "t0",
  };
  const cell = { cell: "ddim-50-eta0", classifier_fid: 30 };
  const kept = resumableCells({ ...meta, cells: [cell] }, { ...meta, commit: "bbb" });
  assert.equal(kept.length, 1);
  // A cell without its own provenance takes its sitting's.
  assert.equal(kept[0].commit, "aaa");
  assert.equal(kept[0].measured_at, "t0");
  for (const [key, value] of [["n", 512], ["seed", 2], ["model", "runs/y"], ["backend", "wasm"]]) {
    assert.throws(
      () => resumableCells({ ...meta, cells: [cell] }, { ...meta, [key as string]: value }),
      UserInputError,
      String(key),
    );
  }
});

/** A study cell with only the fields the README reads. */
const studyCell = (name: string, fid: number, seconds: number, extra: Partial<CellResult> = {}) =>
  ({
    cell: name,
    nfe: 50,
    classifier_fid: fid,
    sample_seconds: seconds,
    images_per_second: 1,
    classifier_kid_mean: 0,
    classifier_kid_std: 0,
    classifier_is_mean: null,
    precision: 0,
    recall: 0,
    ...extra,
  }) as unknown as CellResult;

Deno.test("exp:ddpm_vs_ddim README: DDIM-50 at the default and at each explicit spacing is compared with DDPM-1000", () => {
  const cell = studyCell;
  const rows = [
    cell("ddim-50-eta0", 13, 50),
    cell("ddim-50-eta0-trailing", 11.4, 40),
    cell("ddpm-1000", 10, 1000),
  ];
  const text = readme({ command: "x", n: 1024, seed: 1, batch: 256 }, rows, [], 1, true);
  const lines = text.split("\n").filter((l) => l.includes("vs DDPM-1000"));
  assert.deepEqual(lines, [
    "- DDIM-50 (η = 0) vs DDPM-1000: 20.0× faster in sampling wall time (target ≥ 19×: met); " +
    "FID 13.00 vs 10.00, 30.0 % (target within 15 %: missed)",
    "- DDIM-50 (η = 0, trailing spacing) vs DDPM-1000: 25.0× faster in sampling wall time " +
    "(target ≥ 19×: met); FID 11.40 vs 10.00, 14.0 % (target within 15 %: met)",
  ]);
});

Deno.test("exp:ddpm_vs_ddim README: a cell kept by --resume is listed with its sitting even at the same commit", () => {
  const cell = (name: string, measuredAt: string) =>
    studyCell(name, 10, 1, { commit: "aaa", measured_at: measuredAt });
  const meta = { command: "x", n: 1024, seed: 1, batch: 256, started: "2026-12-03T14:51:15.140Z" };
  const resumed = readme(
    meta,
    [
      cell("ddim-50-eta0", "2026-12-03T14:02:53.679Z"),
      cell("ddpm-1000", "2026-12-03T15:56:21.038Z"),
    ],
    [],
    1,
    true,
  );
  assert.ok(resumed.includes("more than one sitting"), resumed);
  assert.ok(resumed.includes("- ddim-50-eta0: commit aaa, measured 2026-12-03T14:02:53.679Z"));
  assert.ok(!resumed.includes("All cells measured in one sitting."));
  const fresh = readme(meta, [cell("ddpm-1000", "2026-12-03T15:56:21.038Z")], [], 1, true);
  assert.ok(fresh.includes("All cells measured in one sitting."), fresh);
});

Deno.test("exp:pool_seeds: per-cell mean and sd across seeds; comparisons only over shared seeds", () => {
  const base = {
    model: "runs/x",
    dataset: "fashion-mnist",
    n: 1024,
    batch: 256,
    backend: "native (2 threads)",
    commit: "c",
  };
  const cell = (name: string, fid: number, seconds: number) =>
    ({ cell: name, classifier_fid: fid, sample_seconds: seconds }) as unknown as CellResult;
  const studies: StudyRecord[] = [
    { ...base, seed: 1, cells: [cell("ddim-50-eta0", 13, 50), cell("ddpm-1000", 12, 1000)] },
    { ...base, seed: 101, cells: [cell("ddim-50-eta0", 14, 60), cell("ddpm-1000", 10, 1200)] },
    { ...base, seed: 201, cells: [cell("ddim-50-eta0", 15, 70)] },
  ];
  checkStudies(studies);
  const pooled = poolCells(studies);
  const ddim = pooled.find((c) => c.cell === "ddim-50-eta0")!;
  assert.deepEqual(ddim.seeds, [1, 101, 201]);
  assert.equal(ddim.mean_fid, 14);
  assert.equal(ddim.sd_across_seeds, 1); // sample sd of 13, 14, 15
  assert.equal(pooled.find((c) => c.cell === "ddpm-1000")!.sd_across_seeds, Math.SQRT2);
  const [gap] = compare(studies);
  // Seed 201 has no DDPM-1000 cell, so its DDIM-50 does not enter: (13 + 14) / (12 + 10) − 1.
  assert.deepEqual(gap.seeds, [1, 101]);
  assert.ok(Math.abs(gap.pooled_gap - (27 / 22 - 1)) < 1e-12);
  assert.equal(gap.met, false);
  // a: 13, 14 (mean 13.5, sd 1/√2); b: 12, 10 (mean 11, sd √2); k = 2 seeds.
  const se = (13.5 / 11) * Math.hypot(Math.SQRT1_2 / 13.5, Math.SQRT2 / 11) / Math.SQRT2;
  assert.ok(Math.abs(gap.pooled_gap_se! - se) < 1e-12, `${gap.pooled_gap_se} vs ${se}`);
  assert.ok(Math.abs(gap.speedup - 1100 / 55) < 1e-12);
  assert.deepEqual(gap.per_seed_speedups, [1000 / 50, 1200 / 60]);
  // Studies that do not belong together: a one-line error naming the difference.
  assert.throws(() => checkStudies([studies[0], { ...studies[1], n: 512 }]), /differ in n/);
  assert.throws(() => checkStudies([studies[0], { ...studies[1], seed: 3 }]), /share start-noise/);
  assert.throws(() => checkStudies([studies[0]]), /at least two/);
  // A spacing variant of DDIM-50 gets its own comparison with DDPM-1000, over its own shared seeds.
  studies[0].cells.push(cell("ddim-50-eta0-trailing", 11, 50));
  studies[1].cells.push(cell("ddim-50-eta0-trailing", 13, 60));
  const [leading, trailing] = compare(studies);
  assert.equal(leading.pooled_gap, gap.pooled_gap);
  assert.equal(trailing.name, "DDIM-50 (η = 0, trailing spacing) vs DDPM-1000");
  assert.ok(Math.abs(trailing.pooled_gap - (24 / 22 - 1)) < 1e-12);
  assert.equal(trailing.met, true);
  assert.equal(compare(studies).length, 2); // no DPM-Solver++ cells, so no third comparison
});

Deno.test("exp:seed_dependence: the FID of picked pool rows is the 1-D closed form of exactly those rows", () => {
  // One feature, so FID = (μa − μb)² + va + vb − 2·√(va·vb) with unbiased sample variances.
  const pool = new Float32Array([5, 1, 9, 3, 100, 7]);
  const reference = GaussianStats.fromRows(new Float32Array([0, 2, 4]), 3, 1).moments(); // μ 2, v 4
  const picked = [3, 1, 5]; // values 3, 1, 7: μ 11/3, v (4/9 + 64/9 + 100/9) / 2 = 84/9
  const va = 84 / 9, vb = 4;
  const expected = (11 / 3 - 2) ** 2 + va + vb - 2 * Math.sqrt(va * vb);
  const fid = fidOfRows(pool, 1, picked, reference);
  assert.ok(Math.abs(fid - expected) < 1e-4, `${fid} vs ${expected}`);
  // Rows equal to the reference's own: distance 0 (order does not matter).
  const same = fidOfRows(new Float32Array([4, 9, 0, 2]), 1, [2, 3, 0], reference);
  assert.ok(Math.abs(same) < 1e-4, `${same}`);
  // Two features, rows picked out of a longer pool (rows 1, 5, 0): the FID of those rows copied.
  const wide = new Float32Array([1, 2, 3, 5, -1, 0, 8, 8, 2, 2, 4, -3]);
  const ref2 = GaussianStats.fromRows(new Float32Array([0, 0, 1, 1, 2, 0, 1, 3]), 4, 2).moments();
  const direct = GaussianStats.fromRows(new Float32Array([3, 5, 4, -3, 1, 2]), 3, 2).moments();
  const viaRows = fidOfRows(wide, 2, [1, 5, 0], ref2);
  assert.ok(Math.abs(viaRows - frechetDistance(direct, ref2)) < 1e-9, `${viaRows}`);
});

Deno.test("exp:seed_dependence: bad options end in one line and a non-zero exit before any work", async () => {
  const root = new URL("../", import.meta.url).pathname;
  for (
    const [extra, message] of [
      [["--seeds", "301,401"], /at least three/],
      [["--seeds", "1,2,3"], /share start-noise|apart/],
      [["--seeds", "301,401,501", "--subsets", "1"], /--subsets must be ≥ 2/],
      [["--seeds", "301,401,501", "--cell", "ddim-50-eta7"], /η|eta/],
    ] as [string[], RegExp][]
  ) {
    const args = [
      "--run",
      "/nonexistent",
      "--cell",
      "ddim-50-eta1",
      "--out",
      "/nonexistent/out",
      ...extra,
    ];
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}experiments/seed_dependence.ts`, ...args],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    assert.notEqual(out.code, 0, `${extra.join(" ")}: exit 0`);
    assert.equal(stderr.split("\n").length, 1, stderr);
    assert.match(stderr, message);
  }
});
