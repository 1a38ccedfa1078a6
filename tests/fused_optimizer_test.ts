/**
 * lib/nn/optimizers.ts: the fused Adam/AdamW and EMA updates (one native call for all variables)
 * and their composite fallbacks match tf.train.adam, the AdamW formula and the EMA closed form;
 * state round-trips through getWeights/setWeights (tfjs Adam's layout) and the trainer's
 * checkpoints; nothing leaks; on native the fused kernels really ran.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../lib/backend/mod.ts";
import { probeNative } from "../lib/backend/native/mod.ts";
import { elementwiseLibrary } from "../lib/backend/native/elementwise.ts";
import { fusedOptimizerCounters } from "../lib/backend/native/fused.ts";
import { adam, emaUpdate, FusedAdam } from "../lib/nn/optimizers.ts";
import { resolveSpec, train } from "../lib/train/trainer.ts";
import { readMetrics } from "../lib/train/run_dir.ts";
import { tempDir } from "./helpers.ts";

const native = probeNative();
const BACKENDS = native.ok ? ["cpu", "native"] as const : ["cpu"] as const;
if (!native.ok) console.error(`fused optimizer tests on native skipped: ${native.reason}`);

async function use(backend: "cpu" | "native"): Promise<void> {
  await setupBackend({ backend });
  // On native, split even small updates across threads (chunk edges inside odd-sized variables).
  elementwiseLibrary()?.gl_ew_set_parallel_min(backend === "native" ? 1 : 0);
}

/** Odd sizes, a scalar-like one, and one larger than a thread's share of the total. */
const SHAPES = [[3, 3, 4, 5], [7], [1], [301, 1001], [13, 17]];

let created = 0;
function makeVariables(seed: number): tf.Variable[] {
  created++;
  return SHAPES.map((shape, i) =>
    tf.variable(tf.randomNormal(shape, 0, 1, "float32", seed + i), true, `v${created}_${i}`)
  );
}

/** Deterministic gradients for step k (by position, whatever the variables' names). */
function gradients(vars: tf.Variable[], k: number): tf.NamedTensorMap {
  return Object.fromEntries(
    vars.map((v, i) => [v.name, tf.randomNormal(v.shape, 0, 1 + i, "float32", 1000 * k + i + 1)]),
  );
}

/** max |a − b| / max |b| over the whole tensor. */
function relErr(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync(), y = b.dataSync();
  let diff = 0, scale = 0;
  for (let i = 0; i < y.length; i++) {
    diff = Math.max(diff, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(y[i]));
  }
  return diff / scale;
}

/** Run `steps` updates of `optimizer` on fresh variables; returns the variables. */
function runSteps(optimizer: tf.Optimizer, seed: number, steps: number): tf.Variable[] {
  const vars = makeVariables(seed);
  for (let k = 0; k < steps; k++) {
    const grads = gradients(vars, k);
    optimizer.applyGradients(grads);
    tf.dispose(grads);
  }
  return vars;
}

