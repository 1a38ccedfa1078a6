import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  BatchIterator,
  loadFashionMnist,
  loadImageDataset,
  loadMnist,
  MissingDataError,
  parseIdx,
  sampleToy2d,
  scalePixels,
  TOY2D_NAMES,
} from "../lib/data/mod.ts";
import { Rng } from "../lib/util/rng.ts";
import { useBackend } from "./helpers.ts";

Deno.test("idx: parses a hand-made file and rejects truncation", () => {
  // magic 0x00000803 (uint8, 3 dims), dims 2×2×3, then 12 bytes
  const bytes = new Uint8Array([
    0,
    0,
    8,
    3,
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    3,
    ...Array.from({ length: 12 }, (_, i) => i),
  ]);
  const parsed = parseIdx(bytes);
  assert.deepEqual(parsed.shape, [2, 2, 3]);
  assert.equal(parsed.data[11], 11);
  assert.throws(() => parseIdx(bytes.subarray(0, bytes.length - 1)), /truncated/);
});

Deno.test("fashion-mnist: official 60k/10k split, labels 0..9 balanced", async () => {
  const train = await loadFashionMnist("train");
  const test = await loadFashionMnist("test");
  assert.equal(train.count, 60000);
  assert.equal(test.count, 10000);
  assert.equal(train.images.length, 60000 * 784);
  const counts = new Array(10).fill(0);
  for (const l of test.labels) counts[l]++;
  assert.deepEqual(counts, new Array(10).fill(1000)); // the official test set has 1000 per class
});

Deno.test("fashion-mnist: missing files → error naming the apt package", async () => {
  await assert.rejects(() => loadFashionMnist("train", "/nonexistent"), (error: unknown) => {
    assert.ok(error instanceof MissingDataError);
    assert.match((error as Error).message, /apt-get install dataset-fashion-mnist/);
    return true;
  });
});

Deno.test("mnist: 9k/1k stratified split, disjoint, deterministic", async () => {
  const train = await loadMnist("train");
  const test = await loadMnist("test");
  assert.equal(train.count, 9000);
  assert.equal(test.count, 1000);
  const counts = new Array(10).fill(0);
  for (const l of test.labels) counts[l]++;
  assert.deepEqual(counts, new Array(10).fill(100));
  // Disjoint: no test image equals a train image byte-for-byte (hash the rows).
  const hash = (d: Uint8Array, i: number) => {
    let h = 2166136261;
    for (let k = i * 784; k < (i + 1) * 784; k++) h = Math.imul(h ^ d[k], 16777619);
    return h >>> 0;
  };
  const trainHashes = new Set(Array.from({ length: train.count }, (_, i) => hash(train.images, i)));
  let overlaps = 0;
  for (let i = 0; i < test.count; i++) if (trainHashes.has(hash(test.images, i))) overlaps++;
  assert.equal(overlaps, 0);
  const again = await loadImageDataset("mnist", "test");
  assert.deepEqual(again.labels, test.labels);
});

Deno.test("transforms: [-1,1], [0,1] and binarized scalings are exact", async () => {
  await useBackend("cpu");
  const pixels = new Uint8Array([0, 127, 128, 255]);
  const shape: [number, number, number, number] = [1, 2, 2, 1];
  const a = scalePixels(pixels, shape, "[-1,1]");
  assert.deepEqual(
    Array.from(a.dataSync()),
    [-1, 127 / 127.5 - 1, 128 / 127.5 - 1, 1].map(Math.fround),
  );
  const b = scalePixels(pixels, shape, "[0,1]");
  assert.deepEqual(Array.from(b.dataSync()), [0, 127 / 255, 128 / 255, 1].map(Math.fround));
  const c = scalePixels(pixels, shape, "binary");
  assert.deepEqual(Array.from(c.dataSync()), [0, 0, 1, 1]);
  tf.dispose([a, b, c]);
});

Deno.test("iterator: seeded, each epoch is a permutation, state restores exactly", async () => {
  await useBackend("cpu");
  const data = await loadMnist("test");
  const a = new BatchIterator(data, 100, "[0,1]", 5);
  // One epoch = 10 batches of 100 = the whole 1k split once: every class exactly 100 times.
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 10; i++) {
    const batch = a.next();
    for (const l of batch.labels!.dataSync()) counts[l]++;
    tf.dispose([batch.x, batch.labels!]);
  }
  assert.deepEqual(counts, new Array(10).fill(100));
  const state = a.state();
  const nextA = a.next();
  const b = new BatchIterator(data, 100, "[0,1]", 999);
  b.restore(state);
  const nextB = b.next();
  assert.deepEqual(nextA.x.dataSync(), nextB.x.dataSync());
  assert.equal(a.epoch, 1);
  tf.dispose([nextA.x, nextA.labels!, nextB.x, nextB.labels!]);
});

Deno.test("toy2d: 8 gaussians sit on a radius-2 ring, 25 gaussians on the integer grid", () => {
  const rng = new Rng(0);
  const ring = sampleToy2d("8gaussians", 2000, rng);
  for (let i = 0; i < 2000; i++) {
    const r = Math.hypot(ring[2 * i], ring[2 * i + 1]);
    assert.ok(Math.abs(r - 2) < 0.15, `radius ${r}`);
  }
  const grid = sampleToy2d("25gaussians", 2000, rng);
  for (let i = 0; i < 4000; i++) assert.ok(Math.abs(grid[i] - Math.round(grid[i])) < 0.3);
  for (const name of TOY2D_NAMES) assert.equal(sampleToy2d(name, 10, rng).length, 20);
});
