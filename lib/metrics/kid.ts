/**
 * Kernel distance (KID, Bińkowski et al. 2018) — "classifier KID" on genlab's classifier
 * features: the unbiased estimator of the squared MMD with the cubic polynomial kernel
 * k(x, y) = (xᵀy / d + 1)³, averaged over random subsets (defaults as torchmetrics / clean-fid:
 * 100 subsets of min(1000, n) samples drawn without replacement from each set), reported as
 * mean ± std (population std over the subsets, as torchmetrics).
 *
 *   MMD²ᵤ = Σ_{i≠j} k(xᵢ,xⱼ) / (m(m−1)) + Σ_{i≠j} k(yᵢ,yⱼ) / (n(n−1)) − 2 Σ_{i,j} k(xᵢ,yⱼ) / (mn)
 *
 * Gram matrices are computed with tf.matMul (float32, fast on the active backend); the kernel
 * and the sums are evaluated in float64. Subsets come from a seeded Rng, or are passed in
 * explicitly (`subsetIndices`) so that another implementation can use the very same subsets.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../util/rng.ts";
import type { FeatureBatch, FeatureExtractor } from "./feature_extractor.ts";
import {
  checkDim,
  FeatureBank,
  type FeatureMatrix,
  type ImageMetric,
  requireExtractor,
} from "./metric.ts";

/** x·yᵀ for row sets a (n×d) and b (m×d) via tfjs, as float64 row-major n×m. */
async function gram(
  a: FeatureMatrix,
  rowsA: ArrayLike<number> | null,
  b: FeatureMatrix,
  rowsB: ArrayLike<number> | null,
): Promise<Float64Array> {
  const values = tf.tidy(() => {
    const ta = gatherRows(a, rowsA);
    const tb = b === a && rowsB === rowsA ? ta : gatherRows(b, rowsB);
    return tf.matMul(ta, tb, false, true);
  });
  try {
    return Float64Array.from(await values.data());
  } finally {
    values.dispose();
  }
}

function gatherRows(m: FeatureMatrix, rows: ArrayLike<number> | null): tf.Tensor2D {
  if (rows === null) return tf.tensor2d(m.data, [m.n, m.dim]);
  const out = new Float32Array(rows.length * m.dim);
  for (let i = 0; i < rows.length; i++) {
    out.set(m.data.subarray(rows[i] * m.dim, (rows[i] + 1) * m.dim), i * m.dim);
  }
  return tf.tensor2d(out, [rows.length, m.dim]);
}

/** Σ of k over a Gram matrix, optionally leaving out the diagonal. */
function kernelSum(
  g: Float64Array,
  d: number,
  rows: number,
  cols: number,
  skipDiagonal: boolean,
): number {
  let total = 0;
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) {
      if (skipDiagonal && i === j) continue;
      const t = g[base + j] / d + 1;
      total += t * t * t;
    }
  }
  return total;
}

/** Unbiased MMD² with the cubic polynomial kernel between x (rows rowsX, or all) and y.
 * Async: the Gram matrices are computed on the tfjs backend and read with `await data()`. */
export async function mmd2Unbiased(
  x: FeatureMatrix,
  y: FeatureMatrix,
  rowsX: ArrayLike<number> | null = null,
  rowsY: ArrayLike<number> | null = null,
): Promise<number> {
  checkDim("KID", x.dim, y.dim);
  const d = x.dim;
  const m = rowsX?.length ?? x.n;
  const n = rowsY?.length ?? y.n;
  if (m < 2 || n < 2) throw new Error("KID needs at least 2 samples in each set");
  const kxx = kernelSum(await gram(x, rowsX, x, rowsX), d, m, m, true);
  const kyy = kernelSum(await gram(y, rowsY, y, rowsY), d, n, n, true);
  const kxy = kernelSum(await gram(x, rowsX, y, rowsY), d, m, n, false);
  return kxx / (m * (m - 1)) + kyy / (n * (n - 1)) - 2 * kxy / (m * n);
}

/** m distinct indices from [0, n) (partial Fisher–Yates), in draw order. */
export function sampleWithoutReplacement(n: number, m: number, rng: Rng): Int32Array {
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  return pool.slice(0, m);
}

export interface KIDOptions {
  /** Number of subsets (default 100). */
  subsets?: number;
  /** Subset size (default 1000, capped at the smaller set's size). */
  subsetSize?: number;
  /** Seed of the subset draws (default 0). */
  seed?: number;
  /** Explicit subsets: pairs of row indices into x and y (overrides subsets/subsetSize/seed). */
  subsetIndices?: { x: ArrayLike<number>; y: ArrayLike<number> }[];
}

export interface KIDResult {
  mean: number;
  std: number;
  /** The per-subset MMD² values. */
  values: number[];
  subsets: number;
  subsetSize: number;
}

/** KID between two feature sets: mean ± std of the unbiased MMD² over subsets. */
export async function kernelDistance(
  x: FeatureMatrix,
  y: FeatureMatrix,
  options: KIDOptions = {},
): Promise<KIDResult> {
  let subsets = options.subsetIndices;
  if (subsets === undefined) {
    const size = Math.min(options.subsetSize ?? 1000, x.n, y.n);
    if (size === x.n && size === y.n) {
      // Every "subset" would be all of both sets: one MMD², no spread to report.
      const value = await mmd2Unbiased(x, y);
      return { mean: value, std: 0, values: [value], subsets: 1, subsetSize: size };
    }
    const rng = new Rng(options.seed ?? 0);
    subsets = [];
    for (let s = 0; s < (options.subsets ?? 100); s++) {
      subsets.push({
        x: sampleWithoutReplacement(x.n, size, rng),
        y: sampleWithoutReplacement(y.n, size, rng),
      });
    }
  }
  const values: number[] = [];
  for (const s of subsets) values.push(await mmd2Unbiased(x, y, s.x, s.y));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return {
    mean,
    std: Math.sqrt(variance),
    values,
    subsets: values.length,
    subsetSize: subsets[0]?.x.length ?? 0,
  };
}

export interface ClassifierKIDOptions extends KIDOptions {
  /** Features of the real (reference) set. */
  reference: FeatureMatrix;
  extractor?: FeatureExtractor;
}

/** Classifier KID of the images seen so far against the reference features. */
export class ClassifierKID implements ImageMetric<KIDResult> {
  readonly name = "classifier_kid";
  readonly #bank: FeatureBank;

  constructor(readonly options: ClassifierKIDOptions) {
    this.#bank = new FeatureBank(options.reference.dim);
  }

  async update(images: tf.Tensor4D): Promise<void> {
    this.updateFeatures(await requireExtractor(this.options.extractor, this.name).extract(images));
  }

  updateFeatures(batch: FeatureBatch): void {
    checkDim(this.name, this.options.reference.dim, batch.dim);
    this.#bank.append(batch.features, batch.n);
  }

  /** Generated features first, reference second (subsetIndices: x = generated, y = reference). */
  result(): Promise<KIDResult> {
    return kernelDistance(this.#bank.matrix(), this.options.reference, this.options);
  }

  reset(): void {
    this.#bank.clear();
  }
}
