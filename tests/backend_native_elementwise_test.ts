/**
 * The native element-wise kernels (lib/backend/native/elementwise.ts, genlab_elementwise.c)
 * against cpu: binary ops with NumPy broadcasting (exact: float32 arithmetic rounds the same),
 * comparisons, unary activations, Sum/Mean over every axis subset, batch norm, select, cast,
 * concat/split and the no-copy identity — forward and gradients, on one thread and with the
 * multi-thread paths forced on small shapes (gl_ew_set_parallel_min(1)). Every case also checks
 * through the per-kernel counters that the native path ran (no silent fallback), and the tensor
 * count stays flat.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../lib/backend/mod.ts";
import { probeNative, setNativeKernels } from "../lib/backend/native/mod.ts";
import {
  elementwiseCounters,
  elementwiseLibrary,
  setNativeElementwise,
} from "../lib/backend/native/elementwise.ts";
import { compareOp, on, relErr, size, switchTo, values } from "./kernel_suite.ts";
import { silu } from "../lib/nn/blocks.ts";

const probe = probeNative();
const ignore = !probe.ok;
if (!probe.ok) console.error(`native element-wise tests skipped: ${probe.reason}`);
if (probe.ok) {
  await setupBackend({ backend: "native" });
  setNativeKernels(false);
  await setupBackend({ backend: "cpu" });
}

// ───────────────────────────── helpers ─────────────────────────────

interface In {
  shape: number[];
  dtype?: "float32" | "int32" | "bool";
  /** Multiply the [-1, 1) values by this (int32: then round). */
  scale?: number;
  /** Make values positive (|v| + 0.05). */
  positive?: boolean;
  /** Explicit values instead of generated ones. */
  data?: number[];
}

function makeInput(inp: In, seed: number): tf.Tensor {
  const n = size(inp.shape);
  let v = inp.data ?? values(n, seed).map((x) => x * (inp.scale ?? 1));
  if (inp.positive) v = v.map((x) => Math.abs(x) + 0.05);
  if (inp.dtype === "int32") return tf.tensor(v.map(Math.round), inp.shape, "int32");
  if (inp.dtype === "bool") return tf.tensor(v.map((x) => (x > 0 ? 1 : 0)), inp.shape, "bool");
  return tf.tensor(v, inp.shape, "float32");
}

/** Forward values of `f` on native against cpu: exact (tol 0, NaN = NaN) or relative error. */
async function forward(
  name: string,
  inputs: In[],
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  tol = 0,
  seed = 1,
): Promise<void> {
  const build = () => {
    const out = f(...inputs.map((inp, i) => makeInput(inp, seed + i)));
    return Array.isArray(out) ? out : [out];
  };
  const ref = await on("cpu", build);
  const got = await on("native", build);
  assert.equal(got.length, ref.length, `${name}: outputs`);
  ref.forEach((r, k) => {
    assert.equal(got[k].length, r.length, `${name}: length`);
    if (tol === 0) {
      for (let i = 0; i < r.length; i++) {
        const same = got[k][i] === r[i] || (Number.isNaN(got[k][i]) && Number.isNaN(r[i]));
        if (!same) assert.fail(`${name} [${k}][${i}]: ${got[k][i]} != ${r[i]} (cpu)`);
      }
    } else {
      // Non-finite reference values must match exactly; the rest within `tol` (relative).
      const finite: number[] = [];
      for (let i = 0; i < r.length; i++) {
        if (Number.isFinite(r[i])) finite.push(i);
        else if (!(got[k][i] === r[i] || (Number.isNaN(got[k][i]) && Number.isNaN(r[i])))) {
          assert.fail(`${name} [${k}][${i}]: ${got[k][i]} != ${r[i]} (cpu)`);
        }
      }
      const e = relErr(finite.map((i) => got[k][i]), finite.map((i) => r[i]));
      assert.ok(e < tol, `${name}: relative error ${e.toExponential(2)} >= ${tol}`);
    }
  });
}

