/**
 * Autoregressive models, checked by their math: causality by gradients (masks A and B, whole
 * networks), the blind spot of PixelCNN against the gated stacks, the row-cropped sampler giving
 * exactly the full-image logits, a normalised distribution over all grids, the sampler matching
 * the model's probabilities, and flat tensor counts.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { causalMask, MaskedConv2d, maskValues } from "../lib/nn/masked_conv.ts";
import { ParamScope } from "../lib/nn/blocks.ts";
import { createPixelCnn, PixelCnnNetwork } from "../lib/models/autoregressive/pixelcnn.ts";
import {
  createGatedPixelCnn,
  createGridPixelCnn,
  GatedPixelCnnNetwork,
} from "../lib/models/autoregressive/gated_pixelcnn.ts";
import { DiscreteAutoregressive } from "../lib/models/autoregressive/discrete.ts";
import { PIXELCNN_CONFIG } from "../lib/models/autoregressive/pixelcnn.ts";
import { GATED_PIXELCNN_CONFIG } from "../lib/models/autoregressive/gated_pixelcnn.ts";
import { PixelRnnNetwork } from "../lib/models/autoregressive/pixelrnn.ts";
import { Rng } from "../lib/util/rng.ts";
import { useBackend } from "./helpers.ts";

/** |∂ out[0, i, j, :].sum / ∂ x| as an H×W array, for a random input. */
function dependence(
  apply: (x: tf.Tensor4D) => tf.Tensor4D,
  shape: [number, number, number, number],
  i: number,
  j: number,
): number[][] {
  return tf.tidy(() => {
    const x = tf.randomNormal(shape, 0, 1, "float32", 7) as tf.Tensor4D;
    const g = tf.grad((x: tf.Tensor) => {
      const out = apply(x as tf.Tensor4D);
      return out.slice([0, i, j, 0], [1, 1, 1, out.shape[3]]).sum();
    })(x);
    return g.abs().sum(3).reshape([shape[1], shape[2]]).arraySync() as number[][];
  });
}

/** Assert output (i, j) depends on no input at or after it in raster order (strict = mask A)
 * or after it (mask B). */
function assertCausal(
  apply: (x: tf.Tensor4D) => tf.Tensor4D,
  shape: [number, number, number, number],
  strict: boolean,
) {
  const [, h, w] = shape;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const d = dependence(apply, shape, i, j);
      for (let r = 0; r < h; r++) {
        for (let c = 0; c < w; c++) {
          const later = r * w + c > i * w + j || (strict && r === i && c === j);
          if (later) assert.equal(d[r][c], 0, `output (${i},${j}) depends on input (${r},${c})`);
        }
      }
      if (!strict) assert.ok(d[i][j] > 0, `mask B output (${i},${j}) must see its own position`);
    }
  }
}

Deno.test("masks A and B: the raster-order pattern", () => {
  assert.deepEqual(maskValues(3, 3, "A"), [1, 1, 1, 1, 0, 0, 0, 0, 0]);
  assert.deepEqual(maskValues(3, 3, "B"), [1, 1, 1, 1, 1, 0, 0, 0, 0]);
  const five = maskValues(5, 5, "A");
  assert.equal(five.reduce((a, b) => a + b), 12); // 2 full rows + 2 to the left
});

Deno.test("masked conv: ∂out[i]/∂x[j] = 0 for j ≥ i (mask A) and j > i (mask B)", async () => {
  await useBackend("cpu");
  const p = ParamScope.root(new Rng(1), "maskedtest");
  for (const type of ["A", "B"] as const) {
    const conv = new MaskedConv2d(p.child(type), 2, 3, type, 5);
    assertCausal((x) => conv.apply(x), [1, 5, 5, 2], type === "A");
    conv.dispose();
  }
  const m = causalMask(3, 3, 2, 2, "A");
  assert.deepEqual(Array.from(m.slice([1, 1, 0, 0], [1, 1, 2, 2]).dataSync()), [0, 0, 0, 0]);
  m.dispose();
  p.variables.forEach((v) => v.dispose());
});

