/**
 * The one multilayer perceptron builder: GANs' MLP G and D (Goodfellow et al. 2014) and the
 * autoencoder family's MLP encoders/decoders use it. Every layer's initializer is seeded from the
 * model's Rng (lib/nn/init.ts), so the same --seed builds the same weights.
 *
 *   input → [dense(hidden) → activation] × hiddenLayers → dense(output) → outputActivation
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../util/rng.ts";
import { glorotNormal, glorotUniform, heNormal } from "./init.ts";

export interface MlpOptions {
  name: string;
  inputDim: number;
  hiddenUnits: number;
  hiddenLayers: number;
  outputUnits: number;
  /** Hidden activation (default relu; GAN discriminators use leakyRelu, slope 0.2). */
  activation?: "relu" | "leakyRelu";
  /** Output activation (default linear: logits, means, log-variances). */
  outputActivation?: "linear" | "sigmoid" | "tanh";
  /** "glorot": Glorot-uniform everywhere (the GANs); "he": He-normal hidden layers and a
   * Glorot-normal output layer (ReLU networks: the autoencoder family). */
  init?: "glorot" | "he";
  rng: Rng;
}

export function buildMlp(options: MlpOptions): tf.Sequential {
  const he = options.init === "he";
  const layers: tf.layers.Layer[] = [];
  for (let i = 0; i < options.hiddenLayers; i++) {
    layers.push(tf.layers.dense({
      ...(i === 0 ? { inputShape: [options.inputDim] } : {}),
      units: options.hiddenUnits,
      kernelInitializer: he ? heNormal(options.rng) : glorotUniform(options.rng),
    }));
    layers.push(
      options.activation === "leakyRelu" ? tf.layers.leakyReLU({ alpha: 0.2 }) : tf.layers.reLU(),
    );
  }
  layers.push(tf.layers.dense({
    ...(options.hiddenLayers === 0 ? { inputShape: [options.inputDim] } : {}),
    units: options.outputUnits,
    activation: options.outputActivation ?? "linear",
    kernelInitializer: he ? glorotNormal(options.rng) : glorotUniform(options.rng),
  }));
  return tf.sequential({ name: options.name, layers });
}