/** Run `f`; assert each kernel in `expected` ran natively and no wrapped kernel fell back. */
async function natively(expected: string[], f: () => Promise<void>): Promise<void> {
  const before = Object.fromEntries(
    Object.entries(elementwiseCounters).map(([k, v]) => [k, { ...v }]),
  );
  await f();
  for (const name of expected) {
    assert.ok(elementwiseCounters[name] !== undefined, `${name} is not wrapped`);
    assert.ok(
      elementwiseCounters[name].calls > before[name].calls,
      `${name}: the native kernel did not run`,
    );
  }
  const fell = Object.entries(elementwiseCounters)
    .filter(([k, v]) => v.fallbacks > before[k].fallbacks)
    .map(([k, v]) => `${k} ×${v.fallbacks - before[k].fallbacks}`);
  assert.deepEqual(fell, [], "fallbacks");
}

/** Run `f` with the default threading threshold, then with every op on all threads. */
async function bothThreadings(f: (label: string) => Promise<void>): Promise<void> {
  const lib = elementwiseLibrary()!;
  await f("1 thread");
  lib.gl_ew_set_parallel_min(1);
  try {
    await f("threads");
  } finally {
    lib.gl_ew_set_parallel_min(0);
  }
}

const BINARY: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
  ["Add", tf.add],
  ["Sub", tf.sub],
  ["Multiply", tf.mul],
  ["RealDiv", tf.div],
  ["Maximum", tf.maximum],
  ["Minimum", tf.minimum],
  ["SquaredDifference", tf.squaredDifference],
];

const COMPARISONS: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
  ["Greater", tf.greater],
  ["GreaterEqual", tf.greaterEqual],
  ["Less", tf.less],
  ["LessEqual", tf.lessEqual],
  ["Equal", tf.equal],
  ["NotEqual", tf.notEqual],
];

const BROADCASTS: [number[], number[]][] = [
  [[64, 28, 28, 32], [32]], // bias add
  [[2, 7, 7, 8, 4], [2, 1, 1, 8, 1]], // group norm
  [[], [3, 5]], // scalar ⊙ tensor
  [[3, 5], []],
  [[3, 1], [1, 4]],
  [[37, 13], [37, 13]], // same shape, odd
  [[100003], [100003]], // one long run: 64-element blocks + a tail
  [[100003], []],
  [[5, 1, 3], [1, 3]],
  [[2, 1, 3, 1, 5], [1, 4, 1, 6, 1]], // rank 5, both broadcast
  [[2, 3, 1, 5, 1, 7], [1, 3, 4, 1, 6, 7]], // rank 6
  [[1], [1]],
];

// ───────────────────────────── tests ─────────────────────────────

Deno.test({
  name: "native element-wise: binary ops with broadcasting equal cpu exactly",
  ignore,
  fn: async () => {
    await bothThreadings(async (label) => {
      await natively(BINARY.map(([name]) => name), async () => {
        for (const [name, op] of BINARY) {
          for (const [i, [sa, sb]] of BROADCASTS.entries()) {
            // The big bias-add shape is slow on cpu: two ops are enough for it.
            if (i === 0 && name !== "Add" && name !== "Multiply") continue;
            // SquaredDifference: cpu squares the float64 difference (one rounding fewer).
            await forward(
              `${label} ${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`,
              [{ shape: sa, scale: 3 }, { shape: sb, scale: 2 }],
              op,
              name === "SquaredDifference" ? 1e-6 : 0,
              10 * i,
            );
          }
        }
      });
    });
  },
});

