/**
 * The kernel suite: a fast backend against the cpu reference for every op genlab's models use —
 * forward values AND gradients, relative error < 1e-4. Where tfjs' own backends disagree
 * (nearest-neighbour upsampling gradient at batch >= 2) or where a kernel is ours (conv
 * gradients, segment sum), both are also checked against values computed by hand in float64, so
 * a bug in the reference cannot hide. backend_kernels_test.ts runs it for `wasm`,
 * backend_native_test.ts for `native` (wasm + OpenBLAS kernels).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../lib/backend/mod.ts";
import { setNativeKernels } from "../lib/backend/native/mod.ts";

export type Target = "wasm" | "native";

const TOL = 1e-4;

/** Deterministic values in [-1, 1) (an LCG: tests must not depend on other modules' RNGs). */
export function values(n: number, seed: number): number[] {
  let s = (seed * 2654435761) >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

export function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Max |a - b| over max |b|: relative to the reference's scale, so exact zeros are fine. */
export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, "length");
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num = Math.max(num, Math.abs(actual[i] - expected[i]));
    den = Math.max(den, Math.abs(expected[i]));
  }
  return den === 0 ? num : num / den;
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string) {
  assert.ok(
    Array.from(actual).every(Number.isFinite),
    `${what}: non-finite values`,
  );
  const e = relErr(actual, expected);
  assert.ok(e < TOL, `${what}: relative error ${e.toExponential(2)} >= ${TOL}`);
}

/** Switch to `backend` (native = the wasm backend with the OpenBLAS kernels switched on). */
export async function switchTo(backend: "cpu" | Target): Promise<void> {
  await tf.setBackend(backend === "native" ? "wasm" : backend);
  if (backend !== "cpu") setNativeKernels(backend === "native");
}

/** Run `build` on a backend and return every output's values. Leaves native kernels off, so a
 * test file running after this one sees plain wasm. */
export async function on(
  backend: "cpu" | Target,
  build: () => tf.Tensor[],
): Promise<Float32Array[]> {
  await switchTo(backend);
  try {
    const outs = tf.tidy(build);
    const data = outs.map((t) => Float32Array.from(t.dataSync()));
    tf.dispose(outs);
    return data;
  } finally {
    if (backend === "native") setNativeKernels(false);
  }
}

export interface Input {
  shape: number[];
  /** Not differentiated (e.g. int32 indices). */
  constant?: tf.Tensor | (() => tf.Tensor);
}

/** f's output and its gradient w.r.t. every non-constant input (with a fixed upstream dy). */
export function forwardAndGrads(
  inputs: Input[],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  seed: number,
): () => tf.Tensor[] {
  return () => {
    const xs = inputs.map((inp, i) =>
      inp.constant !== undefined
        ? (typeof inp.constant === "function" ? inp.constant() : inp.constant)
        : tf.tensor(values(size(inp.shape), seed + i), inp.shape)
    );
    const y = f(...xs);
    const dy = tf.tensor(values(y.size, seed + 100), y.shape);
    const diffIdx = inputs.flatMap((inp, i) => (inp.constant === undefined ? [i] : []));
    const grads = tf.grads((...ds: tf.Tensor[]) => {
      const args = xs.slice();
      diffIdx.forEach((j, k) => (args[j] = ds[k]));
      return tf.sum(tf.mul(f(...args), dy));
    })(diffIdx.map((j) => xs[j]));
    return [y, ...grads];
  };
}

/** `name` forward and gradients on `target` against cpu. */
export async function compareOp(
  target: Target,
  name: string,
  inputs: Input[],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  seed = 1,
): Promise<void> {
  const build = forwardAndGrads(inputs, f, seed);
  const ref = await on("cpu", build);
  const got = await on(target, build);
  assert.equal(got.length, ref.length);
  ref.forEach((r, i) => assertClose(got[i], r, `${name} ${i === 0 ? "forward" : `grad ${i}`}`));
}

export const t4 = (x: tf.Tensor) => x as tf.Tensor4D;

/** d/dx Σ up(x)·dy for 2× nearest-neighbour upsampling of x [B, H, W, C], written out: each
 * input pixel receives the sum of dy over its 2×2 block. */
