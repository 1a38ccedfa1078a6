/**
 * The webgpu backend (tfjs-backend-webgpu on Deno's WebGPU) against the cpu reference: forward
 * values and gradients of the kernels genlab's models use, a tiny model trained on both, and a
 * leak check. Without a GPU this runs on Mesa's llvmpipe software adapter (Debian
 * mesa-vulkan-drivers); with no adapter at all every test is ignored and the reason printed once.
 *
 * Tolerance: relative error (max |webgpu − cpu| over max |cpu|, as in kernel_suite.ts) < TOL =
 * 1e-3. Both backends compute in float32, but the WGSL shaders sum in a different order (tiled
 * matmul/conv, workgroup tree reductions) and may contract a·b + c into an FMA, so results are not
 * bit-equal. Measured on llvmpipe (Mesa 22.3, LLVM 15): at most 1.2e-6 (conv2d gradients; every
 * other op ≤ 5e-7, printed by the last test). WGSL only bounds exp/log/inverseSqrt to a few ULP
 * and real GPUs sum in other orders again, so the tolerance keeps ~1000× margin for hardware that
 * cannot be tested here, while a wrong index or a dropped filter tap typically shows up at 1e-2
 * or more. The tiny-model test compares losses by absolute difference (< 1e-3; the loss falls
 * from 0.35 to 0.008 in the 20 steps; measured at most 6e-8).
 *
 * Every op runs its WGSL shader: tfjs-backend-webgpu would otherwise compute small ops whose
 * inputs are still on the CPU with the cpu backend's code (WEBGPU_CPU_FORWARD), which would test
 * the reference against itself. The training and leak tests keep tfjs' default, as training does.
 *
 * Reads use `await tensor.data()`: dataSync() cannot read GPU data under Deno (see
 * lib/backend/webgpu.ts).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { registerGradientFixes } from "../lib/backend/gradients.ts";
import { probeWebgpu, setupWebgpu } from "../lib/backend/webgpu.ts";
import { decode as decodePng } from "fast-png";
import { maxAbsDiff, runCli, tempDir, useBackend } from "./helpers.ts";
import { resolveSpec, train as trainRun } from "../lib/train/trainer.ts";
import {
  forwardAndGrads,
  type Input,
  relErr,
  size,
  t4,
  upsample2xGradByHand,
  upsample2xGrads,
  values,
} from "./kernel_suite.ts";

const TOL = 1e-3;

const probe = await probeWebgpu();
const ignore = !probe.ok;
if (ignore) {
  console.log(`backend_webgpu_test: every test ignored: ${probe.reason}`);
} else {
  registerGradientFixes(); // as setupBackend() does for every backend
  await useBackend("cpu"); // also registers genlab's cpu kernel fixes (the reference)
  const setup = await setupWebgpu();
  console.log(`webgpu: ${setup.description}; adapter: ${probe.description}`);
}

type Backend = "cpu" | "webgpu";

const options = { ignore };

/** Largest relative error seen per case, printed at the end (the numbers in the header). */
const measured = new Map<string, number>();

/** Run `build` on a backend and read every output back (asynchronously: see the header). */
async function on(backend: Backend, build: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const cpuForward = tf.env().getBool("WEBGPU_CPU_FORWARD");
  if (backend === "webgpu") tf.env().set("WEBGPU_CPU_FORWARD", false);
  try {
    const outs = tf.tidy(build);
    try {
      return await Promise.all(outs.map(async (t) => Float32Array.from(await t.data())));
    } finally {
      tf.dispose(outs);
    }
  } finally {
    tf.env().set("WEBGPU_CPU_FORWARD", cpuForward);
  }
}

function assertClose(actual: Float32Array, expected: ArrayLike<number>, what: string): void {
  assert.ok(actual.every(Number.isFinite), `${what}: non-finite values`);
  const e = relErr(actual, expected);
  const family = `${what.split(" ")[0]} ${what.includes("grad") ? "grad" : "forward"}`;
  measured.set(family, Math.max(measured.get(family) ?? 0, e));
  assert.ok(e < TOL, `${what}: relative error ${e.toExponential(2)} >= ${TOL}`);
}