Deno.test("PixelCNN and Gated PixelCNN networks are causal (gradients, every position)", async () => {
  await useBackend("cpu");
  const plain = new PixelCnnNetwork(new Rng(2), {
    inChannels: 1,
    outChannels: 3,
    filters: 8,
    residualBlocks: 2,
    firstKernel: 3,
  });
  assertCausal((x) => plain.apply(x), [1, 5, 5, 1], true);
  const gated = new GatedPixelCnnNetwork(new Rng(3), {
    inChannels: 1,
    outChannels: 3,
    filters: 8,
    layers: 3,
    kernelSize: 3,
    firstKernel: 3,
    numClasses: 0,
  });
  assertCausal((x) => gated.apply(x), [1, 5, 5, 1], true);
  plain.dispose();
  gated.dispose();
});

Deno.test("blind spot: PixelCNN misses above-right pixels that the gated stacks see", async () => {
  await useBackend("cpu");
  // 3 layers of 3×3 each. Target (4, 3) on 7×7. Pixel (3, 6) precedes it in raster order.
  const plain = new PixelCnnNetwork(new Rng(4), {
    inChannels: 1,
    outChannels: 1,
    filters: 16,
    residualBlocks: 2,
    firstKernel: 3,
  });
  const gated = new GatedPixelCnnNetwork(new Rng(5), {
    inChannels: 1,
    outChannels: 1,
    filters: 16,
    layers: 3,
    kernelSize: 3,
    firstKernel: 3,
    numClasses: 0,
  });
  const dPlain = dependence((x) => plain.apply(x), [1, 7, 7, 1], 4, 3);
  const dGated = dependence((x) => gated.apply(x), [1, 7, 7, 1], 4, 3);
  // Plain: one row up it reaches only one column right of the centre (3, 4); (3, 5), (3, 6)
  // are the blind spot although they come first.
  assert.ok(dPlain[3][4] > 0);
  assert.equal(dPlain[3][5], 0);
  assert.equal(dPlain[3][6], 0);
  // Gated: the vertical stack sees the whole rectangle above within its reach (3 columns either
  // side, 3 rows up), the horizontal stack the row to the left.
  for (let r = 1; r <= 3; r++) {
    for (let c = 0; c <= 6; c++) assert.ok(dGated[r][c] > 0, `gated misses (${r}, ${c})`);
  }
  for (let c = 0; c < 3; c++) assert.ok(dGated[4][c] > 0);
  plain.dispose();
  gated.dispose();
});

Deno.test("row-cropped sampling logits equal full-image logits (receptiveRows is exact)", async () => {
  await useBackend("cpu");
  const models = [
    new DiscreteAutoregressive(
      new PixelCnnNetwork(new Rng(6), {
        inChannels: 1,
        outChannels: 4,
        filters: 8,
        residualBlocks: 3,
        firstKernel: 5,
      }),
      4,
      9,
      6,
      "scalar",
    ),
    createGridPixelCnn({ categories: 4, height: 9, width: 6, seed: 7, filters: 8, layers: 3 }),
  ];
  for (const model of models) {
    const values = tf.tidy(() => tf.randomUniform([2, 9, 6, 1], 0, 4, "float32", 8).floor());
    const full = model.logits(values as tf.Tensor4D);
    const reach = model.network.receptiveRows;
    assert.ok(reach < 8, "the test needs crops smaller than the image");
    for (let i = reach + 1; i < 9; i++) {
      const crop = values.slice([0, i - reach, 0, 0], [2, reach + 1, 6, 1]) as tf.Tensor4D;
      const cropped = model.logits(crop);
      const a = cropped.slice([0, reach, 0, 0], [2, 1, 6, 4]).dataSync();
      const b = full.slice([0, i, 0, 0], [2, 1, 6, 4]).dataSync();
      for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k] - b[k]) < 1e-5);
      tf.dispose([crop, cropped]);
    }
    tf.dispose([values, full]);
    model.dispose();
  }
});

