/**
 * Metrics: classifier FID/KID/IS and precision/recall against independent numpy/scipy values
 * (tests/fixtures/metrics/make_fixtures.py), closed-form checks, the feature-extractor loader,
 * leak checks, and the likelihood helpers.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../lib/backend/mod.ts";
import { Rng } from "../lib/util/rng.ts";
import {
  bernoulliNll,
  bitsPerDim,
  bitsPerDimFromContinuous,
  buildFeatureClassifier,
  ClassifierFID,
  ClassifierIS,
  ClassifierKID,
  ClassifierMetrics,
  type ClassifierScores,
  defaultFeatureModelPath,
  dequantize,
  discretizedLogisticLogProb,
  evaluateSamples,
  type FeatureBatch,
  featureExtractorFromModel,
  type FeatureMatrix,
  fileSaveHandler,
  frechetDistance,
  GaussianStats,
  iwaeBound,
  kernelDistance,
  loadFeatureExtractor,
  logMeanExp,
  LogMeanExpAccumulator,
  logSumExp,
  makeAffineBatch,
  makeBatch,
  mmd2Unbiased,
  normalLogPdf,
  PrecisionRecall,
  precisionRecall,
  scoreFromProbabilities,
  sumPerExample,
} from "../lib/metrics/mod.ts";

await setupBackend({ backend: "cpu" });

interface Reference {
  dim: number;
  x: number[][];
  y: number[][];
  x2: number[][];
  mean_x: number[];
  cov_x: number[][];
  fid_xy: number;
  fid_xx2: number;
  mmd2_full: number;
  mmd2_xx2: number;
  kid_subsets: { x: number[]; y: number[] }[];
  kid_values: number[];
  kid_mean: number;
  kid_std: number;
  probs: number[][];
  is_mean: number;
  is_std: number;
  precision_k3: number;
  recall_k3: number;
  density_k3: number;
  coverage_k3: number;
}

const ref: Reference = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/metrics/reference.json", import.meta.url)),
);

function matrix(rows: number[][]): FeatureMatrix {
  return { n: rows.length, dim: rows[0].length, data: Float32Array.from(rows.flat()) };
}

function assertRel(actual: number, expected: number, tol: number, what: string): void {
  const rel = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
  assert.ok(rel < tol, `${what}: got ${actual}, expected ${expected} (relative error ${rel})`);
}

const X = matrix(ref.x);
const Y = matrix(ref.y);
const X2 = matrix(ref.x2);
const momentsOf = (m: FeatureMatrix) => GaussianStats.fromRows(m.data, m.n, m.dim).moments();

Deno.test("GaussianStats: float64 mean and covariance match numpy", () => {
  // Fed in uneven batches to exercise the streaming accumulator.
  const stats = new GaussianStats(ref.dim);
  const rows = [0, 7, 64, 150, 200];
  for (let i = 0; i + 1 < rows.length; i++) {
    stats.add(X.data.subarray(rows[i] * ref.dim, rows[i + 1] * ref.dim), rows[i + 1] - rows[i]);
  }
  const m = stats.moments();
  // float32 storage of the features limits agreement to ~1e-7 relative.
  ref.mean_x.forEach((v, i) => assert.ok(Math.abs(m.mean[i] - v) < 1e-6));
  ref.cov_x.flat().forEach((v, i) => assert.ok(Math.abs(m.cov[i] - v) < 1e-5 * (1 + Math.abs(v))));
});

Deno.test("classifier FID: Fréchet distance matches scipy.linalg.sqrtm (rel < 1e-4)", () => {
  assertRel(frechetDistance(momentsOf(X), momentsOf(Y)), ref.fid_xy, 1e-4, "FID(x, y)");
  assertRel(frechetDistance(momentsOf(Y), momentsOf(X)), ref.fid_xy, 1e-4, "FID(y, x)");
  assertRel(frechetDistance(momentsOf(X), momentsOf(X2)), ref.fid_xx2, 1e-4, "FID(x, x2)");
  const self = frechetDistance(momentsOf(X), momentsOf(X));
  assert.ok(self >= 0 && self < 1e-9, `FID(x, x) = ${self}`);
});

Deno.test("classifier FID: singular covariances (n ≤ d) stay finite via ε·I", () => {
  const few: FeatureMatrix = { n: 5, dim: ref.dim, data: X.data.subarray(0, 5 * ref.dim) };
  const d = frechetDistance(momentsOf(few), momentsOf(Y));
  assert.ok(Number.isFinite(d) && d > 0);
  assert.ok(frechetDistance(momentsOf(few), momentsOf(few)) < 1e-6);
});

Deno.test("classifier KID: unbiased MMD² and subset KID match numpy (rel < 1e-4)", async () => {
  assertRel(await mmd2Unbiased(X, Y), ref.mmd2_full, 1e-4, "MMD²(x, y)");
  assertRel(await mmd2Unbiased(X, X2), ref.mmd2_xx2, 1e-4, "MMD²(x, x2)");
  const kid = await kernelDistance(X, Y, { subsetIndices: ref.kid_subsets });
  kid.values.forEach((v, i) => assertRel(v, ref.kid_values[i], 1e-4, `subset ${i}`));
  assertRel(kid.mean, ref.kid_mean, 1e-4, "KID mean");
  assertRel(kid.std, ref.kid_std, 1e-4, "KID std");
  assert.equal(kid.subsetSize, 100);
});

Deno.test("classifier KID: defaults (100 subsets of min(1000, n)), seeded and reproducible", async () => {
  const a = await kernelDistance(X, Y, { subsets: 7, seed: 3 });
  const b = await kernelDistance(X, Y, { subsets: 7, seed: 3 });
  assert.deepEqual(a.values, b.values);
  assert.equal(a.subsetSize, 200);
  const c = await kernelDistance(X, Y, { subsets: 7, seed: 4 });
  assert.notDeepEqual(a.values, c.values);
  assert.ok(Math.abs(a.mean - ref.mmd2_full) < 4 * ref.kid_std);
  // Subsets as large as both sets are the sets themselves: one value, reported as such.
  const Xs: FeatureMatrix = { n: 150, dim: X.dim, data: X.data.subarray(0, 150 * X.dim) };
  const Ys: FeatureMatrix = { n: 150, dim: Y.dim, data: Y.data.subarray(0, 150 * Y.dim) };
  const whole = await kernelDistance(Xs, Ys, { subsetSize: 1000 });
  assert.equal(whole.subsets, 1);
  assert.equal(whole.std, 0);
  assert.equal(whole.mean, await mmd2Unbiased(Xs, Ys));
});

Deno.test("classifier KID: two samples of one distribution give ≈ 0 on average (unbiased)", async () => {
  const values: number[] = [];
  for (let seed = 0; seed < 24; seed++) {
    const rng = new Rng(seed);
    const draw = (n: number): FeatureMatrix => {
      const data = new Float32Array(n * 8);
      for (let i = 0; i < data.length; i++) data[i] = rng.normal(0.5, 1);
      return { n, dim: 8, data };
    };
    values.push(await mmd2Unbiased(draw(120), draw(150)));
  }
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  assert.ok(values.some((v) => v < 0), "an unbiased estimator goes negative sometimes");
  assert.ok(Math.abs(mean) < 2.5 * sd / Math.sqrt(values.length), `mean ${mean}, sd ${sd}`);
});

Deno.test("classifier IS: matches numpy; uniform one-hot = K exactly; identical = 1", () => {
  const probs = Float32Array.from(ref.probs.flat());
  const r = scoreFromProbabilities(probs, ref.probs.length, 10, 10);
  assertRel(r.mean, ref.is_mean, 1e-5, "IS mean");
  assertRel(r.std, ref.is_std, 1e-4, "IS std");

  const n = 200;
  const k = 10;
  const onehot = new Float32Array(n * k);
  for (let i = 0; i < n; i++) onehot[i * k + (i % k)] = 1;
  const uniform = scoreFromProbabilities(onehot, n, k);
  assert.ok(Math.abs(uniform.mean - k) < 1e-12, `uniform one-hot: ${uniform.mean}`);
  assert.ok(uniform.std < 1e-12);

  const same = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    same.set([0.5, 0.2, 0.1, 0.05, 0.05, 0.04, 0.03, 0.02, 0.005, 0.005], i * k);
  }
  assert.ok(Math.abs(scoreFromProbabilities(same, n, k).mean - 1) < 1e-6);
  const sameOnehot = new Float32Array(n * k);
  for (let i = 0; i < n; i++) sameOnehot[i * k + 3] = 1;
  assert.equal(scoreFromProbabilities(sameOnehot, n, k).mean, 1);
});

Deno.test("precision/recall/density/coverage (k = 3): match numpy; a set against itself gives 1, 1", async () => {
  const pr = await precisionRecall(X, Y, 3);
  assertRel(pr.precision, ref.precision_k3, 1e-12, "precision");
  assertRel(pr.recall, ref.recall_k3, 1e-12, "recall");
  assertRel(pr.density, ref.density_k3, 1e-12, "density");
  assertRel(pr.coverage, ref.coverage_k3, 1e-12, "coverage");
  const self = await precisionRecall(X, X, 3);
  assert.equal(self.precision, 1);
  assert.equal(self.recall, 1);
});

/** A tiny classifier-shaped model: conv → pool → dense "features" → dense softmax. It expects
 * 14×14×3 inputs in [0, 1], so the extractor must rescale, resize and tile grey images. */
