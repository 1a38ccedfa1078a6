/**
 * Mode-collapse diagnostics for GANs.
 *
 * On the 2-D mixtures (8-gaussian ring, 25-gaussian grid), following the protocol of VEEGAN
 * (Srivastava et al. 2017) and PacGAN (Lin et al. 2018): each sample is assigned to its nearest
 * mode; it is "high quality" when it lies within 3σ of that mode; a mode is "covered" when it
 * holds at least `minShare` of all samples as high-quality samples (default 1 %). The KL
 * divergence of the histogram of high-quality samples over modes from the uniform distribution
 * measures how unevenly the modes are covered (0 = even, log K = all on one mode).
 *
 * On images: the committed feature classifier's histogram of predicted classes of the samples
 * (a collapsed generator shows as a skewed histogram), with the same KL to uniform.
 */
import * as tf from "@tensorflow/tfjs";
import { loadFeatureExtractor } from "../../metrics/feature_extractor.ts";

export interface ModeCoverage {
  /** Modes holding ≥ minShare of all samples as high-quality samples. */
  modesCovered: number;
  modes: number;
  /** Fraction of samples within 3σ (Euclidean) of their nearest mode. */
  highQualityFraction: number;
  /** KL(histogram of high-quality samples over modes ‖ uniform), in nats. */
  klToUniform: number;
  /** High-quality sample count per mode. */
  histogram: number[];
}

/** KL(p ‖ uniform over K) of a histogram (counts), nats; 0 for an empty histogram. */
export function klToUniform(counts: ArrayLike<number>): number {
  const k = counts.length;
  let total = 0;
  for (let i = 0; i < k; i++) total += counts[i];
  if (total === 0) return 0;
  let kl = 0;
  for (let i = 0; i < k; i++) {
    const p = counts[i] / total;
    if (p > 0) kl += p * Math.log(p * k);
  }
  return kl;
}

/** Mode coverage of 2-D points (flat [x0, y0, x1, y1, …]) against mixture modes of std `sigma`. */
export function modeCoverage(
  points: ArrayLike<number>,
  centers: ReadonlyArray<readonly [number, number]>,
  sigma: number,
  options: { minShare?: number } = {},
): ModeCoverage {
  const n = Math.floor(points.length / 2);
  const histogram = new Array(centers.length).fill(0);
  const radius2 = (3 * sigma) ** 2;
  let highQuality = 0;
  for (let i = 0; i < n; i++) {
    const x = points[2 * i];
    const y = points[2 * i + 1];
    let best = 0;
    let bestD2 = Infinity;
    centers.forEach(([cx, cy], k) => {
      const d2 = (x - cx) ** 2 + (y - cy) ** 2;
      if (d2 < bestD2) {
        bestD2 = d2;
        best = k;
      }
    });
    if (bestD2 <= radius2) {
      highQuality++;
      histogram[best]++;
    }
  }
  const minCount = Math.max(1, (options.minShare ?? 0.01) * n);
  return {
    modesCovered: histogram.filter((c) => c >= minCount).length,
    modes: centers.length,
    highQualityFraction: n === 0 ? 0 : highQuality / n,
    klToUniform: klToUniform(histogram),
    histogram,
  };
}

export interface ClassHistogram {
  /** Samples per predicted class. */
  histogram: number[];
  /** KL(predicted-class histogram ‖ uniform), nats. */
  klToUniform: number;
  /** Classes predicted for ≥ 1 % of the samples. */
  classesCovered: number;
  /** Predicted class of every sample (for label-agreement checks of conditional models). */
  predictions: Int32Array;
}

/** The feature classifier's predicted-class histogram of images in [−1, 1] (NHWC). */
export async function classHistogram(
  images: tf.Tensor4D,
  dataset: string,
): Promise<ClassHistogram> {
  const extractor = await loadFeatureExtractor({ dataset });
  try {
    const batch = await extractor.extract(images);
    if (!batch.probs) throw new Error(`the ${dataset} feature model has no class output`);
    const k = batch.classes;
    const histogram = new Array(k).fill(0);
    const predictions = new Int32Array(batch.n);
    for (let i = 0; i < batch.n; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) {
        if (batch.probs[i * k + c] > batch.probs[i * k + best]) best = c;
      }
      predictions[i] = best;
      histogram[best]++;
    }
    return {
      histogram,
      klToUniform: klToUniform(histogram),
      classesCovered: histogram.filter((c) => c >= Math.max(1, 0.01 * batch.n)).length,
      predictions,
    };
  } finally {
    extractor.dispose();
  }
}