export function upsample2xGradByHand(dy: number[], shape: number[]): number[] {
  const [batch, h, w, c] = shape;
  const expected = new Array(size(shape)).fill(0);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < 2 * h; r++) {
      for (let col = 0; col < 2 * w; col++) {
        for (let d = 0; d < c; d++) {
          const src = ((b * h + Math.floor(r / 2)) * w + Math.floor(col / 2)) * c + d;
          expected[src] += dy[((b * 2 * h + r) * 2 * w + col) * c + d];
        }
      }
    }
  }
  return expected;
}

/** The same gradient through tf.image.resizeNearestNeighbor and through tf.layers.upSampling2d. */
export function upsample2xGrads(dy: number[], dyShape: number[], shape: number[]) {
  return () => {
    const dyT = tf.tensor(dy, dyShape);
    const [, h, w] = shape;
    const f = (x: tf.Tensor) =>
      tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t4(x), [2 * h, 2 * w]), dyT));
    const layer = tf.layers.upSampling2d({ size: [2, 2] });
    const fl = (x: tf.Tensor) => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, dyT));
    return [tf.grad(f)(tf.zeros(shape)), tf.grad(fl)(tf.zeros(shape))];
  };
}

/** Register the suite for `target`. */
export async function kernelSuite(target: Target): Promise<void> {
  await setupBackend({ backend: target });
  await setupBackend({ backend: "cpu" }); // registers the cpu fixes

  Deno.test(`${target}: matMul with and without transposes, batched`, async () => {
    await compareOp(
      target,
      "matMul",
      [{ shape: [3, 5] }, { shape: [5, 4] }],
      (a, b) => tf.matMul(a, b),
    );
    await compareOp(
      target,
      "matMul tA",
      [{ shape: [5, 3] }, { shape: [5, 4] }],
      (a, b) => tf.matMul(a, b, true, false),
    );
    await compareOp(
      target,
      "matMul tB",
      [{ shape: [3, 5] }, { shape: [4, 5] }],
      (a, b) => tf.matMul(a, b, false, true),
    );
    await compareOp(
      target,
      "matMul tA tB",
      [{ shape: [5, 3] }, { shape: [4, 5] }],
      (a, b) => tf.matMul(a, b, true, true),
    );
    await compareOp(
      target,
      "batched matMul",
      [{ shape: [2, 3, 5] }, { shape: [2, 5, 4] }],
      (a, b) => tf.matMul(a, b),
    );
    // genlab routes transposed and batched products around wasm's slow loop: cover each route.
    await compareOp(
      target,
      "batched, transposed",
      [{ shape: [2, 5, 3] }, { shape: [2, 4, 5] }],
      (a, b) => tf.matMul(a, b, true, true),
    );
    await compareOp(
      target,
      "batched A, one B",
      [{ shape: [2, 3, 3, 5] }, { shape: [5, 4] }],
      (a, b) => tf.matMul(a, b),
    );
    await compareOp(
      target,
      "one A, batched B",
      [{ shape: [3, 5] }, { shape: [2, 4, 5] }],
      (a, b) => tf.matMul(a, b, false, true),
    );
    await compareOp(
      target,
      "rank-4 batches",
      [{ shape: [2, 2, 3, 5] }, { shape: [2, 2, 5, 4] }],
      (a, b) => tf.matMul(a, b),
    );
    // Independent check of the broadcast-batch gradient genlab registers: one B shared by a batch
    // of A's is the same product as one tall 2D matrix.
    for (const backend of ["cpu", target] as const) {
      const [gBatched, g2d] = await on(backend, () => {
        const a = tf.tensor(values(2 * 3 * 3 * 5, 60), [2, 3, 3, 5]);
        const b = tf.tensor(values(5 * 4, 61), [5, 4]);
        const dy = tf.tensor(values(2 * 3 * 3 * 4, 62), [2, 3, 3, 4]);
        return [
          tf.grad((bb: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, bb), dy)))(b),
          tf.grad((bb: tf.Tensor) =>
            tf.sum(tf.mul(tf.matMul(tf.reshape(a, [18, 5]), bb), tf.reshape(dy, [18, 4])))
          )(b),
        ];
      });
      assertClose(gBatched, g2d, `${backend} broadcast matMul gradient`);
    }
    await compareOp(
      target,
      "broadcast batches (tfjs' own path)",
      [{ shape: [2, 1, 3, 5] }, { shape: [1, 2, 5, 4] }],
      (a, b) => tf.matMul(a, b),
    );
    await compareOp(
      target,
      "dense (matMul + bias)",
      [{ shape: [4, 6] }, { shape: [6, 3] }, { shape: [3] }],
      (x, w, b) => tf.add(tf.matMul(x, w), b),
    );
    // tfjs-backend-wasm's own _FusedMatMul misplaces the bias when an operand is transposed.
    for (const [transposeA, transposeB] of [[true, false], [false, true], [true, true]]) {
      await compareOp(
        target,
        `fused matMul + bias + relu, tA=${transposeA} tB=${transposeB}`,
        [
          { shape: transposeA ? [6, 4] : [4, 6] },
          { shape: transposeB ? [3, 6] : [6, 3] },
          { shape: [3] },
        ],
        (a, b, bias) => tf.fused.matMul({ a, b, transposeA, transposeB, bias, activation: "relu" }),
      );
    }
  });

  type Pad = "same" | "valid" | [[number, number], [number, number], [number, number], [
    number,
    number,
  ]];

  const convCases: {
    x: number[];
    f: number[];
    stride: number;
    pad: Pad;
  }[] = [
    { x: [1, 7, 7, 2], f: [3, 3, 2, 3], stride: 1, pad: "same" },
    { x: [2, 7, 9, 2], f: [3, 3, 2, 3], stride: 1, pad: "valid" },
    { x: [2, 8, 8, 3], f: [4, 4, 3, 2], stride: 2, pad: "same" },
    { x: [3, 9, 7, 2], f: [5, 5, 2, 4], stride: 2, pad: "same" },
    { x: [1, 9, 9, 1], f: [3, 3, 1, 2], stride: 2, pad: "valid" },
    { x: [2, 8, 7, 2], f: [4, 4, 2, 3], stride: 2, pad: "valid" },
    { x: [2, 6, 7, 2], f: [3, 2, 2, 2], stride: 2, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
    { x: [2, 5, 6, 3], f: [1, 1, 3, 2], stride: 1, pad: [[0, 0], [1, 0], [2, 1], [0, 0]] },
    // >= 8 channels: the gradients take the convolution path instead of im2col/col2im.
    { x: [2, 7, 7, 8], f: [3, 3, 8, 9], stride: 2, pad: "same" },
    { x: [2, 9, 8, 9], f: [5, 5, 9, 8], stride: 2, pad: "valid" },
    { x: [1, 8, 8, 16], f: [4, 4, 16, 8], stride: 2, pad: "same" },
    { x: [2, 6, 5, 8], f: [3, 3, 8, 8], stride: 1, pad: [[0, 0], [2, 0], [1, 1], [0, 0]] },
    // 1×k and k×1 filters with 'same' and stride 2 hit a wrong XNNPACK path (fixed by us).
    { x: [2, 8, 6, 2], f: [1, 3, 2, 2], stride: 2, pad: "same" },
    { x: [1, 5, 6, 2], f: [3, 1, 2, 2], stride: 2, pad: "same" },
  ];

  Deno.test(`${target}: conv2d forward and gradients (stride 1/2, same/valid/explicit, odd sizes)`, async () => {
    for (const [i, c] of convCases.entries()) {
      await compareOp(
        target,
        `conv2d ${JSON.stringify(c)}`,
        [{ shape: c.x }, { shape: c.f }],
        (x, w) => tf.conv2d(t4(x), t4(w), c.stride, c.pad),
        10 + i,
      );
    }
  });

  Deno.test(`${target}: fused conv2d (bias + activation), as tf.layers uses`, async () => {
    await compareOp(
      target,
      "fused conv2d",
      [{ shape: [2, 7, 7, 2] }, { shape: [3, 3, 2, 4] }, { shape: [4] }],
      (x, w, b) =>
        tf.fused.conv2d({
          x: t4(x),
          filter: t4(w),
          strides: 2,
          pad: "same",
          bias: b,
          activation: "relu",
        }),
    );
  });

  Deno.test(`${target}: conv2dTranspose forward and gradients`, async () => {
    const cases: {
      y: number[];
      f: number[];
      out: number[];
      stride: number;
      pad: "same" | "valid";
    }[] = [
      { y: [2, 7, 7, 4], f: [5, 5, 3, 4], out: [2, 14, 14, 3], stride: 2, pad: "same" },
      { y: [1, 4, 4, 2], f: [4, 4, 3, 2], out: [1, 8, 8, 3], stride: 2, pad: "same" },
      { y: [2, 4, 3, 2], f: [3, 3, 1, 2], out: [2, 9, 7, 1], stride: 2, pad: "valid" },
      { y: [2, 5, 5, 3], f: [3, 3, 2, 3], out: [2, 5, 5, 2], stride: 1, pad: "same" },
      { y: [1, 3, 4, 2], f: [2, 2, 2, 2], out: [1, 4, 5, 2], stride: 1, pad: "valid" },
      { y: [2, 4, 4, 8], f: [4, 4, 8, 8], out: [2, 8, 8, 8], stride: 2, pad: "same" },
      { y: [2, 5, 5, 9], f: [5, 5, 10, 9], out: [2, 14, 13, 10], stride: 2, pad: "valid" },
      { y: [1, 7, 7, 16], f: [5, 5, 8, 16], out: [1, 14, 14, 8], stride: 2, pad: "same" },
    ];
    for (const [i, c] of cases.entries()) {
      await compareOp(
        target,
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
  });

  Deno.test(`${target}: conv2d gradients match hand-computed values`, async () => {
    // Stride 1, valid: x 3×3 = 1..9, w 2×2, dy = 1 → dW[i,j] = Σ of the 2×2 window of x at (i,j).
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const w = [1, -2, 3, 0.5];
    const dW1 = [1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9];
    // dx[h,w] = Σ_{oh,ow} w[h-oh, w-ow] (taps covering (h,w)).
    const dX1 = [1, -1, -2, 4, 2.5, -1.5, 3, 3.5, 0.5];
    // Stride 2, valid: x 4×4, w 2×2 → y 2×2, dy = [1,2,3,4]: dx[h,w] = w[h%2,w%2]·dy[h/2,w/2],
    // dW[i,j] = Σ_{oh,ow} x[2oh+i, 2ow+j]·dy[oh,ow].
    const x2 = Array.from({ length: 16 }, (_, k) => k + 1);
    const dy2 = [1, 2, 3, 4];
    const dX2: number[] = [];
    for (let h = 0; h < 4; h++) {
      for (let c = 0; c < 4; c++) {
        dX2.push(w[(h % 2) * 2 + (c % 2)] * dy2[Math.floor(h / 2) * 2 + Math.floor(c / 2)]);
      }
    }
    const dW2: number[] = [];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 2; j++) {
        let s = 0;
        for (let oh = 0; oh < 2; oh++) {
          for (let ow = 0; ow < 2; ow++) s += x2[(2 * oh + i) * 4 + 2 * ow + j] * dy2[oh * 2 + ow];
        }
        dW2.push(s);
      }
    }
    for (const backend of ["cpu", target] as const) {
      const [gx1, gw1, gx2, gw2] = await on(backend, () => {
        const f1 = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(t4(a), t4(b), 1, "valid"));
        const g1 = tf.grads(f1)([tf.tensor4d(x, [1, 3, 3, 1]), tf.tensor4d(w, [2, 2, 1, 1])]);
        const dy = tf.tensor4d(dy2, [1, 2, 2, 1]);
        const f2 = (a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(t4(a), t4(b), 2, "valid"), dy));
        const g2 = tf.grads(f2)([tf.tensor4d(x2, [1, 4, 4, 1]), tf.tensor4d(w, [2, 2, 1, 1])]);
        return [...g1, ...g2];
      });
      assertClose(gx1, dX1, `${backend} dx stride 1`);
      assertClose(gw1, dW1, `${backend} dW stride 1`);
      assertClose(gx2, dX2, `${backend} dx stride 2`);
      assertClose(gw2, dW2, `${backend} dW stride 2`);
    }
  });

  Deno.test(`${target}: batchNorm and moments`, async () => {
    await compareOp(target, "moments", [{ shape: [3, 4, 4, 5] }], (x) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.concat([mean, variance]);
    });
    await compareOp(
      target,
      "batchNorm",
      [{ shape: [3, 4, 4, 5] }, { shape: [5] }, { shape: [5] }],
      (x, gamma, beta) => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3);
      },
    );
    // (tfjs 4.22 cannot differentiate batchNorm without a scale: its gradient saves `scale`.)
    await compareOp(
      target,
      "batchNorm (dense, given stats)",
      [{ shape: [6, 5] }, { shape: [5] }, { shape: [5] }, { shape: [5] }],
      (x, m, off, scale) => tf.batchNorm(x, m, tf.add(tf.square(m), 0.5), off, scale, 1e-5),
    );
  });

  Deno.test(`${target}: batchNorm gradients equal the elementary-op formula (independent reference)`, async () => {
    // genlab re-registers FusedBatchNorm's gradient on every backend, so cpu-vs-wasm alone would
    // not catch a mistake in it: compare with (x − μ)·rsqrt(σ² + ε)·γ + β written out.
    const build = (manual: boolean) =>
      forwardAndGrads(
        [{ shape: [3, 4, 4, 5] }, { shape: [5] }, { shape: [5] }],
        (x, gamma, beta) => {
          const { mean, variance } = tf.moments(x, [0, 1, 2]);
          if (!manual) return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3);
          return tf.add(
            tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-3))), gamma),
            beta,
          );
        },
        3,
      );
    const ref = await on("cpu", build(true));
    for (const backend of ["cpu", target] as const) {
      const got = await on(backend, build(false));
      ref.forEach((r, i) => assertClose(got[i], r, `${backend} batchNorm output ${i}`));
    }
  });

  Deno.test(`${target}: Sum / Mean gradients (re-registered by genlab) equal hand values`, async () => {
    // d/dx Σ_axes w·sum(x) = w broadcast over the reduced axes; for mean divided by their size.
    const x = () =>
      tf.tensor4d(Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i / 7), [2, 3, 4, 5]);
    const weights = tf.tensor(Array.from({ length: 2 * 5 }, (_, i) => i - 3), [2, 1, 1, 5]);
    for (
      const [axes, keepDims] of [[[1, 2], true], [[1, 2], false], [[0, 1, 2, 3], false]] as [
        number[],
        boolean,
      ][]
    ) {
      const w = tf.tidy(() => (keepDims ? weights : tf.reshape(weights, [2, 5])));
      const [sumGrad, meanGrad] = await on(target, () => {
        const f = (op: "sum" | "mean") => (t: tf.Tensor) =>
          tf.sum(tf.mul(tf[op](t, axes, keepDims), axes.length === 4 ? 1 : w));
        return [tf.grad(f("sum"))(x()), tf.grad(f("mean"))(x())];
      });
      const reduced = axes.reduce((n: number, a) => n * [2, 3, 4, 5][a], 1);
      for (let i = 0; i < 120; i++) {
        const [n, c] = [Math.floor(i / 60), i % 5];
        const want = axes.length === 4 ? 1 : (n * 5 + c) - 3;
        assert.equal(sumGrad[i], want, `sum grad ${axes} at ${i}`);
        assert.ok(Math.abs(meanGrad[i] - want / reduced) < 1e-6, `mean grad ${axes} at ${i}`);
      }
      if (!keepDims) w.dispose();
    }
    weights.dispose();
  });

  Deno.test(`${target}: activations and logistic losses`, async () => {
    const shape = [4, 7];
    const unary: [string, (x: tf.Tensor) => tf.Tensor][] = [
      ["leakyRelu", (x) => tf.leakyRelu(x, 0.2)],
      ["relu", (x) => tf.relu(x)],
      ["sigmoid", (x) => tf.sigmoid(tf.mul(x, 3))],
      ["tanh", (x) => tf.tanh(tf.mul(x, 2))],
      ["softplus", (x) => tf.softplus(tf.mul(x, 4))],
      // tf.logSigmoid's gradient throws in tfjs 4.22 when its input is not a leaf tensor
      // (customGrad without save): losses must write log σ(x) = −softplus(−x).
      ["logSigmoid", (x) => tf.neg(tf.softplus(tf.neg(tf.mul(x, 4))))],
      ["elu", (x) => tf.elu(x)],
      ["exp/log", (x) => tf.log(tf.add(tf.exp(x), 1))],
      ["square/sqrt", (x) => tf.sqrt(tf.add(tf.square(x), 0.1))],
    ];
    for (const [name, f] of unary) await compareOp(target, name, [{ shape }], f);
    // Binary cross-entropy with logits, as GAN losses write it.
    await compareOp(
      target,
      "sigmoidCrossEntropy",
      [{ shape }, {
        shape,
        constant: () => tf.cast(tf.greater(tf.tensor(values(28, 7), shape), 0), "float32"),
      }],
      (logits, labels) => tf.losses.sigmoidCrossEntropy(labels, logits),
    );
    await compareOp(
      target,
      "BCE by softplus",
      [{ shape }],
      (l) => tf.mean(tf.add(tf.softplus(tf.neg(l)), tf.mul(0.3, l))),
    );
  });

  Deno.test(`${target}: softmax, logSoftmax, softmax cross-entropy`, async () => {
    await compareOp(target, "softmax", [{ shape: [5, 6] }], (x) => tf.softmax(tf.mul(x, 3)));
    await compareOp(target, "logSoftmax", [{ shape: [5, 6] }], (x) => tf.logSoftmax(tf.mul(x, 3)));
    await compareOp(
      target,
      "softmaxCrossEntropy",
      [{ shape: [5, 6] }, { shape: [5, 6], constant: () => tf.oneHot([0, 3, 5, 1, 1], 6) }],
      (x, labels) => tf.losses.softmaxCrossEntropy(labels, x),
    );
  });

  Deno.test(`${target}: reductions, concat, reshape, transpose, slicing`, async () => {
    await compareOp(target, "sum", [{ shape: [3, 4, 5] }], (x) => tf.sum(x, [0, 2]));
    await compareOp(target, "mean", [{ shape: [3, 4, 5] }], (x) => tf.mean(x, -1, true));
    await compareOp(target, "max", [{ shape: [3, 4, 5] }], (x) => tf.max(x, 1));
    await compareOp(
      target,
      "concat channels",
      [{ shape: [2, 3, 3, 2] }, { shape: [2, 3, 3, 4] }],
      (a, b) => tf.concat([a, b], 3),
    );
    await compareOp(
      target,
      "concat axis 1",
      [{ shape: [2, 3] }, { shape: [2, 5] }],
      (a, b) => tf.concat([a, b], 1),
    );
    await compareOp(
      target,
      "reshape/transpose",
      [{ shape: [2, 3, 4, 5] }],
      (x) => tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [10, 12]),
    );
    await compareOp(
      target,
      "slice/pad",
      [{ shape: [2, 6, 6, 3] }],
      (x) => tf.pad(tf.slice(x, [0, 1, 2, 0], [2, 4, 3, 3]), [[0, 0], [1, 1], [0, 2], [0, 0]]),
    );
    await compareOp(
      target,
      "broadcast ops",
      [{ shape: [4, 1, 3] }, { shape: [5, 3] }],
      (a, b) => tf.div(tf.sub(tf.mul(a, b), b), tf.add(tf.square(a), 1)),
    );
  });

  Deno.test(`${target}: avgPool and maxPool`, async () => {
    await compareOp(
      target,
      "avgPool 2x2 s2",
      [{ shape: [2, 6, 6, 3] }],
      (x) => tf.avgPool(t4(x), 2, 2, "valid"),
    );
    await compareOp(
      target,
      "avgPool 3x3 s1 same",
      [{ shape: [2, 5, 5, 2] }],
      (x) => tf.avgPool(t4(x), 3, 1, "same"),
    );
    await compareOp(
      target,
      "maxPool 2x2 s2",
      [{ shape: [2, 6, 6, 3] }],
      (x) => tf.maxPool(t4(x), 2, 2, "valid"),
    );
    await compareOp(
      target,
      "maxPool 3x3 s2 same",
      [{ shape: [3, 7, 7, 2] }],
      (x) => tf.maxPool(t4(x), 3, 2, "same"),
    );
    await compareOp(
      target,
      "maxPool 3x3 s1 valid",
      [{ shape: [2, 5, 6, 2] }],
      (x) => tf.maxPool(t4(x), 3, 1, "valid"),
    );
  });

  Deno.test(`${target}: nearest-neighbour 2x upsampling: forward, and gradient vs hand values at batch 3`, async () => {
    const shape = [3, 3, 4, 2];
    await compareOp(
      target,
      "resizeNearestNeighbor",
      [{ shape }],
      (x) => tf.image.resizeNearestNeighbor(t4(x), [6, 8]),
    );
    const dyShape = [3, 6, 8, 2];
    const dy = values(size(dyShape), 5);
    const expected = upsample2xGradByHand(dy, shape);
    for (const backend of ["cpu", target] as const) {
      const [g, gLayer] = await on(backend, upsample2xGrads(dy, dyShape, shape));
      assertClose(g, expected, `${backend} resizeNearestNeighbor grad`);
      assertClose(gLayer, expected, `${backend} upSampling2d grad`);
    }
  });

  Deno.test(`${target}: gather / embedding gradient (UnsortedSegmentSum) vs hand values`, async () => {
    const ids = [3, 1, 3, 0, 7, 1, 3, 9];
    await compareOp(
      target,
      "gather rows",
      [{ shape: [10, 4] }, { shape: [2, 4], constant: () => tf.tensor2d(ids, [2, 4], "int32") }],
      (table, idx) => tf.gather(table, idx),
    );
    await compareOp(
      target,
      "gather axis 1",
      [{ shape: [3, 10, 2] }, {
        shape: [5],
        constant: () => tf.tensor1d([2, 2, 0, 9, 4], "int32"),
      }],
      (x, idx) => tf.gather(x, idx, 1),
    );
    await compareOp(
      target,
      "unsortedSegmentSum",
      [{ shape: [6, 3] }, { shape: [6], constant: () => tf.tensor1d([0, 2, 2, 4, 0, 1], "int32") }],
      (x, seg) => tf.unsortedSegmentSum(x, seg as tf.Tensor1D, 5),
    );
    // Embedding gradient by hand: grad[row] = Σ of dy rows whose id is row.
    const dy = values(8 * 4, 9);
    const expected = new Array(10 * 4).fill(0);
    ids.forEach((id, i) => {
      for (let d = 0; d < 4; d++) expected[id * 4 + d] += dy[i * 4 + d];
    });
    for (const backend of ["cpu", target] as const) {
      const [g] = await on(backend, () => {
        const idx = tf.tensor2d(ids, [2, 4], "int32");
        const dyT = tf.tensor(dy, [2, 4, 4]);
        return [
          tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), dyT)))(tf.zeros([10, 4])),
        ];
      });
      assertClose(g, expected, `${backend} embedding grad`);
    }
  });

  Deno.test(`${target}: gradient penalty (grad of grad through leakyRelu / relu) vs hand values`, async () => {
    // D(x) = v · act(W x); ∇ₓD = Wᵀ(v ⊙ act'(Wx)); GP = (‖∇ₓD‖ − 1)².
    // act' is piecewise constant, so ∂GP/∂v_k = 2(‖g‖−1)/‖g‖ · Σ_j g_j W_kj m_k and
    // ∂GP/∂W_kj = 2(‖g‖−1)/‖g‖ · g_j v_k m_k.
    const H = 5;
    const I = 4;
    const W = values(H * I, 21).map((v) => v * 1.5);
    const v = values(H, 22);
    const x = values(I, 23);
    for (const [act, alpha] of [["leakyRelu", 0.2], ["relu", 0]] as const) {
      const pre = Array.from(
        { length: H },
        (_, k) => W.slice(k * I, k * I + I).reduce((s, w, j) => s + w * x[j], 0),
      );
      const m = pre.map((p) => (p > 0 ? 1 : alpha));
      const g = Array.from(
        { length: I },
        (_, j) => pre.reduce((s, _p, k) => s + W[k * I + j] * v[k] * m[k], 0),
      );
      const norm = Math.hypot(...g);
      const c = (2 * (norm - 1)) / norm;
      const dv = Array.from(
        { length: H },
        (_, k) => c * m[k] * g.reduce((s, gj, j) => s + gj * W[k * I + j], 0),
      );
      const dW = W.map((_w, idx) =>
        c * g[idx % I] * v[Math.floor(idx / I)] * m[Math.floor(idx / I)]
      );
      const results: Record<string, Float32Array[]> = {};
      for (const backend of ["cpu", target] as const) {
        results[backend] = await on(backend, () => {
          const xT = tf.tensor2d(x, [1, I]);
          const gp = (vT: tf.Tensor, wT: tf.Tensor) => {
            const d = (xx: tf.Tensor) => {
              const h = tf.matMul(xx, wT, false, true);
              const a = act === "relu" ? tf.relu(h) : tf.leakyRelu(h, alpha);
              return tf.sum(tf.mul(a, vT));
            };
            const gx = tf.grad(d)(xT);
            return tf.square(tf.sub(tf.norm(gx), 1));
          };
          return tf.grads(gp)([tf.tensor1d(v), tf.tensor2d(W, [H, I])]);
        });
        assertClose(results[backend][0], dv, `${backend} ${act} GP dV`);
        assertClose(results[backend][1], dW, `${backend} ${act} GP dW`);
      }
    }
    // And through a small conv critic on both backends (uses Conv2DBackpropInput's gradient).
    await compareOp(
      target,
      "conv critic gradient penalty",
      [{ shape: [2, 6, 6, 1] }, { shape: [3, 3, 1, 4] }, { shape: [36, 1] }],
      (x, k, wd) => {
        const critic = (xx: tf.Tensor) =>
          tf.matMul(
            tf.reshape(tf.leakyRelu(tf.conv2d(t4(xx), t4(k), 2, "same"), 0.2), [2, 36]),
            wd,
          );
        const gx = tf.grad((xx: tf.Tensor) => tf.sum(critic(xx)))(x);
        const norms = tf.sqrt(tf.add(tf.sum(tf.square(gx), [1, 2, 3]), 1e-12));
        return tf.mean(tf.square(tf.sub(norms, 1)));
      },
      40,
    );
  });

  Deno.test(`${target}: slice (no-copy kernel) on ranks 1-5, contiguous and strided`, async () => {
    const cases: [number[], number[], number[]][] = [
      [[7], [2], [4]],
      [[5, 6], [1, 0], [3, 6]], // contiguous rows
      [[5, 6], [1, 2], [3, 3]], // strided
      [[3, 4, 5], [1, 1, 2], [2, 3, -1]],
      [[2, 5, 5, 3], [0, 1, 2, 1], [2, 3, 2, 2]],
      [[2, 3, 4, 5, 3], [1, 0, 1, 2, 0], [1, 3, 2, 3, 3]],
      [[4, 4], [3, 3], [1, 1]], // one element
    ];
    for (const [shape, begin, size] of cases) {
      await compareOp(
        target,
        `slice ${shape} @${begin} ${size}`,
        [{ shape }],
        (x) => tf.slice(x, begin, size),
      );
    }
    const ints = await on(
      target,
      () => [tf.slice(tf.range(0, 24, 1, "int32").reshape([4, 6]), [1, 2], [2, 3])],
    );
    assert.deepEqual(Array.from(ints[0]), [8, 9, 10, 14, 15, 16]);
  });

  Deno.test(`${target}: gradients do not leak tensors or wasm buffers`, async () => {
    await switchTo(target);
    const v = (shape: number[], seed: number) => tf.tensor(values(size(shape), seed), shape);
    const params = [
      v([2, 8, 8, 3], 50), // x
      v([4, 4, 3, 8], 51), // conv: small-channel filter gradient
      v([3, 3, 8, 8], 52), // conv2dTranspose: per-phase input gradient
      v([3, 3, 8, 4], 53), // conv: dilated-conv filter gradient
      v([10, 2], 54), // embedding table
    ];
    const ids = tf.tensor1d([1, 4, 4, 9], "int32");
    const step = () => {
      const grads = tf.grads((x, w, wt, w2, table) => {
        const h = tf.leakyRelu(tf.conv2d(t4(x), t4(w), 2, "same"), 0.2); // [2,4,4,8]
        const up = tf.image.resizeNearestNeighbor(h, [8, 8]);
        const t = tf.conv2dTranspose(up, t4(wt), [2, 16, 16, 8], 2, "same");
        const p = tf.maxPool(tf.conv2d(t, t4(w2), 2, "same"), 2, 2, "valid");
        return tf.add(tf.mean(tf.square(p)), tf.sum(tf.gather(table, ids)));
      })(params);
      tf.dispose(grads);
      // Kernels called outside any tidy/grads scope must not leave tensors behind either.
      const y = v([2, 4, 4, 8], 55);
      const direct = [
        tf.conv2dTranspose(t4(y), t4(params[2]), [2, 8, 8, 8], 2, "same"), // per-phase path
        tf.conv2dTranspose(t4(y), t4(params[1]), [2, 8, 8, 3], 2, "same"), // col2im path
        tf.unsortedSegmentSum(params[4], ids, 12),
      ];
      tf.dispose([y, ...direct]);
    };
    step();
    // deno-lint-ignore no-explicit-any
    const backend = tf.backend() as any;
    const tensors = tf.memory().numTensors;
    const buffers = backend.numDataIds();
    for (let i = 0; i < 5; i++) step();
    assert.equal(tf.memory().numTensors, tensors, "tfjs tensors");
    assert.equal(backend.numDataIds(), buffers, "wasm data buffers");
    tf.dispose([...params, ids]);
  });
  if (target === "native") setNativeKernels(false);
}
