/**
 * k-means (lib/data/kmeans.ts) and the self-conditioned GAN (lib/models/gan/self_conditioned.ts):
 * Lloyd's invariants on blobs with a known answer, and the GAN's three promises — labels are never
 * read, cluster ids follow the training frequencies, and the clusters survive a checkpoint.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { kmeans, nearestCentroid } from "../lib/data/kmeans.ts";
import { SCGAN_CONFIG, SelfConditionedGan } from "../lib/models/gan/self_conditioned.ts";
import type { ImageDataset } from "../lib/data/dataset.ts";
import { loadRun, readMetrics, resolveSpec, train } from "../lib/train/trainer.ts";
import { Rng } from "../lib/util/rng.ts";
import { tempDir, useBackend } from "./helpers.ts";

/** n points around each of the given 2-D means (σ = 0.1); row i belongs to blob ⌊i / n⌋. */
function blobs(means: number[][], n: number, rng: Rng): tf.Tensor2D {
  const values: number[] = [];
  for (const [x, y] of means) {
    for (let i = 0; i < n; i++) values.push(x + 0.1 * rng.normal(), y + 0.1 * rng.normal());
  }
  return tf.tensor2d(values, [means.length * n, 2]);
}

Deno.test("kmeans: recovers separated blobs; objective never rises; a fixed point; seeded", async () => {
  await useBackend("cpu");
  const before = tf.memory().numTensors;
  const means = [[0, 0], [3, 0], [0, 3], [3, 3]];
  const points = blobs(means, 50, new Rng(5));
  const result = await kmeans(points, 4, { seed: 1 });
  // Each blob is one cluster (purity 1) and the centroid is the blob's mean (±3σ/√50).
  const centroids = await result.centroids.array();
  for (let blob = 0; blob < 4; blob++) {
    const ids = new Set(result.assignments.slice(blob * 50, (blob + 1) * 50));
    assert.equal(ids.size, 1, `blob ${blob} split over clusters ${[...ids]}`);
    const [cx, cy] = centroids[[...ids][0]];
    assert.ok(Math.hypot(cx - means[blob][0], cy - means[blob][1]) < 0.05, `${cx}, ${cy}`);
  }
  assert.deepEqual(Array.from(result.counts), [50, 50, 50, 50]);
  // Lloyd's two steps each lower (or keep) Σ‖x − c‖²; converged: the assignments are nearest.
  for (let i = 1; i < result.objective.length; i++) {
    assert.ok(result.objective[i] <= result.objective[i - 1] + 1e-9, `${result.objective}`);
  }
  const nearest = nearestCentroid(points, result.centroids);
  assert.deepEqual(Array.from(await nearest.data()), Array.from(result.assignments));
  // Same seed → same clusters.
  const again = await kmeans(points, 4, { seed: 1 });
  assert.deepEqual(again.assignments, result.assignments);
  tf.dispose([points, nearest, result.centroids, again.centroids]);
  assert.equal(tf.memory().numTensors, before);
});

/** A two-cluster image set: dark and bright 8×8 squares, with labels that mean nothing. */
function twoClusterImages(count: number, labels: (i: number) => number): ImageDataset {
  const images = new Uint8Array(count * 64);
  for (let i = 0; i < count; i++) images.fill(i % 4 === 0 ? 230 : 20, i * 64, (i + 1) * 64);
  return {
    name: "squares",
    split: "train",
    images,
    labels: Uint8Array.from({ length: count }, (_, i) => labels(i)),
    count,
    height: 8,
    width: 8,
    channels: 1,
    numClasses: 10,
    classNames: [],
    provenance: "test",
  };
}

Deno.test("scgan: clusters ∝ the data, no labels read, flat tensor count", async () => {
  await useBackend("cpu");
  const data = { range: "[-1,1]" as const, height: 8, width: 8, channels: 1 };
  const config = SCGAN_CONFIG.parse({
    generatorFilters: 4,
    discriminatorFilters: 4,
    latentDim: 4,
    clusters: 2,
  });
  const run = async (dataset: ImageDataset) => {
    const model = new SelfConditionedGan(config, data, 0);
    await model.fit(dataset);
    const prior = Array.from(await model.clusterPrior.data());
    const batchRows = [0, 1, 2, 3, 4, 5, 6, 7];
    const x = tf.tidy(() =>
      tf.tensor4d(
        Float32Array.from(
          batchRows.flatMap((r) => Array.from(dataset.images.subarray(r * 64, (r + 1) * 64))),
          (v) => v / 127.5 - 1,
        ),
        [8, 8, 8, 1],
      )
    );
    const labels = tf.tensor1d(batchRows.map((r) => dataset.labels[r]), "int32");
    const rows = [];
    for (let step = 1; step <= 3; step++) rows.push(await model.trainStep({ x, labels }, step));
    const drawn = await model.drawClusters(20_000, 3);
    tf.dispose([x, labels]);
    model.dispose();
    return { prior, rows, drawn };
  };
  const before = tf.memory().numTensors;
  const a = await run(twoClusterImages(40, (i) => i % 10));
  const b = await run(twoClusterImages(40, () => 7));
  // Bright squares are 1 in 4: the prior is {¼, ¾} in some order.
  assert.deepEqual([...a.prior].sort(), [0.25, 0.75]);
  // The data's labels play no part: two label sets give identical steps.
  assert.deepEqual(b.rows, a.rows);
  // Sampling draws cluster ids from that prior (20,000 draws: σ of a share ≈ 0.003).
  const share = a.drawn.filter((k) => k === 0).length / a.drawn.length;
  assert.ok(Math.abs(share - a.prior[0]) < 0.015, `share ${share} vs prior ${a.prior[0]}`);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("scgan: the clusters are checkpointed — stop + resume = one run; loadRun samples", async () => {
  await useBackend("wasm");
  const spec = (steps: number) =>
    resolveSpec("scgan", {
      dataset: "mnist",
      steps,
      batch: 4,
      seed: 2,
      modelConfig: { generatorFilters: 4, discriminatorFilters: 4, latentDim: 8, clusters: 3 },
      sampleCount: 4,
    });
  const straight = await train(spec(6), { out: `${await tempDir("scgan")}/run`, progress: false });
  const centroids = Array.from(
    await (straight.model as SelfConditionedGan).centroids.data(),
  );
  straight.model.dispose();
  const dir = `${await tempDir("scgan-resume")}/run`;
  (await train(spec(6), { out: dir, progress: false, stopAfter: 3 })).model.dispose();
  (await train({ resume: dir }, { progress: false })).model.dispose();
  const rows = await readMetrics(`${dir}/metrics.jsonl`);
  const strip = (r: Record<string, number>) => [r.d_loss, r.g_loss];
  assert.deepEqual(rows.map(strip), straight.losses.map(strip));
  const loaded = (await loadRun(dir)).model as SelfConditionedGan;
  assert.deepEqual(Array.from(await loaded.centroids.data()), centroids);
  const images = await loaded.sample(5, { seed: 1 });
  assert.deepEqual(images.shape, [5, 28, 28, 1]);
  images.dispose();
  loaded.dispose();
});