function tinyModel(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [14, 14, 3] });
  let h = tf.layers.conv2d({
    filters: 4,
    kernelSize: 3,
    activation: "relu",
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
  }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const f = tf.layers.dense({
    units: 6,
    activation: "tanh",
    name: "feat",
    kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
  }).apply(h) as tf.SymbolicTensor;
  const p = tf.layers.dense({
    units: 5,
    activation: "softmax",
    kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
  }).apply(f) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: p });
}

function randomImages(n: number, seed: number, size = 28): tf.Tensor4D {
  return tf.randomUniform([n, size, size, 1], -1, 1, "float32", seed) as tf.Tensor4D;
}

Deno.test("feature extractor: a saved tfjs model loads from disk through the same path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "genlab-metrics-" });
  try {
    const model = tinyModel(11);
    await model.save(fileSaveHandler(dir));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["model.json", "weights.bin"], "atomic save leaves no temp files");

    const extractor = await loadFeatureExtractor({
      path: `${dir}/model.json`,
      inputRange: "[0,1]",
    });
    assert.equal(extractor.featureDim, 6);
    assert.equal(extractor.numClasses, 5);
    const images = randomImages(9, 1);
    const got = await extractor.extract(images);

    // By hand: [-1,1] → [0,1], resize 28 → 14, grey → RGB, then the layers.
    const [wantF, wantP] = tf.tidy(() => {
      const x = tf.tile(tf.image.resizeBilinear(images.add(1).div(2) as tf.Tensor4D, [14, 14]), [
        1,
        1,
        1,
        3,
      ]);
      const feat = tf.model({
        inputs: model.inputs,
        outputs: model.getLayer("feat").output as tf.SymbolicTensor,
      });
      return [feat.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor];
    });
    const wf = wantF.dataSync();
    const wp = wantP.dataSync();
    got.features.forEach((v, i) => assert.ok(Math.abs(v - wf[i]) < 1e-5));
    got.probs!.forEach((v, i) => assert.ok(Math.abs(v - wp[i]) < 1e-5));
    tf.dispose([images, wantF, wantP]);
    extractor.dispose();
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A hand-written tfjs graph model (the format of a converted InceptionV3): images [?, 8, 8, 1]
 * → reshape → matMul w1 → Relu "features" → matMul w2 → Softmax "probs". */
async function writeTinyGraphModel(dir: string, w1: Float32Array, w2: Float32Array): Promise<void> {
  const t = (type: string) => ({ type });
  const dims = (...sizes: number[]) => ({ dim: sizes.map((size) => ({ size: String(size) })) });
  const constant = (name: string, dtype: string, ...shape: number[]) => ({
    name,
    op: "Const",
    attr: { dtype: t(dtype), value: { tensor: { dtype, tensorShape: dims(...shape) } } },
  });
  const noTranspose = { transpose_a: { b: false }, transpose_b: { b: false } };
  const node = [
    {
      name: "images",
      op: "Placeholder",
      attr: { dtype: t("DT_FLOAT"), shape: { shape: dims(-1, 8, 8, 1) } },
    },
    constant("shape", "DT_INT32", 2),
    {
      name: "flat",
      op: "Reshape",
      input: ["images", "shape"],
      attr: { T: t("DT_FLOAT"), Tshape: t("DT_INT32") },
    },
    constant("w1", "DT_FLOAT", 64, 5),
    { name: "h", op: "MatMul", input: ["flat", "w1"], attr: { T: t("DT_FLOAT"), ...noTranspose } },
    { name: "features", op: "Relu", input: ["h"], attr: { T: t("DT_FLOAT") } },
    constant("w2", "DT_FLOAT", 5, 3),
    {
      name: "logits",
      op: "MatMul",
      input: ["features", "w2"],
      attr: { T: t("DT_FLOAT"), ...noTranspose },
    },
    { name: "probs", op: "Softmax", input: ["logits"], attr: { T: t("DT_FLOAT") } },
  ];
  const bytes = new Uint8Array(4 * (2 + w1.length + w2.length));
  bytes.set(new Uint8Array(Int32Array.from([-1, 64]).buffer), 0);
  bytes.set(new Uint8Array(w1.buffer), 8);
  bytes.set(new Uint8Array(w2.buffer), 8 + 4 * w1.length);
  await Deno.writeFile(`${dir}/group1-shard1of1.bin`, bytes);
  await Deno.writeTextFile(
    `${dir}/model.json`,
    JSON.stringify({
      format: "graph-model",
      generatedBy: "genlab metrics_test",
      convertedBy: null,
      modelTopology: { node, library: {}, versions: {} },
      weightsManifest: [{
        paths: ["group1-shard1of1.bin"],
        weights: [
          { name: "shape", shape: [2], dtype: "int32" },
          { name: "w1", shape: [64, 5], dtype: "float32" },
          { name: "w2", shape: [5, 3], dtype: "float32" },
        ],
      }],
    }),
  );
}

Deno.test("feature extractor: a tfjs graph model (InceptionV3's format) loads the same way", async () => {
  const dir = await Deno.makeTempDir({ prefix: "genlab-metrics-" });
  try {
    const w1 = Float32Array.from({ length: 320 }, (_, i) => Math.sin(i));
    const w2 = Float32Array.from({ length: 15 }, (_, i) => Math.cos(i));
    await writeTinyGraphModel(dir, w1, w2);
    const extractor = await loadFeatureExtractor({
      path: dir, // a directory means <dir>/model.json
      featureNode: "features",
      probsNode: "probs",
      inputRange: "[0,1]",
    });
    assert.equal(extractor.featureDim, 5);
    assert.equal(extractor.numClasses, 3);
    const images = randomImages(4, 5);
    const got = await extractor.extract(images);
    const [wantF, wantP] = tf.tidy(() => {
      const x = tf.image.resizeBilinear(images.add(1).div(2) as tf.Tensor4D, [8, 8]).reshape([
        4,
        64,
      ]);
      const f = tf.relu(x.matMul(tf.tensor2d(w1, [64, 5])));
      return [f, tf.softmax(f.matMul(tf.tensor2d(w2, [5, 3])))];
    });
    const wf = wantF.dataSync();
    const wp = wantP.dataSync();
    got.features.forEach((v, i) => assert.ok(Math.abs(v - wf[i]) < 1e-5));
    got.probs!.forEach((v, i) => assert.ok(Math.abs(v - wp[i]) < 1e-5));
    tf.dispose([images, wantF, wantP]);
    extractor.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("metric objects: batched update = one-shot, reset works, no tensor leaks", async () => {
  const model = tinyModel(5);
  const extractor = featureExtractorFromModel(model, { inputRange: "[0,1]", batchSize: 16 });
  const real = randomImages(60, 2);
  const fake = randomImages(50, 3);
  const refBatch: FeatureBatch = await extractor.extract(real);
  const refMatrix: FeatureMatrix = { n: refBatch.n, dim: refBatch.dim, data: refBatch.features };
  const fid = new ClassifierFID({
    extractor,
    reference: GaussianStats.fromRows(refBatch.features, refBatch.n, refBatch.dim),
  });
  const kid = new ClassifierKID({ extractor, reference: refMatrix, subsets: 5, subsetSize: 40 });
  const is = new ClassifierIS({ extractor, splits: 5 });
  const pr = new PrecisionRecall({ extractor, reference: refMatrix, k: 3 });
  const all = new ClassifierMetrics({
    extractor,
    reference: refBatch,
    kid: { subsets: 5, subsetSize: 40 },
    isSplits: 5,
  });
  const metrics = [fid, kid, is, pr, all];

  const run = async () => {
    for (const m of metrics) m.reset();
    for (let start = 0; start < 50; start += 20) {
      const batch = fake.slice([start, 0, 0, 0], [Math.min(20, 50 - start), -1, -1, -1]);
      for (const m of metrics) await m.update(batch);
      batch.dispose();
    }
    const results: unknown[] = [];
    for (const m of metrics) results.push(await m.result());
    return results;
  };
  const first = await run(); // warm-up (backend caches, kernel registrations)
  const before = tf.memory().numTensors;
  const second = await run();
  assert.equal(tf.memory().numTensors, before, "metrics leak tensors");
  assert.deepEqual(first, second, "reset() must clear the state");

  const oneShot = await extractor.extract(fake);
  const fid2 = new ClassifierFID({
    reference: GaussianStats.fromRows(refBatch.features, refBatch.n, refBatch.dim),
  });
  fid2.updateFeatures(oneShot);
  assertRel(fid2.result(), first[0] as number, 1e-9, "batched FID");
  const scores = first[4] as ClassifierScores;
  assertRel(scores.classifier_fid, first[0] as number, 1e-9, "composite FID");
  assert.equal(scores.classifier_kid_mean, (first[1] as { mean: number }).mean);
  assert.equal(scores.classifier_is_mean, (first[2] as { mean: number }).mean);
  assert.equal(scores.precision, (first[3] as { precision: number }).precision);
  tf.dispose([real, fake]);
  extractor.dispose();
});

Deno.test("evaluateSamples: real images beat noise; keys are 'classifier_*'", async () => {
  const { loadImageDataset, scalePixels } = await import("../lib/data/mod.ts");
  const test = await loadImageDataset("mnist", "test");
  const extractor = featureExtractorFromModel(tinyModel(7), { inputRange: "[0,1]" });
  const options = {
    n: 200,
    dataset: "mnist",
    extractor,
    batchSize: 64,
    kid: { subsets: 10, subsetSize: 100 },
  };
  const noise = await evaluateSamples({ ...options, sample: (n) => randomImages(n, n) });
  let cursor = 0;
  const real = await evaluateSamples({
    ...options,
    sample: (n) => {
      const x = scalePixels(
        test.images.subarray(cursor * 784, (cursor + n) * 784),
        [n, 28, 28, 1],
        "[-1,1]",
      );
      cursor += n;
      return x;
    },
  });
  for (
    const key of [
      "classifier_fid",
      "classifier_kid_mean",
      "classifier_kid_std",
      "classifier_is_mean",
      "classifier_is_std",
      "precision",
      "recall",
      "density",
      "coverage",
    ] as const
  ) {
    assert.ok(Number.isFinite(noise[key]) && Number.isFinite(real[key]), key);
  }
  assert.ok(
    real.classifier_fid < noise.classifier_fid / 10,
    `${real.classifier_fid} vs ${noise.classifier_fid}`,
  );
  assert.ok(real.classifier_kid_mean < noise.classifier_kid_mean);
  assert.equal(real.precision, 1, "test images lie inside the test manifold");
  assert.equal(noise.n, 200);
  assert.equal(noise.n_reference, 1000);
  assert.equal(noise.reference, "mnist test split");
  assert.equal(noise.kid_subset_size, 100);
  assert.ok(!JSON.stringify(noise).toLowerCase().includes("inception"));
  extractor.dispose();
});

Deno.test({
  name: "committed feature classifiers load and classify test images",
  ignore: !["mnist", "fashion-mnist"].every((d) => {
    try {
      Deno.statSync(defaultFeatureModelPath(d));
      return true;
    } catch {
      return false;
    }
  }),
  fn: async () => {
    const { loadImageDataset, scalePixels } = await import("../lib/data/mod.ts");
    for (const dataset of ["mnist", "fashion-mnist"]) {
      const extractor = await loadFeatureExtractor({ dataset });
      assert.equal(extractor.featureDim, 128);
      assert.equal(extractor.numClasses, 10);
      const test = await loadImageDataset(dataset, "test");
      const n = 200;
      const x = scalePixels(test.images.subarray(0, n * 784), [n, 28, 28, 1], "[-1,1]");
      const out = await extractor.extract(x);
      x.dispose();
      let correct = 0;
      for (let i = 0; i < n; i++) {
        const row = out.probs!.subarray(i * 10, i * 10 + 10);
        if (row.indexOf(Math.max(...row)) === test.labels[i]) correct++;
      }
      assert.ok(correct / n > 0.85, `${dataset}: ${correct}/${n} correct`);
      extractor.dispose();
    }
  },
});

Deno.test("feature classifier: identity affine warp = plain batch; shapes and labels", () => {
  const rng = new Rng(3);
  const images = Uint8Array.from({ length: 4 * 28 * 28 }, () => rng.int(256));
  const dataset = {
    name: "synthetic",
    split: "train",
    images,
    labels: Uint8Array.of(3, 1, 4, 1),
    count: 4,
    height: 28,
    width: 28,
    channels: 1,
    numClasses: 10,
    classNames: [],
    provenance: "test",
  };
  const plain = makeBatch(dataset, [2, 0], 0, null);
  const warped = makeAffineBatch(dataset, [2, 0], { rotate: 0, scale: 0, shift: 0 }, new Rng(1));
  assert.deepEqual(warped.x.dataSync(), plain.x.dataSync());
  assert.deepEqual(Array.from(warped.y.argMax(-1).dataSync()), [4, 3]);
  const model = buildFeatureClassifier({ seed: 1 });
  assert.ok(model.countParams() < 200_000, "a few hundred KB of float32 weights");
  assert.deepEqual(model.getLayer("features").outputShape, [null, 128]);
  tf.dispose([plain.x, plain.y, warped.x, warped.y]);
  model.dispose();
});

Deno.test("likelihood: uniform model on 8-bit data is exactly 8 bits/dim", () => {
  const D = 784;
  // Uniform density on [0,1]^D: −log p = 0. On [-1,1]^D: −log p = D log 2.
  assert.ok(Math.abs(bitsPerDimFromContinuous(0, D, "[0,1]") - 8) < 1e-12);
  assert.ok(Math.abs(bitsPerDimFromContinuous(D * Math.log(2), D, "[-1,1]") - 8) < 1e-12);
  assert.ok(Math.abs(bitsPerDimFromContinuous(D * Math.log(256), D, "[0,255]") - 8) < 1e-12);
  // A discrete uniform over 256 values: −log P = D log 256 → 8 bits/dim, no Jacobian.
  assert.ok(Math.abs(bitsPerDim(D * Math.log(256), D) - 8) < 1e-12);
});

Deno.test("likelihood: dequantization stays inside each pixel's bin", () => {
  const bytes = tf.tensor1d([0, 1, 128, 255]);
  const x = dequantize(bytes, 1, "[-1,1]").dataSync();
  [0, 1, 128, 255].forEach((k, i) => {
    assert.ok(x[i] >= -1 + 2 * k / 256 && x[i] < -1 + 2 * (k + 1) / 256);
  });
  bytes.dispose();
});

Deno.test("likelihood: discretized logistic probabilities over 256 values sum to 1", () => {
  const values = tf.tidy(() => {
    const x = tf.range(0, 256).div(127.5).sub(1);
    return tf.exp(discretizedLogisticLogProb(x, tf.scalar(0.1), tf.scalar(Math.log(0.2)))).sum();
  });
  assert.ok(Math.abs(values.dataSync()[0] - 1) < 1e-4);
  values.dispose();
});

Deno.test("likelihood: Bernoulli with zero logits costs exactly 1 bit/dim", () => {
  const nll = tf.tidy(() => {
    const x = tf.tensor2d([[0, 1, 1, 0], [1, 1, 1, 1]]);
    return sumPerExample(bernoulliNll(x, tf.zerosLike(x)));
  });
  for (const v of nll.dataSync()) assert.ok(Math.abs(bitsPerDim(v, 4) - 1) < 1e-6);
  nll.dispose();
});

Deno.test("likelihood: log-mean-exp helpers", () => {
  assert.ok(Math.abs(logSumExp([1000, 1000]) - (1000 + Math.log(2))) < 1e-9);
  assert.ok(Math.abs(logMeanExp([-1000, -1000, -1000]) + 1000) < 1e-9);
  assert.equal(logSumExp([-Infinity, -Infinity]), -Infinity);
  const acc = new LogMeanExpAccumulator(2);
  const rng = new Rng(1);
  const cols: number[][] = [[], []];
  for (let i = 0; i < 50; i++) {
    const v = [rng.normal(0, 30), rng.normal(-500, 5)];
    acc.add(v);
    cols[0].push(v[0]);
    cols[1].push(v[1]);
  }
  const r = acc.result();
  assert.ok(Math.abs(r[0] - logMeanExp(cols[0])) < 1e-9);
  assert.ok(Math.abs(r[1] - logMeanExp(cols[1])) < 1e-9);
});

Deno.test("likelihood: IWAE with the exact posterior equals log p(x) exactly; ELBO ≤ IWAE ≤ log p", () => {
  // z ~ N(0, 1), x | z ~ N(z, s²) ⇒ p(x) = N(0, 1 + s²), p(z | x) = N(x/(1+s²), s²/(1+s²)).
  const s2 = 0.5;
  const xs = [-1.3, 0.2, 2.0];
  const k = 64;
  const out = tf.tidy(() => {
    const x = tf.tensor2d([xs]).tile([k, 1]) as tf.Tensor2D; // [k, batch]
    const postMean = x.div(1 + s2);
    const postLogVar = Math.log(s2 / (1 + s2));
    const eps = tf.randomNormal([k, xs.length], 0, 1, "float32", 9);
    const z = postMean.add(eps.mul(Math.sqrt(s2 / (1 + s2))));
    const logJoint = normalLogPdf(z, 0, 0).add(normalLogPdf(x, z, Math.log(s2))) as tf.Tensor2D;
    const exact = iwaeBound(logJoint, normalLogPdf(z, postMean, postLogVar) as tf.Tensor2D);
    // A worse proposal: the prior.
    const z2 = tf.randomNormal([k, xs.length], 0, 1, "float32", 10);
    const logJoint2 = normalLogPdf(z2, 0, 0).add(normalLogPdf(x, z2, Math.log(s2))) as tf.Tensor2D;
    const w2 = logJoint2.sub(normalLogPdf(z2, 0, 0));
    const iwae = iwaeBound(logJoint2, normalLogPdf(z2, 0, 0) as tf.Tensor2D);
    return [exact, w2.mean(0), iwae];
  });
  const [exact, elbo, iwae] = out.map((t) => t.dataSync());
  xs.forEach((x, i) => {
    const logp = -0.5 * (x * x / (1 + s2) + Math.log(2 * Math.PI * (1 + s2)));
    assert.ok(Math.abs(exact[i] - logp) < 1e-5, `x=${x}: ${exact[i]} vs ${logp}`);
    assert.ok(elbo[i] <= iwae[i] + 1e-6);
  });
  tf.dispose(out);
});