/** f's forward value and gradients on webgpu against cpu. */
async function compareOp(
  name: string,
  inputs: Input[],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  seed = 1,
): Promise<void> {
  const build = forwardAndGrads(inputs, f, seed);
  const ref = await on("cpu", build);
  const got = await on("webgpu", build);
  assert.equal(got.length, ref.length);
  ref.forEach((r, i) => assertClose(got[i], r, `${name} ${i === 0 ? "forward" : `grad ${i}`}`));
}

type Pad = "same" | "valid";

Deno.test("webgpu: probeWebgpu describes the adapter or says how to get one", async () => {
  const p = await probeWebgpu();
  if (p.ok) {
    assert.ok(p.adapter !== null && p.reason === null);
    assert.match(p.description, p.isFallback ? /software fallback adapter$/ : /: GPU$/);
  } else {
    assert.ok(p.adapter === null && p.reason !== null && p.reason.length > 0);
  }
});

Deno.test({
  name: "webgpu: conv2d forward and gradients (stride 1/2, same/valid, odd sizes, batch 1/64)",
  ...options,
  fn: async () => {
    const cases: { x: number[]; f: number[]; stride: number; pad: Pad }[] = [
      { x: [1, 7, 5, 3], f: [3, 3, 3, 4], stride: 1, pad: "same" },
      { x: [1, 7, 5, 3], f: [3, 3, 3, 4], stride: 1, pad: "valid" },
      { x: [1, 9, 9, 2], f: [3, 3, 2, 3], stride: 2, pad: "same" },
      { x: [1, 9, 9, 2], f: [4, 4, 2, 3], stride: 2, pad: "valid" },
      { x: [2, 7, 9, 4], f: [5, 5, 4, 8], stride: 2, pad: "same" }, // channels % 4 = 0: vec4
      { x: [1, 9, 9, 16], f: [3, 3, 16, 32], stride: 1, pad: "same" },
      { x: [2, 5, 7, 8], f: [1, 1, 8, 4], stride: 1, pad: "valid" }, // 1×1: runs as a matMul
      { x: [64, 5, 5, 3], f: [3, 3, 3, 4], stride: 1, pad: "same" },
      { x: [64, 7, 7, 4], f: [4, 4, 4, 8], stride: 2, pad: "same" },
      { x: [64, 6, 6, 2], f: [3, 3, 2, 2], stride: 2, pad: "valid" },
    ];
    for (const [i, c] of cases.entries()) {
      await compareOp(
        `conv2d ${JSON.stringify(c)}`,
        [{ shape: c.x }, { shape: c.f }],
        (x, w) => tf.conv2d(t4(x), t4(w), c.stride, c.pad),
        10 + i,
      );
    }
  },
});

Deno.test({
  name: "webgpu: conv2dTranspose forward and gradients",
  ...options,
  fn: async () => {
    const cases: { y: number[]; f: number[]; out: number[]; stride: number; pad: Pad }[] = [
      { y: [2, 7, 7, 4], f: [5, 5, 3, 4], out: [2, 14, 14, 3], stride: 2, pad: "same" },
      { y: [1, 4, 3, 2], f: [3, 3, 1, 2], out: [1, 9, 7, 1], stride: 2, pad: "valid" },
      { y: [2, 5, 5, 3], f: [3, 3, 2, 3], out: [2, 5, 5, 2], stride: 1, pad: "same" },
      { y: [1, 4, 4, 8], f: [4, 4, 8, 8], out: [1, 8, 8, 8], stride: 2, pad: "same" },
      { y: [64, 3, 3, 4], f: [4, 4, 2, 4], out: [64, 6, 6, 2], stride: 2, pad: "same" },
    ];
    for (const [i, c] of cases.entries()) {
      await compareOp(
        `conv2dTranspose ${JSON.stringify(c)}`,
        [{ shape: c.y }, { shape: c.f }],
        (y, w) =>
          tf.conv2dTranspose(
            t4(y),
            t4(w),
            c.out as [number, number, number, number],
            c.stride,
            c.pad,
          ),
        30 + i,
      );
    }
  },
});