Deno.test("a proper distribution: Σ over all 3^4 grids of p(v) = 1 (K = 3, 2×2, one-hot)", async () => {
  await useBackend("cpu");
  const model = createGridPixelCnn({ categories: 3, height: 2, width: 2, seed: 9, filters: 8 });
  // Non-trivial weights: perturb every variable.
  model.network.variables.forEach((v, i) =>
    v.assign(tf.tidy(() => v.add(tf.randomNormal(v.shape, 0, 0.3, "float32", i))))
  );
  const grids: number[] = [];
  for (let g = 0; g < 81; g++) {
    for (let d = 0, x = g; d < 4; d++, x = Math.floor(x / 3)) grids.push(x % 3);
  }
  const nll = tf.tidy(() => model.nll(tf.tensor4d(grids, [81, 2, 2, 1]))).dataSync();
  const total = Array.from(nll).reduce((s, v) => s + Math.exp(-v), 0);
  assert.ok(Math.abs(total - 1) < 1e-4, `Σ p = ${total}`);
  model.dispose();
});

Deno.test("NLL: Bernoulli and 256-way softmax match the hand formula", async () => {
  await useBackend("cpu");
  for (const output of ["bernoulli", "softmax256"] as const) {
    const config = PIXELCNN_CONFIG.parse({ output, filters: 4, residualBlocks: 1 });
    const model = createPixelCnn(config, { range: "[0,1]", height: 3, width: 3, channels: 1 }, 1);
    const x = output === "bernoulli"
      ? tf.tensor4d([1, 0, 1, 1, 0, 0, 1, 0, 1], [1, 3, 3, 1])
      : tf.tensor4d([0, 3, 255, 128, 7, 9, 200, 1, 50].map((b) => b / 255), [1, 3, 3, 1]);
    const values = model.values(x);
    const logits = model.model.logits(values).dataSync();
    const v = values.dataSync();
    let expected = 0;
    for (let d = 0; d < 9; d++) {
      if (output === "bernoulli") {
        const l = logits[d];
        expected += Math.log1p(Math.exp(l)) - v[d] * l;
      } else {
        const row = Array.from(logits.slice(d * 256, (d + 1) * 256));
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((s, z) => s + Math.exp(z - max), 0));
        expected += lse - row[v[d]];
      }
    }
    const [nll] = await model.nll({ x });
    assert.ok(Math.abs(nll - expected) < 1e-3 * Math.max(1, expected), `${nll} vs ${expected}`);
    tf.dispose([x, values]);
    model.dispose();
  }
});

Deno.test("sampler draws from the model: empirical joint of a 1×2 grid ≈ p (χ², 4000 draws)", async () => {
  await useBackend("cpu");
  const model = createGridPixelCnn({ categories: 2, height: 1, width: 2, seed: 10, filters: 8 });
  model.network.variables.forEach((v, i) =>
    v.assign(tf.tidy(() => v.add(tf.randomNormal(v.shape, 0, 0.5, "float32", 50 + i))))
  );
  const all = tf.tensor4d([0, 0, 0, 1, 1, 0, 1, 1], [4, 1, 2, 1]);
  const p = Array.from(tf.tidy(() => model.nll(all).neg().exp()).dataSync());
  const n = 4000;
  const values = await model.sample(n, new Rng(11));
  const counts = [0, 0, 0, 0];
  for (let b = 0; b < n; b++) counts[values[2 * b] * 2 + values[2 * b + 1]]++;
  const chi2 = counts.reduce((s, c, k) => s + (c - n * p[k]) ** 2 / (n * p[k]), 0);
  assert.ok(chi2 < 16.3, `χ² = ${chi2} (3 dof, p = 0.001 critical value 16.27)`); // df = 3
  all.dispose();
  model.dispose();
});