Deno.test({
  name: "native element-wise: comparisons (bool outputs) and NaN semantics equal cpu",
  ignore,
  fn: async () => {
    await bothThreadings(async (label) => {
      await natively(COMPARISONS.map(([name]) => name), async () => {
        for (const [name, op] of COMPARISONS) {
          for (const [i, [sa, sb]] of BROADCASTS.slice(1).entries()) {
            // Coarse values so that equal pairs occur.
            await forward(
              `${label} ${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`,
              [{ shape: sa, data: values(size(sa), i).map((v) => Math.round(v * 3)) }, {
                shape: sb,
                data: values(size(sb), i + 50).map((v) => Math.round(v * 3)),
              }],
              op,
            );
          }
        }
      });
    });
    const special = [NaN, 0, -0, 1, -1, Infinity, -Infinity, 2.5];
    const a = special.flatMap((x) => special.map(() => x));
    const b = special.flatMap(() => special);
    await natively(["Maximum", "Minimum", "Greater", "Equal", "NotEqual"], async () => {
      for (const [name, op] of [...BINARY, ...COMPARISONS]) {
        await forward(`NaN/inf ${name}`, [{ shape: [64], data: a }, { shape: [64], data: b }], op);
      }
    });
  },
});

Deno.test({
  name: "native element-wise: binary gradients with broadcasting match cpu",
  ignore,
  fn: async () => {
    await bothThreadings(async (label) => {
      await natively(["Add", "Sub", "Multiply", "RealDiv", "Sum", "Neg", "Square"], async () => {
        for (const [name, op] of BINARY) {
          // tfjs' Maximum/Minimum/SquaredDifference gradients do not reduce broadcast axes
          // (on any backend): same shapes only for those.
          const pairs = ["Maximum", "Minimum", "SquaredDifference"].includes(name)
            ? [[[2, 7, 7, 8, 4], [2, 7, 7, 8, 4]], [[5, 3], [5, 3]]]
            : [[[2, 7, 7, 8, 4], [2, 1, 1, 8, 1]], [[3, 1], [1, 4]], [[], [3, 5]], [[4, 5, 3], [
              3,
            ]]];
          for (const [sa, sb] of pairs) {
            await compareOp(
              "native",
              `${label} ${name} grad ${JSON.stringify(sa)} ${JSON.stringify(sb)}`,
              [{ shape: sa }, { shape: sb }],
              name === "RealDiv" ? (x, y) => op(x, tf.add(tf.abs(y), 0.5)) : op,
            );
          }
        }
      });
    });
  },
});

const UNARY: [string, (x: tf.Tensor) => tf.Tensor, In["positive"]?][] = [
  ["Neg", tf.neg],
  ["Square", tf.square],
  ["Sqrt", tf.sqrt, true],
  ["Rsqrt", tf.rsqrt, true],
  ["Exp", tf.exp],
  ["Sigmoid", tf.sigmoid],
  ["Tanh", tf.tanh],
  ["Relu", tf.relu],
  ["Relu6", tf.relu6],
  ["LeakyRelu", (x) => tf.leakyRelu(x, 0.15)],
  ["Step", (x) => tf.step(x, 0.3)],
  ["Abs", tf.abs],
  ["Reciprocal", tf.reciprocal],
];

Deno.test({
  name: "native element-wise: unary ops forward (≤ 1e-6) and gradients (≤ 1e-4) vs cpu",
  ignore,
  fn: async () => {
    await bothThreadings(async (label) => {
      await natively(UNARY.map(([name]) => name), async () => {
        for (const [name, op, positive] of UNARY) {
          for (const [i, shape] of [[3, 17, 5], [1], [64, 28, 28, 8], [33]].entries()) {
            await forward(
              `${label} ${name} ${JSON.stringify(shape)}`,
              [{ shape, scale: 9, positive }],
              op,
              1e-6,
              i,
            );
          }
        }
      });
      // Gradients: the ops' backward passes are element-wise too (Step, Sigmoid, Mul, …).
      await natively(["Multiply", "Sigmoid", "Step"], async () => {
        for (const [name, op, positive] of UNARY) {
          if (positive) {
            await compareOp(
              "native",
              `${label} ${name} grad`,
              [{ shape: [4, 9, 5] }],
              (x) => op(tf.add(tf.abs(x), 0.1)),
            );
          } else {
            await compareOp(
              "native",
              `${label} ${name} grad`,
              [{ shape: [4, 9, 5] }],
              (x) => op(tf.mul(x, 3)),
            );
          }
        }
      });
    });
    // NaN and infinities pass through as on cpu.
    const special = [NaN, 0, -0, 1, -1, 7, -7, Infinity, -Infinity, 100, -100, 1e-30];
    await natively(UNARY.map(([name]) => name), async () => {
      for (const [name, op] of UNARY) {
        await forward(`special ${name}`, [{ shape: [special.length], data: special }], op, 1e-6);
      }
    });
  },
});