Deno.test({
  name: "webgpu: fused conv2d (bias + relu / linear), as tf.layers uses",
  ...options,
  fn: async () => {
    // Under tf.grads tfjs fuses only 'linear' (relu's gradient goes through the unfused ops), so
    // both activations are needed to cover the FusedConv2D kernel in forward and backward.
    for (
      const [i, c] of [
        { x: [2, 7, 7, 3], f: [3, 3, 3, 4], stride: 2, act: "relu" },
        { x: [1, 9, 9, 8], f: [3, 3, 8, 8], stride: 1, act: "relu" },
        { x: [2, 7, 5, 4], f: [3, 3, 4, 8], stride: 2, act: "linear" },
      ].entries()
    ) {
      await compareOp(
        `fusedConv2d ${JSON.stringify(c)}`,
        [{ shape: c.x }, { shape: c.f }, { shape: [c.f[3]] }],
        (x, w, b) =>
          tf.fused.conv2d({
            x: t4(x),
            filter: t4(w),
            strides: c.stride,
            pad: "same",
            bias: b,
            activation: c.act as "relu" | "linear",
          }),
        50 + i,
      );
    }
  },
});

Deno.test({
  name: "webgpu: matMul plain, transposed, batched 3-D, fused",
  ...options,
  fn: async () => {
    const cases: [string, number[], number[], boolean, boolean][] = [
      ["plain", [33, 17], [17, 9], false, false],
      ["transposeA", [17, 33], [17, 9], true, false],
      ["transposeB", [33, 17], [9, 17], false, true],
      ["transposeA+B", [17, 33], [9, 17], true, true],
      ["batched", [4, 9, 7], [4, 7, 5], false, false],
      ["batched-transposed", [3, 12, 20], [3, 7, 12], true, true],
      ["large", [64, 128], [128, 96], false, false],
    ];
    for (const [i, [name, a, b, tA, tB]] of cases.entries()) {
      await compareOp(
        `matMul ${name}`,
        [{ shape: a }, { shape: b }],
        (x, y) => tf.matMul(x, y, tA, tB),
        60 + i,
      );
    }
    await compareOp(
      "fusedMatMul bias+relu",
      [{ shape: [16, 24] }, { shape: [24, 12] }, { shape: [12] }],
      (a, b, bias) => tf.fused.matMul({ a, b, bias, activation: "relu" }),
    );
  },
});

Deno.test({
  name: "webgpu: moments, group norm, softmax, activations",
  ...options,
  fn: async () => {
    await compareOp("moments", [{ shape: [4, 6, 6, 8] }], (x) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.concat([mean, variance]);
    });
    // Group norm as the U-Net writes it: statistics per (sample, group) over H, W and the
    // group's channels.
    await compareOp(
      "groupNorm",
      [{ shape: [2, 6, 6, 8] }, { shape: [8] }, { shape: [8] }],
      (x, gamma, beta) => {
        const g = tf.reshape(x, [2, 6, 6, 4, 2]);
        const { mean, variance } = tf.moments(g, [1, 2, 4], true);
        const normed = tf.div(tf.sub(g, mean), tf.sqrt(tf.add(variance, 1e-5)));
        return tf.add(tf.mul(tf.reshape(normed, [2, 6, 6, 8]), gamma), beta);
      },
    );
    await compareOp("softmax", [{ shape: [5, 37] }], (x) => tf.softmax(tf.mul(x, 3)));
    await compareOp("logSoftmax", [{ shape: [5, 37] }], (x) => tf.logSoftmax(tf.mul(x, 3)));
    const shape = [8, 33];
    await compareOp("leakyRelu", [{ shape }], (x) => tf.leakyRelu(x, 0.2));
    await compareOp("relu", [{ shape }], (x) => tf.relu(x));
    await compareOp("sigmoid", [{ shape }], (x) => tf.sigmoid(tf.mul(x, 3)));
    await compareOp("silu", [{ shape }], (x) => tf.mul(x, tf.sigmoid(x)));
    await compareOp("tanh", [{ shape }], (x) => tf.tanh(tf.mul(x, 2)));
    await compareOp(
      "sum/mean",
      [{ shape: [3, 4, 5] }],
      (x) => tf.concat([tf.sum(x, [0, 2]), tf.reshape(tf.mean(x, 1), [15])]),
    );
  },
});

