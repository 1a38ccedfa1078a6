/**
 * The `native` backend (wasm + OpenBLAS kernels through Deno FFI) against cpu: the whole kernel
 * suite (relative error < 1e-4, forward and gradients), plus what is particular to the native
 * kernels — their own code paths (transposed GEMMs, direct loops for ≤ 4 channels, stride-1
 * input gradient as a flipped convolution, col2im for strides > 1, multi-chunk patch matrices),
 * fused bias + activations, batch 1 and 64, proof that the native path actually ran, a small
 * model that trains the same on both, and a flat tensor count over 200 training steps.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../lib/backend/mod.ts";
import { nativeCounters, probeNative, setNativeKernels } from "../lib/backend/native/mod.ts";
import { loadNativeLibrary } from "../lib/backend/native/library.ts";
import { GROUP_NORM } from "../lib/backend/native/fused.ts";
import { groupNorm } from "../lib/nn/blocks.ts";
import { compareOp, kernelSuite, on, switchTo, t4, values } from "./kernel_suite.ts";

const probe = probeNative();
const ignore = !probe.ok;
if (!probe.ok) console.error(`native backend tests skipped: ${probe.reason}`);

if (probe.ok) {
  await kernelSuite("native");
}

/** Run `f` and return how many kernels ran natively and how many fell back. */
async function counted(f: () => Promise<void>): Promise<{ calls: number; fallbacks: number }> {
  const before = { ...nativeCounters };
  await f();
  return {
    calls: nativeCounters.calls - before.calls,
    fallbacks: nativeCounters.fallbacks - before.fallbacks,
  };
}

Deno.test({
  name: "native: the kernels actually run natively (no silent fallback)",
  ignore,
  fn: async () => {
    const { calls, fallbacks } = await counted(() =>
      compareOp("native", "conv + dense", [{ shape: [2, 6, 6, 3] }, { shape: [3, 3, 3, 5] }, {
        shape: [45, 4],
      }], (x, w, d) => tf.matMul(tf.reshape(tf.conv2d(t4(x), t4(w), 2, "same"), [2, 45]), d))
    );
    // forward: Conv2D + BatchMatMul; backward: 2 conv gradients + 2 matmuls.
    assert.ok(calls >= 6, `native calls ${calls}`);
    assert.equal(fallbacks, 0);
  },
});

type Pad = "same" | "valid";
interface ConvCase {
  x: number[];
  f: number[];
  stride: number;
  pad: Pad;
  why: string;
}

const nativeConvCases: ConvCase[] = [
  {
    x: [64, 6, 6, 16],
    f: [3, 3, 16, 16],
    stride: 1,
    pad: "same",
    why: "batch 64, transposed GEMM",
  },
  { x: [64, 6, 6, 8], f: [3, 3, 8, 64], stride: 2, pad: "same", why: "batch 64, wide GEMM" },
  { x: [1, 9, 7, 3], f: [3, 3, 3, 70], stride: 1, pad: "valid", why: "batch 1, wide, odd" },
  { x: [64, 5, 5, 16], f: [3, 3, 16, 1], stride: 1, pad: "same", why: "1 channel out: direct" },
  { x: [3, 7, 9, 5], f: [3, 3, 5, 3], stride: 2, pad: "valid", why: "3 out: direct, stride 2" },
  { x: [64, 6, 6, 1], f: [3, 3, 1, 16], stride: 1, pad: "same", why: "1 channel in (stem)" },
  { x: [2, 9, 9, 4], f: [5, 5, 4, 12], stride: 2, pad: "same", why: "col2im, 5×5, stride 2" },
  { x: [2, 8, 8, 12], f: [1, 1, 12, 9], stride: 1, pad: "valid", why: "1×1: plain GEMM" },
  { x: [2, 8, 8, 12], f: [1, 1, 12, 9], stride: 2, pad: "valid", why: "1×1 stride 2" },
  { x: [1, 7, 6, 6], f: [2, 3, 6, 10], stride: 1, pad: "same", why: "even 2×3 filter, same" },
];