Deno.test({
  name: "native element-wise: Sum and Mean over every axis subset, with and without keepDims",
  ignore,
  fn: async () => {
    const shape = [3, 5, 4, 6];
    const subsets: number[][] = [];
    for (let mask = 1; mask < 16; mask++) subsets.push([0, 1, 2, 3].filter((a) => (mask >> a) & 1));
    await bothThreadings(async (label) => {
      await natively(["Sum", "Mean"], async () => {
        for (const axes of subsets) {
          for (const keepDims of [false, true]) {
            await forward(
              `${label} sum/mean ${axes} keepDims=${keepDims}`,
              [{ shape }],
              (x) => [tf.sum(x, axes, keepDims), tf.mean(x, axes, keepDims)],
              1e-6,
            );
          }
        }
        await forward(`${label} sum all`, [{ shape }], (x) => [tf.sum(x), tf.mean(x)], 1e-6);
        await forward(`${label} negative axis`, [{ shape }], (x) => tf.sum(x, -1, true), 1e-6);
        await forward(
          `${label} bias gradient [64,28,28,32] → [32]`,
          [{ shape: [64, 28, 28, 32] }],
          (x) => tf.sum(x, [0, 1, 2]),
          1e-5,
        );
        await forward(
          `${label} group-norm moments`,
          [{ shape: [64, 28, 28, 8, 4] }],
          (x) => tf.mean(x, [1, 2, 4], true),
          1e-5,
        );
        await forward(`${label} rank 6`, [{ shape: [2, 3, 1, 4, 5, 3] }], (x) => [
          tf.sum(x, [1, 3, 5]),
          tf.mean(x, [0, 2, 4], true),
        ], 1e-6);
        await forward(`${label} long row`, [{ shape: [3, 100003] }], (x) => tf.sum(x, 1), 1e-5);
        await forward(`${label} long column`, [{ shape: [100003, 3] }], (x) => tf.sum(x, 0), 1e-5);
      });
      // Gradients of mean/sum (broadcasts back) through a small expression.
      await natively(["Sum", "Mean"], async () => {
        for (const axes of [[0], [1, 2], [0, 3], [0, 1, 2, 3]]) {
          await compareOp(
            "native",
            `${label} mean/sum grad ${axes}`,
            [{ shape }],
            (x) => tf.add(tf.mean(tf.square(x), axes, true), tf.sum(x, axes, true)),
          );
        }
      });
    });
  },
});

Deno.test({
  name: "native element-wise: FusedBatchNorm (per channel, scalar, without offset/scale) vs cpu",
  ignore,
  fn: async () => {
    await bothThreadings(async (label) => {
      await natively(["FusedBatchNorm"], async () => {
        const x: In = { shape: [2, 5, 5, 6], scale: 3 };
        const c: In = { shape: [6] };
        const v: In = { shape: [6], positive: true };
        await forward(
          `${label} batchNorm`,
          [x, c, v, c, c],
          (x, m, v, o, s) => tf.batchNorm(x, m, v, o, s, 1e-3),
          1e-5,
        );
        await forward(
          `${label} batchNorm without offset/scale`,
          [x, c, v],
          (x, m, v) => tf.batchNorm(x, m, v, undefined, undefined, 1e-3),
          1e-5,
        );
        await forward(
          `${label} batchNorm scalar params`,
          [x, { shape: [1] }, { shape: [1], positive: true }, c, { shape: [1] }],
          (x, m, v, o, s) => tf.batchNorm(x, m, v, o, s, 1e-3),
          1e-5,
        );
        await compareOp(
          "native",
          `${label} batchNorm grad`,
          [{ shape: [2, 5, 5, 6] }, { shape: [6] }, { shape: [6] }],
          (x, o, s) => tf.batchNorm(x, tf.mean(x, [0, 1, 2]), tf.tensor1d([0.7]), o, s, 1e-3),
        );
      });
    });
  },
});

