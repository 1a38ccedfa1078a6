/**
 * What the network predicts, and exact conversions between the three usual targets.
 *
 * With x_t = a·x_0 + s·ε, a = √ᾱ_t, s = √(1 − ᾱ_t) (a² + s² = 1):
 *   ε-prediction  (Ho et al. 2020, eq. 14):          ε
 *   x₀-prediction (the "denoiser" D of Karras et al.): x_0
 *   v-prediction  (Salimans & Ho 2022, §4, eq. 8):   v = a·ε − s·x_0
 * and, solving the 2×2 linear system with a² + s² = 1,
 *   from ε:   x_0 = (x_t − s·ε)/a
 *   from x_0: ε = (x_t − a·x_0)/s
 *   from v:   x_0 = a·x_t − s·v,   ε = s·x_t + a·v.
 * From ε, x_0 divides by a (undefined at zero terminal SNR, a = 0); from x_0, ε divides by s
 * (undefined at s = 0, which no timestep has). v converts to both without division — why Lin et
 * al. 2024 pair zero terminal SNR with v-prediction.
 *
 * Min-SNR-γ loss weights (Hang et al. 2023, eq. 8 and §3.4): the x_0-loss weight min(SNR, γ)
 * expressed for each target's own MSE.
 */
import * as tf from "@tensorflow/tfjs";
import { UserInputError } from "../../util/errors.ts";

export const PREDICTION_TYPES = ["epsilon", "x0", "v"] as const;
export type PredictionType = typeof PREDICTION_TYPES[number];

/** Per-sample √ᾱ and √(1 − ᾱ): numbers (one timestep for the whole batch) or [B,1,1,1] tensors. */
export interface NoiseLevel {
  a: number | tf.Tensor;
  s: number | tf.Tensor;
}

/** The training target for a prediction type, given the clean x_0 and the noise ε that made
 * x_t = a·x_0 + s·ε. */
export function predictionTarget(
  type: PredictionType,
  x0: tf.Tensor4D,
  noise: tf.Tensor4D,
  { a, s }: NoiseLevel,
): tf.Tensor4D {
  return tf.tidy(() => {
    switch (type) {
      case "epsilon":
        return noise.clone();
      case "x0":
        return x0.clone();
      case "v":
        return tf.sub(tf.mul(a, noise), tf.mul(s, x0)) as tf.Tensor4D;
    }
  });
}

/** x̂_0 from a prediction of `type` at x_t. */
export function toX0(
  type: PredictionType,
  prediction: tf.Tensor4D,
  xt: tf.Tensor4D,
  { a, s }: NoiseLevel,
): tf.Tensor4D {
  return tf.tidy(() => {
    switch (type) {
      case "epsilon":
        if (a === 0) {
          throw new UserInputError(
            "ε-prediction cannot give x̂₀ at zero terminal SNR (ᾱ = 0); train with predictionType v",
          );
        }
        return tf.div(tf.sub(xt, tf.mul(s, prediction)), a) as tf.Tensor4D;
      case "x0":
        return prediction.clone();
      case "v":
        return tf.sub(tf.mul(a, xt), tf.mul(s, prediction)) as tf.Tensor4D;
    }
  });
}

/** ε̂ from a prediction of `type` at x_t. */
export function toEpsilon(
  type: PredictionType,
  prediction: tf.Tensor4D,
  xt: tf.Tensor4D,
  { a, s }: NoiseLevel,
): tf.Tensor4D {
  return tf.tidy(() => {
    switch (type) {
      case "epsilon":
        return prediction.clone();
      case "x0":
        return tf.div(tf.sub(xt, tf.mul(a, prediction)), s) as tf.Tensor4D;
      case "v":
        return tf.add(tf.mul(s, xt), tf.mul(a, prediction)) as tf.Tensor4D;
    }
  });
}

/** v̂ = a·ε̂ − s·x̂_0 from a prediction of `type` at x_t. */
export function toV(
  type: PredictionType,
  prediction: tf.Tensor4D,
  xt: tf.Tensor4D,
  level: NoiseLevel,
): tf.Tensor4D {
  if (type === "v") return prediction.clone();
  return tf.tidy(() =>
    tf.sub(
      tf.mul(level.a, toEpsilon(type, prediction, xt, level)),
      tf.mul(level.s, toX0(type, prediction, xt, level)),
    ) as tf.Tensor4D
  );
}

/** Convert a prediction between any two types (exact up to float rounding). */
export function convertPrediction(
  from: PredictionType,
  to: PredictionType,
  prediction: tf.Tensor4D,
  xt: tf.Tensor4D,
  level: NoiseLevel,
): tf.Tensor4D {
  switch (to) {
    case "epsilon":
      return toEpsilon(from, prediction, xt, level);
    case "x0":
      return toX0(from, prediction, xt, level);
    case "v":
      return toV(from, prediction, xt, level);
  }
}

// ───────────────────────────── loss weighting ─────────────────────────────

export const LOSS_WEIGHTINGS = ["simple", "min-snr"] as const;
export type LossWeighting = typeof LOSS_WEIGHTINGS[number];

/** Weight of one sample's MSE on the `type` target at signal-to-noise ratio `snr`:
 *  "simple" — 1 (Ho et al.'s L_simple, eq. 14);
 *  "min-snr" — Min-SNR-γ (Hang et al. 2023): x_0-MSE weight min(SNR, γ), i.e.
 *    ε-MSE · min(SNR, γ)/SNR,  x_0-MSE · min(SNR, γ),  v-MSE · min(SNR, γ)/(SNR + 1)
 *  (since ‖ε̂ − ε‖² = SNR·‖x̂_0 − x_0‖² and ‖v̂ − v‖² = (SNR + 1)·‖x̂_0 − x_0‖²). */
export function lossWeight(
  weighting: LossWeighting,
  type: PredictionType,
  snr: number,
  gamma = 5,
): number {
  if (weighting === "simple") return 1;
  const clipped = Math.min(snr, gamma);
  switch (type) {
    case "epsilon":
      return snr === 0 ? 1 : clipped / snr;
    case "x0":
      return clipped;
    case "v":
      return clipped / (snr + 1);
  }
}