for (const backend of BACKENDS) {
  Deno.test(`adam(): matches tf.train.adam over 5 steps within 1e-5 (${backend})`, async () => {
    await use(backend);
    const before = fusedOptimizerCounters.adam;
    const reference = tf.train.adam(0.01, 0.8, 0.99);
    const fused = adam({ learningRate: 0.01, beta1: 0.8, beta2: 0.99 });
    const a = runSteps(reference, 1, 5);
    const b = runSteps(fused, 1, 5);
    const [ra, rb] = [await reference.getWeights(), await fused.getWeights()];
    // tfjs Adam's layout: iterations, then <variable>/m for all, then <variable>/v.
    const strip = (w: { name: string }) => w.name.replace(/^v\d+_/, "");
    assert.deepEqual(rb.map(strip), ra.map(strip));
    assert.equal(strip(rb[1]), "0/m");
    assert.equal(rb[0].tensor.dataSync()[0], 5);
    let moved = 0;
    for (let i = 0; i < a.length; i++) {
      assert.ok(relErr(b[i], a[i]) < 1e-5, `variable ${i}: ${relErr(b[i], a[i])}`);
      const start = tf.randomNormal(SHAPES[i], 0, 1, "float32", 1 + i);
      moved = Math.max(moved, tf.tidy(() => tf.sub(b[i], start).abs().max().dataSync()[0]));
      start.dispose();
    }
    // The weights moved by several steps of lr (the comparison is not of two no-ops).
    assert.ok(moved > 0.03, `moved ${moved}`);
    for (let j = 1; j < ra.length; j++) {
      assert.ok(relErr(rb[j].tensor, ra[j].tensor) < 1e-5, `${ra[j].name}`);
    }
    // On native the update ran as ONE fused call per step; elsewhere the composite ops ran.
    const fusedCalls = fusedOptimizerCounters.adam - before;
    assert.equal(fusedCalls, backend === "native" ? 5 : 0);
    assert.equal(FusedAdam.fusedAvailable(), backend === "native");
    tf.dispose([a, b]);
    reference.dispose();
    fused.dispose();
  });

  Deno.test(`adam(): AdamW and L2 decay match the formula in float64 (${backend})`, async () => {
    await use(backend);
    const lr = 0.05, beta1 = 0.9, beta2 = 0.95, eps = 1e-6, decay = 0.3;
    for (const decoupled of [true, false]) {
      const opt = adam({
        learningRate: lr,
        beta1,
        beta2,
        epsilon: eps,
        weightDecay: decay,
        decoupled,
      });
      const vars = runSteps(opt, 7, 4);
      // The same four steps by the formula, in double precision, on the initial values.
      const initial = makeVariables(7);
      for (const [i, v] of vars.entries()) {
        const w = Array.from(initial[i].dataSync());
        const m = w.map(() => 0), s = w.map(() => 0);
        for (let k = 0; k < 4; k++) {
          const grads = gradients(initial, k);
          const g = Array.from(grads[initial[i].name].dataSync());
          tf.dispose(grads);
          const t = k + 1;
          for (let j = 0; j < w.length; j++) {
            const gj = decoupled ? g[j] : g[j] + decay * w[j];
            m[j] = beta1 * m[j] + (1 - beta1) * gj;
            s[j] = beta2 * s[j] + (1 - beta2) * gj * gj;
            const update = (m[j] / (1 - beta1 ** t)) / (Math.sqrt(s[j] / (1 - beta2 ** t)) + eps);
            w[j] = (decoupled ? w[j] - lr * decay * w[j] : w[j]) - lr * update;
          }
        }
        const expected = tf.tensor(w, v.shape);
        assert.ok(relErr(v, expected) < 1e-5, `decoupled ${decoupled}, var ${i}`);
        expected.dispose();
      }
      tf.dispose([vars, initial]);
      opt.dispose();
    }
  });

  Deno.test(`emaUpdate: the closed form d^k·s + (1 − d^k)·x; decay 0 copies (${backend})`, async () => {
    await use(backend);
    const before = fusedOptimizerCounters.ema;
    const shadow = makeVariables(20);
    const s0 = shadow.map((s) => s.clone());
    const live = makeVariables(40);
    const d = 0.9, k = 6;
    for (let i = 0; i < k; i++) emaUpdate(shadow, live, d);
    for (const [i, s] of shadow.entries()) {
      const expected = tf.tidy(() => tf.add(tf.mul(s0[i], d ** k), tf.mul(live[i], 1 - d ** k)));
      assert.ok(relErr(s, expected) < 1e-5, `variable ${i}: ${relErr(s, expected)}`);
      expected.dispose();
    }
    emaUpdate(shadow, live, 0);
    for (const [i, s] of shadow.entries()) assert.equal(relErr(s, live[i]), 0);
    assert.equal(fusedOptimizerCounters.ema - before, backend === "native" ? k + 1 : 0);
    tf.dispose([shadow, s0, live]);
  });

  Deno.test(`adam(): getWeights/setWeights round trip, also from tf.train.adam (${backend})`, async () => {
    await use(backend);
    // 3 steps, then the state moves to a fresh optimizer (and a tf.train.adam's into adam()):
    // 2 more steps must equal 5 uninterrupted ones exactly.
    const straight = adam({ learningRate: 0.01 });
    const a = runSteps(straight, 3, 5);
    for (const exact of [true, false]) {
      const first = exact ? adam({ learningRate: 0.01 }) : tf.train.adam(0.01);
      const b = runSteps(first, 3, 3);
      const resumed = adam({ learningRate: 0.01 });
      await resumed.setWeights(
        (await first.getWeights()).map(({ name, tensor }) => ({ name, tensor: tensor.clone() })),
      );
      first.dispose();
      for (let k = 3; k < 5; k++) {
        const grads = gradients(b, k);
        resumed.applyGradients(grads);
        tf.dispose(grads);
      }
      for (let i = 0; i < a.length; i++) {
        const err = relErr(b[i], a[i]);
        // tfjs keeps β^t as a float32 product, adam() as a double power: 1e-7 apart.
        assert.ok(exact ? err === 0 : err < 1e-5, `variable ${i}: ${err}`);
      }
      tf.dispose(b);
      resumed.dispose();
    }
    tf.dispose(a);
    straight.dispose();
  });
}

if (native.ok) {
  Deno.test("adam() + emaUpdate on native: tensors and wasm memory flat over 200 steps", async () => {
    await use("native");
    const vars = makeVariables(50);
    const shadow = vars.map((v) => tf.variable(v, false));
    const opt = adam({ learningRate: 1e-3, weightDecay: 0.01, decoupled: true });
    // deno-lint-ignore no-explicit-any
    const heap = () => (tf.backend() as any).wasm.HEAPU8.buffer.byteLength as number;
    const step = () => {
      const grads = gradients(vars, 0);
      opt.applyGradients(grads);
      tf.dispose(grads);
      emaUpdate(shadow, vars, 0.99);
    };
    step();
    const tensors = tf.memory().numTensors, bytes = tf.memory().numBytes, heapBytes = heap();
    const calls = fusedOptimizerCounters.adam;
    for (let i = 0; i < 200; i++) step();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.memory().numBytes, bytes);
    assert.equal(heap(), heapBytes);
    assert.equal(fusedOptimizerCounters.adam - calls, 200);
    tf.dispose([vars, shadow]);
    opt.dispose();
  });

  Deno.test("adam() in a model: stop + resume through the trainer is exact (native)", async () => {
    await use("native");
    const spec = (steps: number) =>
      resolveSpec("dcgan", {
        steps,
        batch: 4,
        seed: 3,
        modelConfig: { generatorFilters: 4, discriminatorFilters: 4, latentDim: 8 },
        sampleCount: 4,
      });
    const before = fusedOptimizerCounters.adam;
    const straight = await train(spec(6), {
      out: `${await tempDir("fused")}/run`,
      progress: false,
    });
    straight.model.dispose();
    // Both optimizers (D and G) ran fused on every step.
    assert.equal(fusedOptimizerCounters.adam - before, 12);
    const dir = `${await tempDir("fused-resume")}/run`;
    (await train(spec(6), { out: dir, progress: false, stopAfter: 3 })).model.dispose();
    (await train({ resume: dir }, { progress: false })).model.dispose();
    const rows = await readMetrics(`${dir}/metrics.jsonl`);
    const strip = (r: Record<string, number>) => [r.d_loss, r.g_loss];
    assert.deepEqual(rows.map(strip), straight.losses.map(strip));
  });
}
