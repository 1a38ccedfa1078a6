/**
 * Pieces shared by the GAN family (gan, cgan, acgan, wgan, wgan-gp): one optimizer step that
 * also reads back named statistics (D(x), D(G(z)), …), the trainable variables of a tf.layers
 * model, the MLP used on 2-D points and by the vanilla GAN, and label conditioning.
 */
import * as tf from "@tensorflow/tfjs";
import { int, number } from "../config.ts";
import { learningRateAt, setLearningRate } from "../../train/lr_schedule.ts";
import type { DataSpec, EmaSpec } from "../types.ts";

/** Toy 2-D datasets arrive as [N, 1, 1, 2] "images" (lib/data/toy2d.ts). */
export function isPointData(data: Pick<DataSpec, "height" | "width" | "channels">): boolean {
  return data.height === 1 && data.width === 1 && data.channels === 2;
}

export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** minimize `objective` over `variables` with `optimizer`; return the loss and every statistic the
 * objective reported (scalars it computed on the way, e.g. mean D(x)), as plain numbers. */
export async function optimizeStep(
  optimizer: tf.Optimizer,
  variables: tf.Variable[],
  objective: () => { loss: tf.Scalar; stats?: Record<string, tf.Scalar> },
): Promise<Record<string, number>> {
  const kept: Record<string, tf.Scalar> = {};
  const loss = tf.tidy(() =>
    optimizer.minimize(
      () => {
        const { loss, stats } = objective();
        for (const [key, value] of Object.entries(stats ?? {})) kept[key] = tf.keep(value);
        return loss;
      },
      true,
      variables,
    )!
  );
  const names = ["loss", ...Object.keys(kept)];
  const tensors = [loss, ...Object.values(kept)];
  const values = await Promise.all(tensors.map((t) => t.data()));
  tensors.forEach((t) => t.dispose());
  return Object.fromEntries(names.map((name, i) => [name, values[i][0]]));
}

/** Mean of σ(logits): the average probability D assigns to "real". */
export function meanProbability(logits: tf.Tensor): tf.Scalar {
  return tf.mean(tf.sigmoid(logits));
}

/** MLP G and D (Goodfellow et al. 2014): the one builder in lib/nn/mlp.ts. */
export { buildMlp } from "../../nn/mlp.ts";

/** One-hot labels [N, K] from int labels. */
export function oneHotLabels(labels: tf.Tensor1D, numClasses: number): tf.Tensor2D {
  return tf.tidy(() => tf.oneHot(tf.cast(labels, "int32"), numClasses).cast("float32"));
}

/** Condition an image batch on its labels (Mirza & Osindero 2014): append K constant channels,
 * channel k = 1 where the label is k. [N,H,W,C] ⊕ [N,K] → [N,H,W,C+K]. */
export function appendLabelMaps(images: tf.Tensor4D, oneHot: tf.Tensor2D): tf.Tensor4D {
  const [n, h, w] = images.shape;
  const k = oneHot.shape[1];
  const maps = tf.mul(tf.reshape(oneHot, [n, 1, 1, k]), tf.ones([1, h, w, 1]));
  return tf.concat([images, maps], 3) as tf.Tensor4D;
}

/** Labels for n samples: the requested ones, or a balanced cycle 0,1,…,K−1,0,1,… */
export function sampleLabels(n: number, numClasses: number, requested?: number[]): number[] {
  if (requested) {
    if (requested.length !== n) {
      throw new Error(`sample: got ${requested.length} labels for ${n} samples`);
    }
    return requested;
  }
  return Array.from({ length: n }, (_, i) => i % numClasses);
}

/** Two options every GAN of the family shares: a linear learning-rate decay and an EMA of G. */
export const TRAINING_EXTRAS = {
  decaySteps: int(
    0,
    { min: 0, max: 1e8 },
    "linear decay of both learning rates to 0 over this many trainer steps, lr·(1 − (t−1)/T) " +
      "(WGAN-GP's released code decays over its run); 0 = constant",
  ),
  generatorEma: number(
    0,
    { min: 0, lt: 1 },
    "decay of an EMA of G's weights used for samples and eval (0 = off; e.g. 0.999)",
  ),
};

/** Set the learning rate of every optimizer for trainer step `step` (1-based) from the base rate:
 * untouched when `decaySteps` is 0, else linear to 0 at step decaySteps + 1 (lib/train/
 * lr_schedule.ts, from step − 1 so step 1 runs at the full rate). */
export function applyLinearDecay(
  optimizers: tf.Optimizer[],
  learningRate: number,
  step: number,
  decaySteps: number,
): void {
  if (decaySteps <= 0) return;
  setLearningRate(
    optimizers,
    learningRateAt({ base: learningRate, decay: "linear", decaySteps }, step - 1),
  );
}

/** The trainer's EMA request for all of G's weights (batch-norm statistics included), or
 * undefined when `decay` is 0. Averaged generators give better samples than the last iterate of
 * an oscillating game (Yazıcı et al. 2019); DCGAN's `generatorEma` is the same option. */
export function generatorEmaSpec(
  generator: tf.LayersModel,
  decay: number,
): (() => EmaSpec) | undefined {
  if (decay <= 0) return undefined;
  return () => ({
    variables: generator.weights.map((w) => w.read() as tf.Variable),
    decay,
    warmup: 10,
  });
}
