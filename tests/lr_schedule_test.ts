/**
 * The shared learning-rate schedule reproduces the three schedules it replaced (GAN linear decay,
 * the feature classifier's cosine to 2 %, DDPM's warm-up + cosine), written out here as they
 * were: bit for bit in float64, or in float32 where that is all the optimizer sees; so runs
 * recorded before the refactor replay with the same losses.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { learningRateAt, setLearningRate } from "../lib/train/lr_schedule.ts";

Deno.test("learningRateAt: the GAN, feature-classifier and DDPM schedules, exactly as before", () => {
  // GAN (lib/models/gan/common.ts before): linear to 0 at step T + 1, 1-based steps.
  const base = 2e-4, T = 777;
  for (let step = 1; step <= 900; step++) {
    const before = base * Math.max(0, 1 - (step - 1) / T);
    assert.equal(learningRateAt({ base, decay: "linear", decaySteps: T }, step - 1), before);
  }
  // Feature classifier: cosine from base to 2 % of it over totalSteps, 0-based steps. It wrote
  // the angle as π·step/total (now π·(step/total)), which can differ in the last bit of a
  // float64; it trains with tfjs' Adam, whose rate is a float32 scalar, and in float32 the two
  // agree at every step of both committed recipes (lr 2e-3, batch 128: MNIST 70 × 30 epochs,
  // Fashion-MNIST 468 × 12).
  const lr = 2e-3;
  for (const total of [2100, 5616]) {
    for (let step = 0; step < total; step++) {
      const before = lr * (0.02 + 0.98 * 0.5 * (1 + Math.cos(Math.PI * step / total)));
      const schedule = { base: lr, decay: "cosine" as const, decaySteps: total, floor: 0.02 };
      const now = learningRateAt(schedule, step);
      assert.equal(Math.fround(now), Math.fround(before), `classifier step ${step}/${total}`);
      assert.ok(Math.abs(now - before) <= 1e-15 * lr, `classifier step ${step}/${total}`);
    }
  }
  // DDPM: warm-up, then constant or cosine to 0 at decaySteps.
  const peak = 1e-3, warmup = 200, decaySteps = 6000;
  for (let step = 1; step <= 6500; step++) {
    const warm = step < warmup ? peak * step / warmup : undefined;
    const progress = Math.min(1, (step - warmup) / (decaySteps - warmup));
    const cosine = warm ?? peak * 0.5 * (1 + Math.cos(Math.PI * progress));
    const schedule = { base: peak, warmupSteps: warmup, decaySteps };
    assert.equal(learningRateAt({ ...schedule, decay: "cosine" }, step), cosine, `ddpm ${step}`);
    assert.equal(learningRateAt({ ...schedule, decay: "constant" }, step), warm ?? peak);
  }
});

Deno.test("learningRateAt: anchors of each shape, floors, and a one-line error for no decay length", () => {
  const s = { base: 1, warmupSteps: 10, decaySteps: 110 };
  assert.equal(learningRateAt({ ...s, decay: "linear" }, 5), 0.5); // half-way up the warm-up
  assert.equal(learningRateAt({ ...s, decay: "linear" }, 10), 1); // peak
  assert.equal(learningRateAt({ ...s, decay: "linear" }, 60), 0.5);
  assert.ok(Math.abs(learningRateAt({ ...s, decay: "cosine" }, 60) - 0.5) < 1e-15);
  assert.equal(learningRateAt({ ...s, decay: "cosine", floor: 0.1 }, 110), 0.1);
  assert.equal(learningRateAt({ ...s, decay: "linear", floor: 0.1 }, 5000), 0.1);
  assert.equal(learningRateAt({ ...s, decay: "constant" }, 5000), 1);
  assert.throws(() => learningRateAt({ base: 1, decay: "cosine" }, 3), /decaySteps > warmupSteps/);
});

Deno.test("setLearningRate sets the rate every tfjs optimizer reads", () => {
  const optimizers = [tf.train.adam(0.1), tf.train.rmsprop(0.1)];
  setLearningRate(optimizers, 0.025);
  for (const o of optimizers) {
    assert.equal((o as unknown as { learningRate: number }).learningRate, 0.025);
  }
  setLearningRate(optimizers[0], 0.5);
  assert.equal((optimizers[0] as unknown as { learningRate: number }).learningRate, 0.5);
  optimizers.forEach((o) => o.dispose());
});
