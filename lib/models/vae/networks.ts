/**
 * Encoders and decoders of the autoencoder family, as standalone tf.layers models so other
 * models can reuse them (latent diffusion trains on a frozen VAE / VQ-VAE latent space):
 *
 *   MLP   (AE, DAE, VAE, CVAE): flat vector [D (+ classes)] → hidden ReLU layers → outputs.
 *   Conv  (VQ-VAE):             28×28×C → two stride-2 convs → h×w×D feature grid, and back.
 *
 * Conditioning (CVAE) is by concatenating a one-hot label to the input vector, for both the
 * encoder q(z|x,y) and the decoder p(x|z,y) (Sohn et al. 2015, §4.1).
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../util/rng.ts";
import { glorotUniform, heNormal } from "../../nn/init.ts";

/** MLP encoders/decoders: the one builder in lib/nn/mlp.ts (with `init: "he"`). */
export { buildMlp, type MlpOptions } from "../../nn/mlp.ts";

/** A Gaussian encoder q(z | x[, y]): one MLP whose 2d outputs are split into (μ, log σ²). */
export function gaussianEncode(
  encoder: tf.LayersModel,
  input: tf.Tensor2D,
): { mean: tf.Tensor2D; logVar: tf.Tensor2D } {
  return tf.tidy(() => {
    const out = encoder.apply(input) as tf.Tensor2D;
    const d = out.shape[1] / 2;
    const [mean, logVar] = tf.split(out, [d, d], 1) as [tf.Tensor2D, tf.Tensor2D];
    // Keep σ² in [e^-12, e^8]: an unbounded log-variance lets one bad batch send the KL to ∞.
    return { mean, logVar: logVar.clipByValue(-12, 8) as tf.Tensor2D };
  });
}

/** Flatten NHWC images to [N, H·W·C] and append a one-hot label when given. */
export function flatInput(x: tf.Tensor4D, oneHot?: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const flat = x.reshape([x.shape[0], -1]) as tf.Tensor2D;
    return oneHot ? tf.concat([flat, oneHot], 1) : flat;
  });
}

/** Append a one-hot label to latent codes (the CVAE decoder's input). */
export function withCondition(z: tf.Tensor2D, oneHot?: tf.Tensor2D): tf.Tensor2D {
  return oneHot ? tf.tidy(() => tf.concat([z, oneHot], 1)) : z;
}

// ---------------------------------------------------------------------------------------------
// convolutional encoder/decoder (VQ-VAE; van den Oord et al. 2017, §4: two stride-2 convs down,
// two transposed convs up)

export interface ConvCoderOptions {
  height: number;
  width: number;
  channels: number;
  /** Channels of the hidden conv layers. */
  filters: number;
  /** Channels of the latent grid (the codebook vectors' dimension for VQ-VAE). */
  latentChannels: number;
  /** Seeds every layer's initializer (same --seed, same weights). */
  rng: Rng;
}

/** x [H, W, C] → conv4×4/2(f) → ReLU → conv4×4/2(2f) → ReLU → conv3×3(2f) → ReLU → conv1×1(D):
 * an (H/4)×(W/4)×D grid. */
export function buildConvEncoder(o: ConvCoderOptions, name = "encoder"): tf.Sequential {
  return tf.sequential({
    name,
    layers: [
      tf.layers.conv2d({
        inputShape: [o.height, o.width, o.channels],
        filters: o.filters,
        kernelSize: 4,
        strides: 2,
        padding: "same",
        activation: "relu",
        kernelInitializer: heNormal(o.rng),
      }),
      tf.layers.conv2d({
        filters: 2 * o.filters,
        kernelSize: 4,
        strides: 2,
        padding: "same",
        activation: "relu",
        kernelInitializer: heNormal(o.rng),
      }),
      tf.layers.conv2d({
        filters: 2 * o.filters,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
        kernelInitializer: heNormal(o.rng),
      }),
      tf.layers.conv2d({
        filters: o.latentChannels,
        kernelSize: 1,
        padding: "same",
        kernelInitializer: glorotUniform(o.rng),
      }),
    ],
  });
}

/** (H/4)×(W/4)×D → conv3×3(2f) → ReLU → convT4×4/2(f) → ReLU → convT4×4/2(C): H×W×C outputs
 * (linear: the caller applies its own output nonlinearity / likelihood). */
export function buildConvDecoder(o: ConvCoderOptions, name = "decoder"): tf.Sequential {
  return tf.sequential({
    name,
    layers: [
      tf.layers.conv2d({
        inputShape: [o.height / 4, o.width / 4, o.latentChannels],
        filters: 2 * o.filters,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
        kernelInitializer: heNormal(o.rng),
      }),
      tf.layers.conv2dTranspose({
        filters: o.filters,
        kernelSize: 4,
        strides: 2,
        padding: "same",
        activation: "relu",
        kernelInitializer: heNormal(o.rng),
      }),
      tf.layers.conv2dTranspose({
        filters: o.channels,
        kernelSize: 4,
        strides: 2,
        padding: "same",
        kernelInitializer: glorotUniform(o.rng),
      }),
    ],
  });
}
