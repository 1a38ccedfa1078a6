/**
 * The explicit-density models on the shared trainer: each CLI name trains with --quick and its
 * nll() gives finite nats per image on the dataset's test split, below the trivial bound.
 * (Resume goes through the trainer's generic checkpoint path, tested in train_test.ts; the models
 * use the project's adam() (lib/nn/optimizers.ts), which keeps the step count, so β^t after a
 * resume is the same number as in an uninterrupted run.)
 */
import assert from "node:assert/strict";
import { resolveSpec, train } from "../lib/train/trainer.ts";
import { loadImageDataset } from "../lib/data/mod.ts";
import { datasetNll } from "../lib/metrics/dataset_nll.ts";
import { tempDir, useBackend } from "./helpers.ts";

// gated-pixelcnn shares AutoregressiveImageModel with pixelcnn and is left out only to keep the
// suite fast (its 784-step sample grids dominate); autoregressive_test.ts covers its steps.
// Backends: tiny per-pixel sampling steps are fastest on cpu, the flows' convolutions on wasm.
const CASES = [
  ["pixelcnn", "cpu"],
  ["pixelrnn", "cpu"],
  ["realnvp", "wasm"],
  ["nice", "wasm"],
] as const;

Deno.test("density models: --quick trains on the shared trainer; nll on the test split", async () => {
  for (const [name, backend] of CASES) {
    await useBackend(backend);
    const spec = resolveSpec(name, { quick: true, steps: 3, seed: 0, sampleCount: 2 });
    const result = await train(spec, { out: `${await tempDir(name)}/run`, progress: false });
    assert.equal(result.step, 3);
    const test = await loadImageDataset(spec.dataset, "test");
    const nll = await datasetNll(result.model, test, { maxImages: 8, batch: 8 });
    assert.ok(Number.isFinite(nll.nats) && nll.nats > 0, `${name}: ${nll.nats}`);
    // Binarized MNIST: ≤ 784 ln 2 nats is what a coin flip per pixel gives; 8-bit: ≤ 8 bits/dim + ε.
    if (spec.dataset === "mnist") assert.ok(nll.nats < 784 * Math.LN2 + 50, `${name}: ${nll.nats}`);
    else assert.ok(nll.bitsPerDim < 9, `${name}: ${nll.bitsPerDim}`);
    result.model.dispose();
  }
});