Deno.test({
  name: "webgpu: nearest-neighbour upsampling, forward and gradient (also vs hand values)",
  ...options,
  fn: async () => {
    const shape = [3, 3, 4, 8];
    await compareOp(
      "resizeNearestNeighbor",
      [{ shape }],
      (x) => tf.image.resizeNearestNeighbor(t4(x), [6, 8]),
    );
    // genlab replaces cpu's gradient kernel (wrong at batch >= 2), so also check webgpu's own
    // against values by hand: each input pixel receives the sum of dy over its 2×2 block.
    const dyShape = [3, 6, 8, 8];
    const dy = values(size(dyShape), 5);
    const expected = upsample2xGradByHand(dy, shape);
    const [g, gLayer] = await on("webgpu", upsample2xGrads(dy, dyShape, shape));
    assertClose(g, expected, "resizeNearestNeighbor grad vs hand values");
    assertClose(gLayer, expected, "resizeNearestNeighbor upSampling2d grad vs hand values");
  },
});

/** A tiny conv net: conv 3×3 s2 + bias + relu → dense → mean squared error. */
const MODEL = {
  x: [16, 8, 8, 2],
  w1: [3, 3, 2, 8],
  b1: [8],
  w2: [4 * 4 * 8, 1],
  b2: [1],
};

function tinyModel(seed: number) {
  const x = tf.tensor(values(size(MODEL.x), seed), MODEL.x);
  const y = tf.tensor(values(16, seed + 1), [16, 1]);
  const params = (["w1", "b1", "w2", "b2"] as const).map((k, i) =>
    tf.variable(
      tf.mul(tf.tensor(values(size(MODEL[k]), seed + 2 + i), MODEL[k]), k === "w2" ? 0.2 : 0.5),
    )
  );
  const [w1, b1, w2, b2] = params;
  const loss = () => {
    const h = tf.relu(tf.add(tf.conv2d(t4(x), t4(w1), 2, "same"), b1));
    const out = tf.add(tf.matMul(tf.reshape(h, [16, 4 * 4 * 8]), w2), b2);
    return tf.losses.meanSquaredError(y, out) as tf.Scalar;
  };
  return { loss, params, dispose: () => tf.dispose([x, y, ...params]) };
}

async function train(backend: Backend, steps: number): Promise<number[]> {
  await tf.setBackend(backend);
  const model = tinyModel(70);
  const optimizer = tf.train.adam(0.01);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const loss = optimizer.minimize(model.loss, true, model.params)!; // tf.variableGrads inside
    losses.push((await loss.data())[0]);
    loss.dispose();
  }
  optimizer.dispose();
  model.dispose();
  return losses;
}

Deno.test({
  name: "webgpu: a tiny conv net trains like on cpu (20 Adam steps, losses within 1e-3)",
  ...options,
  fn: async () => {
    const ref = await train("cpu", 20);
    const got = await train("webgpu", 20);
    const diff = Math.max(...ref.map((r, i) => Math.abs(got[i] - r)));
    measured.set("training-loss-abs", diff);
    assert.ok(ref[19] < ref[0] * 0.9, `cpu loss did not fall: ${ref[0]} -> ${ref[19]}`);
    assert.ok(diff < 1e-3, `losses differ by ${diff.toExponential(2)}: ${ref} vs ${got}`);
  },
});

Deno.test({
  name: "webgpu: the trainer runs a DCGAN end to end (losses, grids, checkpoint) like on cpu",
  ...options,
  fn: async () => {
    // The whole run-directory path on webgpu: async loss reads, sample grids, checkpoints.
    const spec = () =>
      resolveSpec("dcgan", {
        steps: 4,
        batch: 4,
        seed: 3,
        sampleEvery: 2,
        checkpointEvery: 4,
        sampleCount: 4,
        modelConfig: { generatorFilters: 4, discriminatorFilters: 4, latentDim: 8 },
      });
    const runs: number[][] = [];
    for (const backend of ["cpu", "webgpu"] as const) {
      await tf.setBackend(backend);
      const out = `${await tempDir("webgpu-run")}/run`;
      const result = await trainRun(spec(), { out, progress: false });
      runs.push(result.losses.flatMap(({ d_loss, g_loss }) => [d_loss, g_loss]));
      result.model.dispose();
      const grids = [...Deno.readDirSync(`${out}/samples`)].map((e) => e.name);
      assert.ok(grids.includes("step-000004.png"), `sample grids: ${grids}`);
    }
    const diff = Math.max(...runs[0].map((r, i) => Math.abs(runs[1][i] - r)));
    measured.set("dcgan-trainer-loss-abs", diff);
    assert.equal(runs[1].length, 8);
    assert.ok(diff < 1e-3, `losses differ by ${diff.toExponential(2)}: ${runs[0]} vs ${runs[1]}`);
  },
});