Deno.test({
  name: "native element-wise: Select (float32, int32) and its gradient vs cpu",
  ignore,
  fn: async () => {
    await bothThreadings(async (label) => {
      await natively(["Select"], async () => {
        for (const shape of [[7, 9], [64, 28, 28, 4], [1], [1000]]) {
          for (const dtype of ["float32", "int32"] as const) {
            await forward(
              `${label} where ${dtype} ${shape}`,
              [{ shape, dtype: "bool" }, { shape, dtype, scale: 50 }, { shape, dtype, scale: 50 }],
              (c, a, b) => tf.where(c, a, b),
            );
          }
        }
        await compareOp(
          "native",
          `${label} where grad`,
          [{ shape: [6, 7] }, { shape: [6, 7] }, {
            shape: [6, 7],
            constant: () => tf.tensor(values(42, 5).map((v) => (v > 0 ? 1 : 0)), [6, 7], "bool"),
          }],
          (a, b, c) => tf.where(c, a, b),
        );
      });
    });
  },
});

Deno.test({
  name: "native element-wise: Cast between float32, int32 and bool (JS semantics) vs cpu",
  ignore,
  fn: async () => {
    const specials = [NaN, Infinity, -Infinity, 3e9, -3e9, 2.7, -2.7, 0.4, -0.4, 0, -0, 2 ** 31];
    await bothThreadings(async (label) => {
      await natively(["Cast"], async () => {
        for (const shape of [[5, 7], [70000]]) {
          const cases: [In, "float32" | "int32" | "bool"][] = [
            [{ shape, scale: 1000 }, "int32"],
            [{ shape, scale: 2 }, "bool"],
            [{ shape, dtype: "int32", scale: 1e5 }, "float32"],
            [{ shape, dtype: "int32", scale: 2 }, "bool"],
            [{ shape, dtype: "bool" }, "float32"],
            [{ shape, dtype: "bool" }, "int32"],
            [{ shape, scale: 2 }, "float32"],
            [{ shape, dtype: "int32", scale: 100 }, "int32"],
          ];
          for (const [inp, dtype] of cases) {
            await forward(
              `${label} cast ${inp.dtype ?? "float32"} → ${dtype} ${shape}`,
              [inp],
              (x) => tf.cast(x, dtype),
            );
          }
        }
        await forward(
          `${label} cast specials → int32`,
          [{ shape: [specials.length], data: specials }],
          (x) => tf.cast(x, "int32"),
        );
        await forward(
          `${label} cast specials → bool`,
          [{ shape: [specials.length], data: specials }],
          (x) => tf.cast(x, "bool"),
        );
      });
    });
  },
});

