/**
 * Class agreement of a class-conditional generator: the fraction of samples generated for class c
 * that a feature classifier assigns to class c (the CVAE's acceptance metric; also usable for
 * conditional GANs and guided diffusion). Metrics see the model only as "labels → images".
 */
import * as tf from "@tensorflow/tfjs";
import type { FeatureExtractor } from "./feature_extractor.ts";

export interface ClassAgreement {
  /** Fraction of all samples classified as their requested class. */
  agreement: number;
  /** Per requested class. */
  perClass: number[];
  n: number;
}

export async function classAgreement(
  sample: (labels: number[], seed: number) => Promise<tf.Tensor4D>,
  extractor: FeatureExtractor,
  options: { numClasses: number; perClass: number; seed?: number; batch?: number },
): Promise<ClassAgreement> {
  const { numClasses, perClass } = options;
  const labels = Array.from({ length: numClasses * perClass }, (_, i) => i % numClasses);
  const batch = options.batch ?? 250;
  const hits = new Array(numClasses).fill(0);
  for (let start = 0; start < labels.length; start += batch) {
    const chunk = labels.slice(start, start + batch);
    const images = await sample(chunk, (options.seed ?? 0) + start);
    const { probs, classes } = await extractor.extract(images);
    images.dispose();
    if (!probs) throw new Error("classAgreement: the feature extractor has no class output");
    chunk.forEach((label, i) => {
      let best = 0;
      for (let c = 1; c < classes; c++) {
        if (probs[i * classes + c] > probs[i * classes + best]) best = c;
      }
      if (best === label) hits[label]++;
    });
  }
  return {
    agreement: hits.reduce((a, b) => a + b, 0) / labels.length,
    perClass: hits.map((h) => h / perClass),
    n: labels.length,
  };
}