Deno.test({
  name: "webgpu: eval scores on webgpu with the same FID as wasm; sample writes the same grid",
  ...options,
  fn: async () => {
    // Train a tiny run on wasm, then eval and sample it from the CLI on both backends. The metrics
    // read with `await data()`, so on webgpu everything — sampling, the feature classifier, the
    // KID Gram matrices and precision/recall distances — runs on the GPU adapter.
    const out = `${await tempDir("webgpu-eval")}/run`;
    const trained = await runCli([
      "train",
      "dcgan",
      "--quick",
      "--steps",
      "4",
      "--seed",
      "3",
      "--backend",
      "wasm",
      "--out",
      out,
      "--set",
      "generatorFilters=4",
      "--set",
      "discriminatorFilters=4",
      "--set",
      "latentDim=8",
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const scores: Record<string, Record<string, number>> = {};
    for (const backend of ["webgpu", "wasm"]) {
      const { code, stderr } = await runCli(["eval", out, "--n", "20", "--backend", backend]);
      assert.equal(code, 0, stderr);
      const record = JSON.parse(await Deno.readTextFile(`${out}/metrics.json`));
      assert.equal(record.backend.name, backend, "eval scores on the requested backend");
      scores[backend] = record;
    }
    // Same samples and features up to float32 rounding (see the header), so the same scores.
    for (const key of ["classifier_fid", "classifier_kid_mean", "classifier_is_mean"]) {
      const [got, want] = [scores.webgpu[key], scores.wasm[key]];
      const rel = Math.abs(got - want) / Math.abs(want);
      measured.set(`eval ${key} vs wasm (relative)`, rel);
      assert.ok(Number.isFinite(want) && want > 0, `${key} on wasm: ${want}`);
      assert.ok(rel <= 1e-3, `${key}: webgpu ${got} vs wasm ${want}`);
    }
    const grids: Record<string, ReturnType<typeof decodePng>> = {};
    for (const backend of ["webgpu", "wasm"]) {
      const png = `${out}/samples/${backend}.png`;
      const { code, stderr } = await runCli(
        ["sample", out, "-n", "16", "--seed", "5", "--backend", backend, "--out", png],
      );
      assert.equal(code, 0, stderr);
      grids[backend] = decodePng(await Deno.readFile(png));
    }
    const [gpu, ref] = [grids.webgpu, grids.wasm];
    assert.deepEqual([gpu.width, gpu.height], [ref.width, ref.height]);
    // Same samples up to float32 rounding: a pixel may round to the neighbouring byte.
    const diff = maxAbsDiff(gpu.data, ref.data);
    assert.ok(diff <= 1, `sample grids differ by ${diff} grey levels`);
  },
});

Deno.test({
  name: "webgpu: tensor and GPU buffer counts stay flat over 200 training steps",
  ...options,
  fn: async () => {
    await tf.setBackend("webgpu");
    const model = tinyModel(80);
    const optimizer = tf.train.adam(0.01);
    // deno-lint-ignore no-explicit-any
    const backend = tf.backend() as any;
    const counts: [number, number][] = [];
    for (let s = 0; s < 200; s++) {
      const loss = optimizer.minimize(model.loss, true, model.params)!;
      await loss.data(); // as the trainer reads each step's loss; also bounds the GPU queue
      loss.dispose();
      if (s === 1 || s === 199) counts.push([tf.memory().numTensors, backend.numDataIds()]);
    }
    optimizer.dispose();
    model.dispose();
    assert.deepEqual(counts[1], counts[0], "[tensors, webgpu data ids] after step 2 vs 200");
  },
});

Deno.test({
  name: "webgpu: measured max relative errors (printed)",
  ...options,
  fn: () => {
    const rows = [...measured].map(([k, v]) => `${k} ${v.toExponential(1)}`);
    console.log(`webgpu vs cpu, max error: ${rows.join(", ")}`);
  },
});