Deno.test({
  name: "native element-wise: Concat and SplitV along every axis (float32, int32, bool) vs cpu",
  ignore,
  fn: async () => {
    await bothThreadings(async (label) => {
      await natively(["Concat", "SplitV"], async () => {
        for (const dtype of ["float32", "int32", "bool"] as const) {
          for (let axis = 0; axis < 3; axis++) {
            const shapes = [2, 5, 1].map((k) => [3, 4, 5].map((d, i) => (i === axis ? k : d)));
            await forward(
              `${label} concat ${dtype} axis ${axis}`,
              shapes.map((shape) => ({ shape, dtype, scale: 50 })),
              (...xs) => tf.concat(xs, axis),
            );
            await forward(
              `${label} split ${dtype} axis ${axis}`,
              [{ shape: [6, 6, 6], dtype, scale: 50 }],
              (x) => [...tf.split(x, [2, 3, 1], axis), ...tf.split(x, 3, axis)],
            );
          }
        }
        await forward(
          `${label} concat with an empty input, U-Net skip sizes`,
          [{ shape: [8, 14, 14, 32] }, { shape: [8, 14, 14, 0] }, { shape: [8, 14, 14, 64] }],
          (a, e, b) => tf.concat([a, e, b], 3),
        );
        await forward(
          `${label} split with an empty part`,
          [{ shape: [4, 10] }],
          (x) => tf.split(x, [4, 0, 6], 1),
        );
        await compareOp(
          "native",
          `${label} concat → split gradient`,
          [{ shape: [2, 3, 4] }, { shape: [2, 3, 2] }],
          (a, b) => tf.mul(tf.concat([a, b], 2), tf.concat([b, a], 2)),
        );
      });
    });
  },
});

Deno.test({
  name: "native element-wise: Identity shares data safely; tensors stay flat over 100 steps",
  ignore,
  fn: async () => {
    await switchTo("native");
    try {
      await natively(["Identity", "Cast"], async () => {
        const x = tf.tensor([1, 2, 3, 4], [2, 2]);
        const y = tf.clone(x);
        x.dispose();
        assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4], "clone outlives its source");
        const z = tf.clone(y);
        z.dispose();
        assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4], "source outlives its clone");
        const c = tf.cast(y, "float32"); // same dtype: shares the data too
        y.dispose();
        assert.deepEqual(Array.from(c.dataSync()), [1, 2, 3, 4], "same-dtype cast outlives source");
        c.dispose();
        await Promise.resolve();
      });
      // A small training loop through every wrapped kind of kernel.
      const w = tf.variable(tf.tensor(values(4 * 8, 3), [4, 8]));
      const b = tf.variable(tf.zeros([8]));
      const x = tf.tensor(values(16 * 6 * 4, 4), [16, 6, 4]);
      const optimizer = tf.train.adam(0.01);
      const loss = () => {
        const h = tf.add(tf.matMul(tf.reshape(x, [96, 4]), w), b);
        const [p, q] = tf.split(h, 2, 1);
        const g = tf.mul(tf.sigmoid(p), tf.tanh(q));
        const m = tf.moments(g, [0], true);
        const n = tf.div(tf.sub(g, m.mean), tf.sqrt(tf.add(m.variance, 1e-5)));
        const c = tf.concat([n, tf.relu(n)], 1);
        const big = tf.cast(tf.greater(c, 0.5), "float32");
        return tf.mean(tf.square(tf.sub(tf.where(tf.less(c, 0), tf.neg(c), c), big))) as tf.Scalar;
      };
      const step = () => tf.dispose(optimizer.minimize(loss, true)!);
      step();
      // deno-lint-ignore no-explicit-any
      const backend = tf.backend() as any;
      const tensors = tf.memory().numTensors;
      const buffers = backend.numDataIds();
      await natively(["Identity", "Concat", "SplitV", "Sum", "Mean", "Select", "Cast"], () => {
        for (let i = 0; i < 100; i++) step();
        return Promise.resolve();
      });
      assert.equal(tf.memory().numTensors, tensors, "tfjs tensors");
      assert.equal(backend.numDataIds(), buffers, "wasm data buffers");
      tf.dispose([w, b, x]);
      optimizer.dispose();
    } finally {
      setNativeKernels(false);
    }
  },
});

