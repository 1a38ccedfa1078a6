/**
 * k-means (Lloyd 1982) with k-means++ seeding (Arthur & Vassilvitskii 2007) on the rows of a
 * matrix: the self-conditioned GAN's clusters (lib/models/gan/self_conditioned.ts) come from here.
 *
 * Distances use ‖x − c‖² = ‖x‖² − 2·x·c + ‖c‖², one [N, K] matMul per iteration, so 9,000 MNIST
 * images × 20 centroids take well under a second. The seeding draws from a seeded Rng: same
 * seed → same clusters on a given backend.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../util/rng.ts";

export interface KMeansOptions {
  /** Seed of the k-means++ draws. */
  seed: number;
  /** Upper bound on Lloyd iterations (it stops earlier when no assignment changes). */
  maxIterations?: number;
}

export interface KMeansResult {
  /** [K, D] cluster means. The caller disposes. */
  centroids: tf.Tensor2D;
  /** Index of the nearest centroid of each row (a fixed point: recomputing gives the same). */
  assignments: Int32Array;
  /** Rows per cluster. */
  counts: Int32Array;
  /** Mean squared distance of a row to its centroid (the k-means objective / N), per iteration. */
  objective: number[];
  iterations: number;
}

/** Squared distances [N, K] between the rows of `points` and `centroids`. */
export function squaredDistances(points: tf.Tensor2D, centroids: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() =>
    tf.relu(tf.add(
      tf.sub(
        tf.sum(tf.square(points), 1, true),
        tf.mul(2, tf.matMul(points, centroids, false, true)),
      ),
      tf.transpose(tf.sum(tf.square(centroids), 1, true)),
    )) as tf.Tensor2D
  );
}

/** Index of the nearest centroid for each row of `points` ([N] int32). */
export function nearestCentroid(points: tf.Tensor2D, centroids: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.argMin(squaredDistances(points, centroids), 1) as tf.Tensor1D);
}

/** k-means++ seeding: each next centre is a row drawn with probability ∝ D(x)², its squared
 * distance to the nearest centre chosen so far. */
async function seedCentroids(points: tf.Tensor2D, k: number, rng: Rng): Promise<tf.Tensor2D> {
  const n = points.shape[0];
  const chosen = [rng.int(n)];
  let nearest = new Float64Array(n).fill(Infinity);
  while (chosen.length < k) {
    const last = tf.tidy(() => tf.gather(points, [chosen[chosen.length - 1]]) as tf.Tensor2D);
    const distances = squaredDistances(points, last);
    const values = await distances.data();
    tf.dispose([last, distances]);
    nearest = nearest.map((d, i) => Math.min(d, values[i]));
    const total = nearest.reduce((a, b) => a + b, 0);
    let remaining = rng.uniform() * total;
    let pick = 0;
    while (pick < n - 1 && (remaining -= nearest[pick]) > 0) pick++;
    chosen.push(pick);
  }
  return tf.tidy(() => tf.gather(points, chosen) as tf.Tensor2D);
}

/** Cluster the rows of `points` [N, D] into k groups. An empty cluster keeps its centroid. */
export async function kmeans(
  points: tf.Tensor2D,
  k: number,
  options: KMeansOptions,
): Promise<KMeansResult> {
  const n = points.shape[0];
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new Error(`kmeans: k must be an integer in [1, ${n}], got ${k}`);
  }
  const maxIterations = options.maxIterations ?? 50;
  let centroids = await seedCentroids(points, k, new Rng(options.seed));
  let assignments = new Int32Array(n).fill(-1);
  const objective: number[] = [];
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    // Assignment step: nearest centroid (and the objective of the current centroids).
    const [next, meanDistance] = tf.tidy(() => {
      const distances = squaredDistances(points, centroids);
      return [tf.argMin(distances, 1), tf.mean(tf.min(distances, 1))];
    });
    const nextAssignments = new Int32Array(await next.data());
    objective.push((await meanDistance.data())[0]);
    const changed = nextAssignments.some((a, i) => a !== assignments[i]);
    assignments = nextAssignments;
    if (!changed) {
      tf.dispose([next, meanDistance]);
      break;
    }
    // Update step: each centroid moves to the mean of its rows (an empty one stays put).
    const updated = tf.tidy(() => {
      const members = tf.oneHot(next, k).toFloat();
      const counts = tf.sum(members, 0).expandDims(1);
      const means = tf.div(tf.matMul(members, points, true, false), tf.maximum(counts, 1));
      return tf.where(tf.greater(counts, 0), means, centroids) as tf.Tensor2D;
    });
    tf.dispose([next, meanDistance, centroids]);
    centroids = updated;
  }
  const counts = new Int32Array(k);
  for (const a of assignments) counts[a]++;
  return { centroids, assignments, counts, objective, iterations };
}
