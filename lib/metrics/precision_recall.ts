/**
 * Improved precision and recall (Kynkäänniemi et al. 2019). Each set's manifold is the union of
 * balls around its points, each ball reaching the point's k-th nearest neighbour in the same set
 * (k = 3 by default; the point itself does not count). Precision = share of generated samples
 * inside the real manifold (quality); recall = share of real samples inside the generated
 * manifold (coverage). Euclidean distance in feature space; a point on a ball's boundary is in.
 * Pairwise distances are computed in blocks with tf.matMul (float32, as the reference code).
 *
 * Precision is known to be fooled by outliers: one real point with a huge k-NN ball can contain a
 * whole collapsed set of bad samples. Density and coverage (Naeem et al. 2020, "Reliable Fidelity
 * and Diversity Metrics") use the same real balls and are returned alongside.
 */
import * as tf from "@tensorflow/tfjs";
import type { FeatureBatch, FeatureExtractor } from "./feature_extractor.ts";
import {
  checkDim,
  FeatureBank,
  type FeatureMatrix,
  type ImageMetric,
  requireExtractor,
} from "./metric.ts";

const BLOCK = 1024;

function squaredNorms(m: FeatureMatrix): Float64Array {
  const out = new Float64Array(m.n);
  for (let i = 0; i < m.n; i++) {
    let s = 0;
    for (let j = 0; j < m.dim; j++) s += m.data[i * m.dim + j] ** 2;
    out[i] = s;
  }
  return out;
}

/** Calls visit(rowInA, squaredDistancesToAllOfB) for every row of a, block by block (each block's
 * inner products are computed on the tfjs backend and read with `await data()`). */
async function forEachDistanceRow(
  a: FeatureMatrix,
  b: FeatureMatrix,
  visit: (row: number, dist2: Float64Array) => void,
): Promise<void> {
  const na = squaredNorms(a);
  const nb = squaredNorms(b);
  const tb = tf.tensor2d(b.data, [b.n, b.dim]);
  const dist = new Float64Array(b.n);
  try {
    for (let start = 0; start < a.n; start += BLOCK) {
      const rows = Math.min(BLOCK, a.n - start);
      const g = tf.tidy(() => {
        const ta = tf.tensor2d(a.data.subarray(start * a.dim, (start + rows) * a.dim), [
          rows,
          a.dim,
        ]);
        return tf.matMul(ta, tb, false, true);
      });
      let values: Float32Array;
      try {
        values = await g.data() as Float32Array;
      } finally {
        g.dispose();
      }
      for (let r = 0; r < rows; r++) {
        const i = start + r;
        for (let j = 0; j < b.n; j++) {
          dist[j] = Math.max(0, na[i] + nb[j] - 2 * values[r * b.n + j]);
        }
        visit(i, dist);
      }
    }
  } finally {
    tb.dispose();
  }
}

/** Squared distance of every point to its k-th nearest neighbour within the set (self excluded). */
export async function knnRadii2(m: FeatureMatrix, k: number): Promise<Float64Array> {
  if (m.n <= k) throw new Error(`precision/recall: need more than k = ${k} samples, got ${m.n}`);
  const radii = new Float64Array(m.n);
  const best = new Float64Array(k + 1);
  await forEachDistanceRow(m, m, (i, dist) => {
    // The k+1 smallest distances, self (0) included, kept sorted ascending.
    best.fill(Infinity);
    for (let j = 0; j < m.n; j++) {
      const v = j === i ? 0 : dist[j];
      if (v >= best[k]) continue;
      let p = k;
      while (p > 0 && best[p - 1] > v) {
        best[p] = best[p - 1];
        p--;
      }
      best[p] = v;
    }
    radii[i] = best[k];
  });
  return radii;
}

/** How the query rows sit among the reference balls (‖q − r_j‖² ≤ radius2_j):
 * `inside` = share of query rows in at least one ball (precision / recall),
 * `ballsPerQuery` = mean number of balls containing a query row,
 * `coveredBalls` = share of balls containing at least one query row. */
export async function ballMembership(
  query: FeatureMatrix,
  reference: FeatureMatrix,
  radii2: Float64Array,
): Promise<{ inside: number; ballsPerQuery: number; coveredBalls: number }> {
  let inside = 0;
  let memberships = 0;
  const covered = new Uint8Array(reference.n);
  await forEachDistanceRow(query, reference, (_i, dist) => {
    let count = 0;
    for (let j = 0; j < reference.n; j++) {
      if (dist[j] <= radii2[j]) {
        count++;
        covered[j] = 1;
      }
    }
    if (count > 0) inside++;
    memberships += count;
  });
  let coveredCount = 0;
  for (let j = 0; j < reference.n; j++) coveredCount += covered[j];
  return {
    inside: inside / query.n,
    ballsPerQuery: memberships / query.n,
    coveredBalls: coveredCount / reference.n,
  };
}

/** Share of the query rows that lie within some reference ball. */
export async function manifoldCoverage(
  query: FeatureMatrix,
  reference: FeatureMatrix,
  radii2: Float64Array,
): Promise<number> {
  return (await ballMembership(query, reference, radii2)).inside;
}

export interface PRResult {
  precision: number;
  recall: number;
  /** Density (Naeem et al. 2020): mean number of real balls around a generated sample, / k.
   * ≈ 1 for matching distributions; unlike precision, not fooled by a few huge outlier balls. */
  density: number;
  /** Coverage (Naeem et al. 2020): share of real balls that contain a generated sample. */
  coverage: number;
  k: number;
}

/** Precision and recall (plus density and coverage, with the same k) of generated features
 * against real features. */
export async function precisionRecall(
  real: FeatureMatrix,
  fake: FeatureMatrix,
  k = 3,
  realRadii2?: Float64Array,
): Promise<PRResult> {
  checkDim("precision/recall", real.dim, fake.dim);
  const rReal = realRadii2 ?? await knnRadii2(real, k);
  const rFake = await knnRadii2(fake, k);
  const fakeInReal = await ballMembership(fake, real, rReal);
  return {
    precision: fakeInReal.inside,
    recall: await manifoldCoverage(real, fake, rFake),
    density: fakeInReal.ballsPerQuery / k,
    coverage: fakeInReal.coveredBalls,
    k,
  };
}

export interface PrecisionRecallOptions {
  /** Features of the real (reference) set. */
  reference: FeatureMatrix;
  /** Neighbourhood size (default 3). */
  k?: number;
  extractor?: FeatureExtractor;
}

/** Precision/recall of the images seen so far against the reference features. */
export class PrecisionRecall implements ImageMetric<PRResult> {
  readonly name = "precision_recall";
  readonly #bank: FeatureBank;
  #realRadii2: Float64Array | null = null;

  constructor(readonly options: PrecisionRecallOptions) {
    this.#bank = new FeatureBank(options.reference.dim);
  }

  async update(images: tf.Tensor4D): Promise<void> {
    this.updateFeatures(await requireExtractor(this.options.extractor, this.name).extract(images));
  }

  updateFeatures(batch: FeatureBatch): void {
    checkDim(this.name, this.options.reference.dim, batch.dim);
    this.#bank.append(batch.features, batch.n);
  }

  async result(): Promise<PRResult> {
    const k = this.options.k ?? 3;
    // The real set's radii do not depend on the generated samples: compute them once.
    this.#realRadii2 ??= await knnRadii2(this.options.reference, k);
    return precisionRecall(this.options.reference, this.#bank.matrix(), k, this.#realRadii2);
  }

  reset(): void {
    this.#bank.clear();
  }
}