/** The convolution engines compiled in: oneDNN (when libdnnl-dev was found) and im2col. */
function engines(): { name: string; set: () => void }[] {
  const library = loadNativeLibrary(2).symbols;
  const list = [{ name: "im2col", set: () => library.gl_set_conv_engine(0) }];
  if (library.gl_set_conv_engine(1) === 1) {
    list.unshift({ name: "oneDNN", set: () => library.gl_set_conv_engine(1) });
  }
  return list;
}

Deno.test({
  name: "native: conv2d paths (batch 1/64, strides 1/2, same/valid, 1–70 channels) vs cpu",
  ignore,
  fn: async () => {
    const library = loadNativeLibrary(2).symbols;
    try {
      for (const engine of engines()) {
        engine.set();
        const stats = await counted(async () => {
          for (const [i, c] of nativeConvCases.entries()) {
            await compareOp(
              "native",
              `${engine.name} conv2d ${c.why} ${JSON.stringify(c)}`,
              [{ shape: c.x }, { shape: c.f }],
              (x, w) => tf.conv2d(t4(x), t4(w), c.stride, c.pad),
              100 + i,
            );
            await compareOp(
              "native",
              `${engine.name} conv2dTranspose ${c.why}`,
              [{
                shape: [c.x[0], Math.ceil(c.x[1] / c.stride), Math.ceil(c.x[2] / c.stride), c.f[3]],
              }, {
                shape: c.f,
              }],
              (y, w) =>
                tf.conv2dTranspose(
                  t4(y),
                  t4(w),
                  c.x as [number, number, number, number],
                  c.stride,
                  "same",
                ),
              150 + i,
            );
          }
        });
        assert.equal(stats.fallbacks, 0);
      }
    } finally {
      library.gl_set_conv_engine(1);
    }
  },
});

Deno.test({
  name: "native: multi-chunk patch matrices (im2col) give the same results as one chunk",
  ignore,
  fn: async () => {
    const library = loadNativeLibrary(2).symbols;
    library.gl_set_conv_engine(0);
    library.gl_set_chunk_floats(200); // a few rows per chunk
    try {
      for (const [i, c] of nativeConvCases.slice(0, 7).entries()) {
        await compareOp(
          "native",
          `chunked conv2d ${c.why}`,
          [{ shape: c.x }, { shape: c.f }],
          (x, w) => tf.conv2d(t4(x), t4(w), c.stride, c.pad),
          200 + i,
        );
      }
    } finally {
      library.gl_set_chunk_floats(0); // back to the default
      library.gl_set_conv_engine(1);
    }
  },
});

Deno.test({
  name: "native: dilated conv2d forward vs cpu",
  ignore,
  fn: async () => {
    const build = () => [
      tf.conv2d(
        t4(tf.tensor(values(2 * 9 * 9 * 3, 7), [2, 9, 9, 3])),
        t4(tf.tensor(values(3 * 3 * 3 * 5, 8), [3, 3, 3, 5])),
        1,
        "same",
        "NHWC",
        2,
      ),
    ];
    const [ref] = await on("cpu", build);
    const [got] = await on("native", build);
    let err = 0;
    let scale = 0;
    ref.forEach((r, i) => {
      err = Math.max(err, Math.abs(r - got[i]));
      scale = Math.max(scale, Math.abs(r));
    });
    assert.ok(err / scale < 1e-4, `dilated conv relative error ${err / scale}`);
  },
});

const activations = ["linear", "relu", "relu6", "leakyrelu", "elu", "sigmoid", "prelu"] as const;