Deno.test({
  name: "native element-wise: gradients of a composite expression (tf.grads) match cpu",
  ignore,
  fn: async () => {
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const h = tf.add(tf.mul(a, b), c); // [4,6,6,8] * [8] + [4,1,1,8]
      const s = tf.mul(tf.sigmoid(h), h); // SiLU
      const m = tf.mean(s, [1, 2], true);
      const d = tf.add(tf.square(tf.sub(s, m)), tf.squaredDifference(s, tf.mul(s, 0.9)));
      const r = tf.div(tf.sub(s, m), tf.sqrt(tf.add(tf.mean(d, [1, 2, 3], true), 1e-5)));
      return tf.sum(tf.mul(tf.maximum(r, tf.minimum(tf.tanh(r), 0.2)), tf.exp(tf.neg(tf.abs(r)))));
    };
    const build = () => {
      const a = tf.tensor(values(4 * 6 * 6 * 8, 1), [4, 6, 6, 8]);
      const b = tf.tensor(values(8, 2), [8]);
      const c = tf.tensor(values(4 * 8, 3), [4, 1, 1, 8]);
      return tf.grads(f)([a, b, c]);
    };
    await bothThreadings(async (label) => {
      await natively(["Multiply", "Sum", "Mean", "Sigmoid", "Sqrt", "RealDiv"], async () => {
        const ref = await on("cpu", build);
        const got = await on("native", build);
        ref.forEach((r, i) => {
          const e = relErr(got[i], r);
          assert.ok(e < 1e-4, `${label} grad ${i}: relative error ${e.toExponential(2)}`);
        });
      });
    });
  },
});

Deno.test({
  name: "native element-wise: unsupported dtypes fall through; the switch turns the layer off",
  ignore,
  fn: async () => {
    const before = { ...elementwiseCounters.Add };
    await forward("int32 add", [{ shape: [3, 4], dtype: "int32", scale: 100 }, {
      shape: [4],
      dtype: "int32",
      scale: 100,
    }], tf.add);
    assert.equal(elementwiseCounters.Add.fallbacks, before.fallbacks + 1);
    assert.equal(elementwiseCounters.Add.calls, before.calls);
    setNativeElementwise(false);
    try {
      await forward("add, layer off", [{ shape: [3, 4] }, { shape: [4] }], tf.add);
      assert.equal(elementwiseCounters.Add.calls, before.calls);
    } finally {
      setNativeElementwise(true);
    }
    await forward("add, layer on", [{ shape: [3, 4] }, { shape: [4] }], tf.add);
    assert.equal(elementwiseCounters.Add.calls, before.calls + 1);
  },
});

Deno.test({
  name:
    "native nearest resize (every mode, up and down) and fused SiLU equal cpu, forward and grad",
  ignore,
  fn: async () => {
    const modes = [[false, false], [true, false], [false, true]] as const;
    const sizes: [number, number][] = [[10, 8], [3, 7], [9, 4]];
    await bothThreadings(async (label) => {
      await natively(["ResizeNearestNeighbor", "ResizeNearestNeighborGrad"], async () => {
        for (const [alignCorners, halfPixelCenters] of modes) {
          for (const size of sizes) {
            const f = (x: tf.Tensor) =>
              tf.image.resizeNearestNeighbor(
                x as tf.Tensor4D,
                size,
                alignCorners,
                halfPixelCenters,
              );
            await forward(
              `${label} resize ${size} ${alignCorners}/${halfPixelCenters}`,
              [{ shape: [3, 5, 4, 3] }, { shape: [3, ...size, 3] }],
              (x, dy) => [f(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), dy)))(x)],
              1e-6,
            );
          }
        }
      });
      // SiLU through lib/nn/blocks.ts (native: the GenlabSilu kernels; cpu: composite ops).
      await forward(
        `${label} silu`,
        [{ shape: [4, 7, 5, 3], scale: 6 }, { shape: [4, 7, 5, 3] }],
        (x, dy) => [silu(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(silu(a), dy)))(x)],
        1e-5,
      );
    });
  },
});
