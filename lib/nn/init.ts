/**
 * Seeded initializers: every layer gets its seed from the model's Rng, so the same --seed builds
 * the same weights on the same backend.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../util/rng.ts";

/** What tf.layers accept as kernelInitializer. */
export type Initializer = ReturnType<typeof tf.initializers.zeros>;

/** N(0, 0.02²): the DCGAN paper's initialization (Radford et al. 2016, §4). */
export function dcganNormal(rng: Rng): Initializer {
  return tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: rng.seed() });
}

export function glorotUniform(rng: Rng): Initializer {
  return tf.initializers.glorotUniform({ seed: rng.seed() });
}

export function glorotNormal(rng: Rng): Initializer {
  return tf.initializers.glorotNormal({ seed: rng.seed() });
}

export function heNormal(rng: Rng): Initializer {
  return tf.initializers.heNormal({ seed: rng.seed() });
}