Deno.test({
  name: "native: fused conv2d and fused matMul with bias and every activation vs cpu",
  ignore,
  fn: async () => {
    // tfjs differentiates fused ops only for linear and relu: the others are compared forward.
    for (const activation of activations) {
      const differentiable = activation === "linear" || activation === "relu";
      const alpha = tf.tensor1d(values(6, 302));
      const check = async (
        name: string,
        inputs: number[][],
        f: (...xs: tf.Tensor[]) => tf.Tensor,
      ) => {
        if (differentiable) {
          await compareOp("native", name, inputs.map((shape) => ({ shape })), f, 300);
          return;
        }
        const build = () => [f(...inputs.map((shape, i) =>
          tf.tensor(
            values(shape.reduce((a, b) => a * b, 1), 300 + i),
            shape,
          )
        ))];
        const [ref] = await on("cpu", build);
        const [got] = await on("native", build);
        const scale = Math.max(...ref.map(Math.abs));
        const err = Math.max(...ref.map((r, i) => Math.abs(r - got[i])));
        assert.ok(err / scale < 1e-4, `${name}: relative error ${err / scale}`);
      };
      await check(
        `fused conv2d ${activation}`,
        [[3, 7, 7, 4], [3, 3, 4, 6], [6]],
        (x, w, b) =>
          tf.fused.conv2d({
            x: t4(tf.mul(x, 3)),
            filter: t4(w),
            strides: 1,
            pad: "same",
            bias: b,
            activation,
            preluActivationWeights: activation === "prelu" ? alpha : undefined,
            leakyreluAlpha: 0.1,
          }),
      );
      for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true]]) {
        await check(
          `fused matMul ${activation} tA=${transposeA} tB=${transposeB}`,
          [transposeA ? [7, 5] : [5, 7], transposeB ? [6, 7] : [7, 6], [6]],
          (a, b, bias) =>
            tf.fused.matMul({
              a: tf.mul(a, 3),
              b,
              transposeA,
              transposeB,
              bias,
              activation,
              preluActivationWeights: activation === "prelu" ? alpha : undefined,
              leakyreluAlpha: 0.1,
            }),
        );
      }
      alpha.dispose();
    }
  },
});

Deno.test({
  name: "native: batched matMul (batch 64, attention-like) and large GEMM vs cpu",
  ignore,
  fn: async () => {
    await compareOp(
      "native",
      "attention scores",
      [{ shape: [64, 49, 16] }, { shape: [64, 49, 16] }],
      (q, k) => tf.matMul(q, k, false, true),
    );
    await compareOp(
      "native",
      "GEMM 300×200×100",
      [{ shape: [300, 200] }, { shape: [200, 100] }],
      (a, b) => tf.matMul(a, b),
    );
  },
});

/** A small conv net on fixed data: returns the loss after each of `steps` Adam steps. */
function trainTinyModel(steps: number): number[] {
  const v = (shape: number[], seed: number, scale: number) =>
    tf.variable(tf.mul(tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed), shape), scale));
  const w1 = v([3, 3, 1, 8], 1, 0.4);
  const b1 = v([8], 2, 0.1);
  const w2 = v([3, 3, 8, 8], 3, 0.2);
  const wd = v([4 * 4 * 8, 3], 4, 0.1);
  const x = tf.tensor(values(16 * 8 * 8, 5), [16, 8, 8, 1]);
  const labels = tf.oneHot(
    tf.tensor1d(values(16, 6).map((u) => Math.floor((u + 1) * 1.5)), "int32"),
    3,
  );
  const optimizer = tf.train.adam(0.01);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const loss = optimizer.minimize(() => {
      const h = t4(tf.relu(tf.add(tf.conv2d(t4(x), t4(w1), 1, "same"), b1)));
      const h2 = tf.leakyRelu(tf.conv2d(h, t4(w2), 2, "same"), 0.2);
      const logits = tf.matMul(tf.reshape(h2, [16, 4 * 4 * 8]), wd);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    }, true)!;
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  }
  tf.dispose([w1, b1, w2, wd, x, labels]);
  optimizer.dispose();
  return losses;
}

