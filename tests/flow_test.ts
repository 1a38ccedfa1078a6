/**
 * Flows, checked by their math: f⁻¹(f(x)) = x, every layer's log|det J| against the log-det of
 * its Jacobian computed by autodiff (LU in float64), the NLL of an identity flow against the
 * Gaussian formula, bits/dim with the dequantization + logit terms against the hand formula, the
 * 2-D flow's density integrating to 1, and flat tensor counts.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { ParamScope } from "../lib/nn/blocks.ts";
import {
  ActNorm,
  AffineCoupling,
  couplingMask,
  CouplingNetwork,
  type FlowLayer,
  logitTransform,
  Squeeze,
} from "../lib/models/flow/layers.ts";
import { buildImageFlow, FlowImageModel, REALNVP_CONFIG } from "../lib/models/flow/realnvp.ts";
import { Flow2d } from "../lib/models/flow/flow2d.ts";
import { bitsPerDim } from "../lib/metrics/likelihood.ts";
import { Rng } from "../lib/util/rng.ts";
import { useBackend } from "./helpers.ts";

/** Move every variable away from its (often identity) initialisation. */
function perturb(variables: tf.Variable[], scale: number, seed: number) {
  variables.forEach((v, i) =>
    v.assign(tf.tidy(() => v.add(tf.randomNormal(v.shape, 0, scale, "float32", seed + i))))
  );
}

/** log|det| of a square matrix (row-major, float64) by LU with partial pivoting. */
function logAbsDet(m: Float64Array, n: number): number {
  const a = Float64Array.from(m);
  let result = 0;
  for (let k = 0; k < n; k++) {
    let pivot = k;
    for (let r = k + 1; r < n; r++) {
      if (Math.abs(a[r * n + k]) > Math.abs(a[pivot * n + k])) pivot = r;
    }
    if (pivot !== k) {
      for (let c = 0; c < n; c++) {
        [a[k * n + c], a[pivot * n + c]] = [a[pivot * n + c], a[k * n + c]];
      }
    }
    const d = a[k * n + k];
    result += Math.log(Math.abs(d));
    for (let r = k + 1; r < n; r++) {
      const f = a[r * n + k] / d;
      for (let c = k; c < n; c++) a[r * n + c] -= f * a[k * n + c];
    }
  }
  return result;
}

/** The Jacobian ∂f(x)/∂x of a map on one example (autodiff, one row per output). */
function jacobianLogDet(f: (x: tf.Tensor4D) => tf.Tensor4D, x: tf.Tensor4D): number {
  const d = x.size;
  const rows = new Float64Array(d * d);
  for (let o = 0; o < d; o++) {
    const g = tf.tidy(() =>
      tf.grad((x: tf.Tensor) => f(x as tf.Tensor4D).reshape([d]).slice([o], [1]).sum())(x)
        .dataSync()
    );
    rows.set(g, o * d);
  }
  return logAbsDet(rows, d);
}

Deno.test("each flow layer's log|det J| equals the autodiff Jacobian's log-det", async () => {
  await useBackend("cpu");
  const p = ParamScope.root(new Rng(1), "jac");
  const actnorm = new ActNorm(p.child("an"), 2);
  const net = () => new CouplingNetwork(p.child(`net${p.variables.length}`), 2, 8, 1, 3);
  const layers: FlowLayer[] = [
    actnorm,
    new AffineCoupling(net(), couplingMask("checkerboard", 2, 2, 2, 0), false),
    new AffineCoupling(net(), couplingMask("checkerboard", 2, 2, 2, 1), false),
    new AffineCoupling(net(), couplingMask("channel", 2, 2, 2, 0), false),
    new AffineCoupling(net(), couplingMask("channel", 2, 2, 2, 1), true),
    new Squeeze(),
  ];
  perturb(p.variables, 0.5, 100);
  const x = tf.randomNormal([1, 2, 2, 2], 0, 1, "float32", 3) as tf.Tensor4D;
  for (const layer of layers) {
    const expected = jacobianLogDet((v) => layer.forward(v).y, x);
    const got = tf.tidy(() => layer.forward(x).logDet.dataSync()[0]);
    assert.ok(Math.abs(got - expected) < 1e-4, `${layer.kind}: ${got} vs ${expected}`);
    if (layer.kind.includes("coupling") && !layer.kind.includes("additive")) {
      assert.ok(Math.abs(got) > 1e-2, "a non-trivial affine coupling");
    }
  }
  // The logit preprocessing (on y in (0, 1)).
  const y = tf.tidy(() => tf.sigmoid(x));
  const expected = jacobianLogDet((v) => logitTransform(v, 0.05).x, y as tf.Tensor4D);
  const got = tf.tidy(() => logitTransform(y as tf.Tensor4D, 0.05).logDet.dataSync()[0]);
  assert.ok(Math.abs(got - expected) < 1e-4, `logit: ${got} vs ${expected}`);
  tf.dispose([x, y]);
  layers.forEach((l) => l.dispose?.());
  p.variables.forEach((v) => v.dispose());
});