Deno.test("autoregressive image models: trainStep, nll and sample keep tensor counts flat", async () => {
  await useBackend("cpu");
  const data = { range: "binary" as const, height: 4, width: 4, channels: 1 };
  const models = [
    createPixelCnn(PIXELCNN_CONFIG.parse({ filters: 4, residualBlocks: 1 }), data, 0),
    createGatedPixelCnn(
      GATED_PIXELCNN_CONFIG.parse({ filters: 4, layers: 2, conditioning: "class" }),
      { ...data, numClasses: 3 },
      0,
    ),
  ];
  for (const model of models) {
    const x = tf.tidy(() => tf.randomUniform([2, 4, 4, 1], 0, 1, "float32", 3).round());
    const labels = tf.tensor1d([0, 2], "int32");
    const batch = { x: x as tf.Tensor4D, labels };
    await model.trainStep(batch, 1);
    const before = tf.memory().numTensors;
    for (let s = 2; s <= 4; s++) await model.trainStep(batch, s);
    await model.nll(batch);
    (await model.sample(2, { seed: 1 })).dispose();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, labels]);
    model.dispose();
  }
});

Deno.test("PixelRNN (Row LSTM): causal by gradients; the cached-state sampler step = full pass", async () => {
  await useBackend("cpu");
  const net = new PixelRnnNetwork(new Rng(12), {
    inChannels: 1,
    outChannels: 3,
    filters: 6,
    layers: 2,
    kernelSize: 3,
    firstKernel: 3,
  });
  assertCausal((x) => net.apply(x), [1, 5, 5, 1], true);
  // Triangular receptive field (seed 002): from (4, 1) the context widens one column per row up
  // (the 1×3 state-to-state conv; stacking layers does not widen it), so (3, 3) is never seen
  // although it precedes (4, 1) — the Row LSTM's own blind region; (1, 4) is.
  const d = dependence((x) => net.apply(x), [1, 5, 5, 1], 4, 1);
  assert.ok(d[3][2] > 0);
  assert.equal(d[3][3], 0);
  assert.ok(d[1][4] > 0);
  const model = new DiscreteAutoregressive(net, 3, 5, 5, "scalar");
  const values = tf.tidy(() => tf.randomUniform([2, 5, 5, 1], 0, 3, "float32", 13).floor());
  const full = model.logits(values as tf.Tensor4D);
  const stepper = net.rowStepper(2);
  for (let i = 0; i < 5; i++) {
    const top = Math.max(0, i - stepper.inputRows);
    const crop = tf.tidy(() =>
      model.encode(values.slice([0, top, 0, 0], [2, i - top + 1, 5, 1]) as tf.Tensor4D)
    );
    const row = stepper.row(crop);
    const a = row.dataSync();
    const b = full.slice([0, i, 0, 0], [2, 1, 5, 3]).dataSync();
    for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k] - b[k]) < 1e-5, `row ${i}`);
    stepper.commit(crop);
    tf.dispose([crop, row]);
  }
  stepper.dispose();
  tf.dispose([values, full]);
  model.dispose();
});

Deno.test("grid PixelCNN (VQ-VAE prior entry): class conditioning changes p, stays normalised", async () => {
  await useBackend("cpu");
  const prior = createGridPixelCnn({
    categories: 3,
    height: 1,
    width: 3,
    seed: 14,
    filters: 8,
    numClasses: 2,
  });
  prior.network.variables.forEach((v, i) =>
    v.assign(tf.tidy(() => v.add(tf.randomNormal(v.shape, 0, 0.4, "float32", 70 + i))))
  );
  const grids: number[] = [];
  for (let g = 0; g < 27; g++) grids.push(g % 3, Math.floor(g / 3) % 3, Math.floor(g / 9));
  const all = tf.tensor4d(grids, [27, 1, 3, 1]);
  const total = (label: number) =>
    tf.tidy(() => {
      const labels = tf.fill([27], label, "int32") as tf.Tensor1D;
      return Array.from(prior.nll(all, labels).dataSync());
    });
  const p0 = total(0);
  const p1 = total(1);
  for (const nll of [p0, p1]) {
    const mass = nll.reduce((s, v) => s + Math.exp(-v), 0);
    assert.ok(Math.abs(mass - 1) < 1e-4, `Σ p = ${mass}`);
  }
  assert.ok(p0.some((v, k) => Math.abs(v - p1[k]) > 1e-3), "labels must change the distribution");
  all.dispose();
  prior.dispose();
});
