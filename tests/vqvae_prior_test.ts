/**
 * The VQ-VAE's PixelCNN prior over code grids (prior = pixelcnn): the second training stage
 * freezes the autoencoder and fits the prior by maximum likelihood; samples decode prior codes;
 * the prior and its optimizer are checkpointed so resume is exact.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  AutoregressiveCodePrior,
  IndependentCodePrior,
  Vqvae,
  VQVAE_DEFAULTS,
} from "../lib/models/vae/vqvae.ts";
import { resolveSpec, train } from "../lib/train/trainer.ts";
import { readMetrics } from "../lib/train/run_dir.ts";
import { tempDir, useBackend } from "./helpers.ts";

const SHAPE = { height: 28, width: 28, channels: 1 };

function tinyVqvae(autoencoderSteps: number) {
  return new Vqvae(
    {
      ...VQVAE_DEFAULTS,
      numCodes: 5,
      codeDim: 2,
      filters: 4,
      prior: "pixelcnn",
      autoencoderSteps,
      priorFilters: 8,
      priorLayers: 2,
      priorLearningRate: 1e-2,
    },
    SHAPE,
    3,
  );
}

Deno.test("VQ-VAE prior: frozen autoencoder, prior_nll = −log p(codes), NLL falls, codes in [0, K), no leaks", async () => {
  await useBackend("cpu");
  const vq = tinyVqvae(1);
  const K = vq.config.numCodes;
  const x = tf.randomUniform([4, 28, 28, 1], -1, 1, "float32", 8) as tf.Tensor4D;
  const first = await vq.trainStep({ x }, 1); // stage 1: the autoencoder
  assert.ok("recon_mse" in first && !("prior_nll" in first));
  assert.equal(vq.priorSteps, 0);
  assert.ok(vq.codePrior() instanceof IndependentCodePrior, "no prior step yet: independent");
  const frozen = [...vq.encoder.getWeights(), ...vq.decoder.getWeights(), vq.codebook]
    .map((w) => Array.from(w.dataSync()));
  // The prior's training data: the code grids of the (fixed) batch under the frozen encoder.
  const codes = vq.encodeToCodes(x);
  const grid = codes.reshape([4, 7, 7, 1]) as tf.Tensor4D;
  const tensors = tf.memory().numTensors;
  const meanNll = () => tf.tidy(() => vq.prior!.nll(grid).mean().dataSync()[0]);
  const before = meanNll();
  const reported: number[] = [];
  const expected: number[] = [];
  for (let step = 2; step <= 16; step++) {
    expected.push(meanNll());
    const losses = await vq.trainStep({ x }, step); // stage 2: the prior
    reported.push(losses.prior_nll);
    assert.ok(Math.abs(losses.prior_nll - 49 * losses.prior_nll_per_code) < 1e-3);
  }
  // The logged loss is the batch's mean −log p(grid) in nats (before the update).
  reported.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-3, `${v} vs ${expected[i]}`));
  const after = meanNll();
  assert.ok(after < before - 5, `NLL per grid ${before.toFixed(2)} → ${after.toFixed(2)}`);
  // The autoencoder and codebook did not move in stage 2.
  [...vq.encoder.getWeights(), ...vq.decoder.getWeights(), vq.codebook].forEach((w, i) =>
    assert.deepEqual(Array.from(w.dataSync()), frozen[i], `weight ${i} changed in stage 2`)
  );
  assert.equal(tf.memory().numTensors, tensors, "prior steps allocate no lasting tensors");
  // Sampling now goes through the trained PixelCNN: int32 codes in [0, K), then decoded images.
  assert.equal(vq.priorSteps, 15);
  const prior = vq.codePrior();
  assert.ok(prior instanceof AutoregressiveCodePrior);
  const sampled = await prior.sample(6, vq.grid, 1);
  assert.deepEqual(sampled.shape, [6, 7, 7]);
  assert.equal(sampled.dtype, "int32");
  assert.ok(Array.from(sampled.dataSync()).every((k) => Number.isInteger(k) && k >= 0 && k < K));
  // Same seed, same codes.
  const again = await prior.sample(6, vq.grid, 1);
  assert.deepEqual(Array.from(again.dataSync()), Array.from(sampled.dataSync()));
  const images = await vq.sample(3, { seed: 2 });
  assert.deepEqual(images.shape, [3, 28, 28, 1]);
  tf.dispose([sampled, again, images]);
  assert.equal(tf.memory().numTensors, tensors, "sampling leaks no tensors");
  tf.dispose([x, codes, grid]);
  vq.dispose();
});

Deno.test("vqvae --quick (prior = pixelcnn): two stages through the trainer; stop in stage 2 + resume = uninterrupted run", async () => {
  await useBackend("cpu");
  const spec = resolveSpec("vqvae", { quick: true, steps: 18, sampleCount: 8 });
  assert.equal(spec.modelConfig.prior, "pixelcnn");
  const straight = await train(spec, {
    out: `${await tempDir("vq-straight")}/run`,
    progress: false,
  });
  const straightPrior = (straight.model as Vqvae).prior!.network.variables.map((v) =>
    Array.from(v.dataSync())
  );
  straight.model.dispose();
  const rows = straight.losses;
  const stage = spec.modelConfig.autoencoderSteps as number;
  assert.ok(rows.slice(0, stage).every((r) => "recon_mse" in r && !("prior_nll" in r)));
  assert.ok(rows.slice(stage).every((r) => r.prior_nll > 0 && !("recon_mse" in r)));

  const dir = `${await tempDir("vq-resume")}/run`;
  const first = await train(spec, { out: dir, progress: false, stopAfter: stage + 2 });
  first.model.dispose();
  const resumed = await train({ resume: dir }, { progress: false });
  const vq = resumed.model as Vqvae;
  assert.equal(vq.priorSteps, 18 - stage, "the prior optimizer's step count was restored");
  vq.prior!.network.variables.forEach((v, i) =>
    assert.deepEqual(Array.from(v.dataSync()), straightPrior[i], `prior weight ${i}`)
  );
  resumed.model.dispose();
  const strip = (r: Record<string, number>) => {
    const { time: _time, ...rest } = r;
    return rest;
  };
  assert.deepEqual((await readMetrics(`${dir}/metrics.jsonl`)).map(strip), rows.map(strip));
  for (const name of ["final", "reconstructions", "independent-codes"]) {
    assert.ok((await Deno.stat(`${dir}/samples/${name}.png`)).size > 100, name);
  }
});