Deno.test("multi-scale RealNVP and NICE: f⁻¹(f(x)) = x to 1e-4", async () => {
  await useBackend("cpu");
  for (const coupling of ["affine", "additive"] as const) {
    const config = REALNVP_CONFIG.parse({ scales: 3, couplingsPerStage: 2, hidden: 8, coupling });
    const flow = buildImageFlow(config, { height: 8, width: 8, channels: 1 }, new Rng(2));
    perturb(flow.variables, 0.05, 200);
    const x = tf.randomNormal([3, 8, 8, 1], 0, 1, "float32", 4) as tf.Tensor4D;
    const { zs, logDet } = flow.forward(x);
    assert.deepEqual(zs.map((z) => z.shape), flow.latentShapes(3, 8, 8, 1));
    const back = flow.inverse(zs);
    const err = tf.tidy(() => back.sub(x).abs().max().dataSync()[0]);
    assert.ok(err < 1e-4, `${coupling}: max |f⁻¹(f(x)) − x| = ${err}`);
    const ld = logDet.dataSync();
    if (coupling === "additive") {
      // Volume changes only through actnorm: the same for every example.
      assert.ok(Math.abs(ld[0] - ld[1]) < 1e-3 && Math.abs(ld[0] - ld[2]) < 1e-3);
    }
    tf.dispose([x, back, logDet, ...zs]);
    flow.dispose();
  }
});

Deno.test("an identity flow's NLL is the standard-normal formula", async () => {
  await useBackend("cpu");
  // Fresh flow: couplings start as the identity (zero last layer), actnorm as the identity,
  // squeeze/split only permute: log p(x) = −½‖x‖² − (D/2) log 2π.
  const config = REALNVP_CONFIG.parse({ scales: 2, couplingsPerStage: 2, hidden: 4 });
  const flow = buildImageFlow(config, { height: 4, width: 4, channels: 1 }, new Rng(3));
  const x = tf.randomNormal([2, 4, 4, 1], 0, 1.5, "float32", 5) as tf.Tensor4D;
  const got = tf.tidy(() => flow.logProb(x).dataSync());
  const v = x.dataSync();
  for (let b = 0; b < 2; b++) {
    let sq = 0;
    for (let d = 0; d < 16; d++) sq += v[b * 16 + d] ** 2;
    const expected = -0.5 * sq - 8 * Math.log(2 * Math.PI);
    assert.ok(Math.abs(got[b] - expected) < 1e-4, `${got[b]} vs ${expected}`);
  }
  x.dispose();
  flow.dispose();
});

Deno.test("bits/dim includes the dequantization and logit terms (hand formula)", async () => {
  await useBackend("cpu");
  const alpha = 0.05;
  const config = REALNVP_CONFIG.parse({ scales: 2, couplingsPerStage: 1, hidden: 4, alpha });
  const model = new FlowImageModel("realnvp", config, {
    range: "[0,1]",
    height: 4,
    width: 4,
    channels: 1,
  }, 0);
  const bytes = Array.from({ length: 16 }, (_, i) => (i * 37) % 256);
  const y = tf.tensor4d(bytes.map((k) => (k + 0.5) / 256), [1, 4, 4, 1]);
  const nats = tf.tidy(() => model.discreteNll(y).dataSync()[0]);
  // Identity flow on x = logit(α + (1 − 2α) y):
  //   −log P ≤ −log N(x) − Σ log|dx/dy| + D log 256.
  let expected = 16 * Math.log(256);
  for (const k of bytes) {
    const p = alpha + (1 - 2 * alpha) * (k + 0.5) / 256;
    const x = Math.log(p) - Math.log(1 - p);
    expected += 0.5 * x * x + 0.5 * Math.log(2 * Math.PI);
    expected -= Math.log(1 - 2 * alpha) - Math.log(p) - Math.log(1 - p);
  }
  assert.ok(Math.abs(nats - expected) < 1e-3, `${nats} vs ${expected}`);
  assert.ok(Math.abs(bitsPerDim(nats, 16) - expected / (16 * Math.LN2)) < 1e-6);
  // The same through the contract: nll(batch) on the [0,1] pixels (mid-bin u is random there,
  // so compare to within the spread of the dequantization noise only).
  const [viaContract] = await model.nll({
    x: tf.tensor4d(bytes.map((k) => k / 255), [1, 4, 4, 1]),
  });
  assert.ok(Math.abs(viaContract - expected) < 25, `${viaContract} vs ${expected}`);
  y.dispose();
  model.dispose();
});