Deno.test({
  name: "native: a small conv net trains the same as on cpu (losses within 1e-3 over 20 steps)",
  ignore,
  fn: async () => {
    await switchTo("cpu");
    const reference = trainTinyModel(20);
    await switchTo("native");
    let losses: number[];
    try {
      losses = trainTinyModel(20);
    } finally {
      setNativeKernels(false);
    }
    assert.ok(reference[19] < reference[0] * 0.8, `it learns: ${reference[0]} → ${reference[19]}`);
    const worst = Math.max(...losses.map((l, i) => Math.abs(l - reference[i])));
    assert.ok(worst < 1e-3, `max |loss difference| ${worst}`);
  },
});

Deno.test({
  name: "native: tensor count and wasm buffers stay flat over 200 training steps",
  ignore,
  fn: async () => {
    await setupBackend({ backend: "native" });
    try {
      const w = tf.variable(tf.tensor(values(3 * 3 * 2 * 4, 9), [3, 3, 2, 4]));
      const wt = tf.variable(tf.tensor(values(3 * 3 * 2 * 4, 10), [3, 3, 2, 4]));
      const x = tf.tensor(values(4 * 6 * 6 * 2, 11), [4, 6, 6, 2]);
      const optimizer = tf.train.sgd(0.01);
      const step = () =>
        tf.dispose(
          optimizer.minimize(() => {
            const h = tf.conv2d(t4(x), t4(w), 2, "same"); // [4,3,3,4]
            const back = tf.conv2dTranspose(h, t4(wt), [4, 6, 6, 2], 2, "same");
            return tf.mean(tf.square(tf.sub(back, x))) as tf.Scalar;
          }, true)!,
        );
      step();
      // deno-lint-ignore no-explicit-any
      const backend = tf.backend() as any;
      const tensors = tf.memory().numTensors;
      const buffers = backend.numDataIds();
      const calls = nativeCounters.calls;
      for (let i = 0; i < 200; i++) step();
      assert.equal(tf.memory().numTensors, tensors, "tfjs tensors");
      assert.equal(backend.numDataIds(), buffers, "wasm data buffers");
      assert.ok(nativeCounters.calls - calls >= 200 * 4, "ran natively");
      tf.dispose([w, wt, x]);
      optimizer.dispose();
    } finally {
      setNativeKernels(false);
    }
  },
});

Deno.test({
  name:
    "native: fused group norm (and SiLU(GN)) kernel (forward, dx, dγ, dβ) equals cpu; registered only while on",
  ignore,
  fn: async () => {
    const library = loadNativeLibrary(2).symbols;
    const cases: [number[], number][] = [
      [[2, 5, 3, 8], 4], // odd spatial size
      [[1, 7, 7, 6], 1], // batch 1, one group (layer norm over H, W, C)
      [[3, 4, 4, 6], 6], // one channel per group (instance norm)
      [[64, 7, 7, 32], 8], // the U-Net's shapes at batch 64
    ];
    for (const parallelMin of [0, 1]) { // 1: every op on all threads, even tiny ones
      library.gl_ew_set_parallel_min(parallelMin);
      for (const [shape, groups] of cases) {
        const c = shape[3];
        // Plain, and SiLU(GN(x)) fused (native) against silu ∘ groupNorm composed (cpu).
        for (const activation of ["none", "silu"] as const) {
          await compareOp(
            "native",
            `groupNorm ${shape} G=${groups} ${activation}`,
            [{ shape }, { shape: [c] }, { shape: [c] }],
            (x, gamma, beta) => groupNorm(t4(x), groups, tf.add(gamma, 1), beta, 1e-5, activation),
          );
        }
      }
    }
    library.gl_ew_set_parallel_min(0);
    await switchTo("native");
    assert.ok(tf.getKernel(GROUP_NORM, "wasm") !== undefined, "fused kernel while native is on");
    setNativeKernels(false);
    assert.equal(tf.getKernel(GROUP_NORM, "wasm"), undefined, "and gone when it is off");
  },
});