Deno.test("2-D flow: the density integrates to 1 and h_L's density is the standard normal", async () => {
  await useBackend("cpu");
  const flow = new Flow2d({ couplings: 4, hidden: 16, depth: 1, seed: 4 });
  perturb(flow.flow.variables, 0.3, 300);
  const side = 161;
  const lim = 8;
  const grid = new Float32Array(side * side * 2);
  for (let i = 0; i < side; i++) {
    for (let j = 0; j < side; j++) {
      grid[2 * (i * side + j)] = -lim + (2 * lim * j) / (side - 1);
      grid[2 * (i * side + j) + 1] = -lim + (2 * lim * i) / (side - 1);
    }
  }
  const points = Flow2d.points(grid);
  const logp = tf.tidy(() => flow.logDensity(points).dataSync());
  const cell = (2 * lim / (side - 1)) ** 2;
  const mass = Array.from(logp).reduce((s, l) => s + Math.exp(l) * cell, 0);
  assert.ok(Math.abs(mass - 1) < 0.02, `∫ p = ${mass}`);
  const last = tf.tidy(() => flow.logDensityAfter(points, flow.layers.length).dataSync());
  const first = tf.tidy(() => flow.logDensityAfter(points, 0).dataSync());
  for (const k of [0, 5000, 12000]) {
    const [x, y] = [grid[2 * k], grid[2 * k + 1]];
    assert.ok(Math.abs(last[k] - (-0.5 * (x * x + y * y) - Math.log(2 * Math.PI))) < 1e-4);
    assert.ok(Math.abs(first[k] - logp[k]) < 1e-5);
  }
  points.dispose();
  flow.dispose();
});

Deno.test("flows keep tensor counts flat over trainStep / nll / sample / interpolate", async () => {
  await useBackend("cpu");
  const config = REALNVP_CONFIG.parse({ scales: 2, couplingsPerStage: 1, hidden: 4 });
  const model = new FlowImageModel("realnvp", config, {
    range: "[0,1]",
    height: 4,
    width: 4,
    channels: 1,
  }, 0);
  const x = tf.randomUniform([2, 4, 4, 1], 0, 1, "float32", 1) as tf.Tensor4D;
  await model.trainStep({ x }, 1);
  const before = tf.memory().numTensors;
  for (let s = 2; s <= 4; s++) await model.trainStep({ x }, s);
  await model.nll({ x });
  (await model.sample(2, { seed: 0 })).dispose();
  const a = x.slice([0, 0, 0, 0], [1, 4, 4, 1]) as tf.Tensor4D;
  const b = x.slice([1, 0, 0, 0], [1, 4, 4, 1]) as tf.Tensor4D;
  model.interpolate(a, b, 3).dispose();
  tf.dispose([a, b]);
  assert.equal(tf.memory().numTensors, before);
  const flow = new Flow2d({ couplings: 2, hidden: 4, depth: 1 });
  const pts = tf.randomNormal([8, 1, 1, 2], 0, 1, "float32", 2) as tf.Tensor4D;
  await flow.trainStep(pts);
  const before2 = tf.memory().numTensors;
  for (let s = 0; s < 3; s++) await flow.trainStep(pts);
  flow.sample(4, 1).dispose();
  assert.equal(tf.memory().numTensors, before2);
  tf.dispose([x, pts]);
  flow.dispose();
  model.dispose();
});
