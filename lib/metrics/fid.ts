/**
 * Fréchet distance between Gaussians fitted to feature sets — "classifier FID" when the features
 * come from genlab's per-dataset classifier (see feature_classifier.ts):
 *
 *   d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½)
 *
 * Statistics are accumulated in float64 (shifted sums, so no catastrophic cancellation), and the
 * trace of the matrix square root is computed from symmetric eigendecompositions only:
 * with Σ₁ = V Λ Vᵀ, tr (Σ₁Σ₂)^½ = Σᵢ √μᵢ where μ are the eigenvalues of the symmetric PSD matrix
 * Λ^½ Vᵀ Σ₂ V Λ^½ (similar to Σ₁^½ Σ₂ Σ₁^½, which has the eigenvalues of Σ₁Σ₂). Tiny negative
 * eigenvalues from rounding are clamped to 0. As in pytorch-fid / clean-fid, ε·I (ε = 1e-6) is
 * added to both covariances when Σ₁ is numerically singular (or a set has no more samples than
 * dimensions).
 */
import type * as tf from "@tensorflow/tfjs";
import { EigenvalueDecomposition } from "ml-matrix";
import type { FeatureBatch, FeatureExtractor } from "./feature_extractor.ts";
import { checkDim, type ImageMetric, requireExtractor } from "./metric.ts";

/** Mean and (unbiased, n − 1) covariance of a feature set; cov is dim × dim row-major. */
export interface GaussianMoments {
  n: number;
  dim: number;
  mean: ArrayLike<number>;
  cov: ArrayLike<number>;
}

/** Streaming float64 mean/covariance accumulator. */
export class GaussianStats {
  #n = 0;
  #shift: Float64Array | null = null;
  #sum: Float64Array;
  #outer: Float64Array; // upper triangle (j ≥ i) of Σ (x − shift)(x − shift)ᵀ

  constructor(readonly dim: number) {
    this.#sum = new Float64Array(dim);
    this.#outer = new Float64Array(dim * dim);
  }

  get n(): number {
    return this.#n;
  }

  /** Add n rows of length dim (row-major). */
  add(rows: ArrayLike<number>, n: number): void {
    const d = this.dim;
    if (rows.length !== n * d) {
      throw new Error(`GaussianStats: ${rows.length} values for ${n}×${d}`);
    }
    if (n === 0) return;
    if (this.#shift === null) {
      // Shift by the first row: sums of (x − shift) keep the covariance free of cancellation.
      this.#shift = new Float64Array(d);
      for (let j = 0; j < d; j++) this.#shift[j] = rows[j];
    }
    const shift = this.#shift;
    const sum = this.#sum;
    const outer = this.#outer;
    const xc = new Float64Array(d);
    for (let r = 0; r < n; r++) {
      const base = r * d;
      for (let j = 0; j < d; j++) {
        xc[j] = rows[base + j] - shift[j];
        sum[j] += xc[j];
      }
      for (let i = 0; i < d; i++) {
        const a = xc[i];
        if (a === 0) continue;
        const row = i * d;
        for (let j = i; j < d; j++) outer[row + j] += a * xc[j];
      }
    }
    this.#n += n;
  }

  addBatch(batch: FeatureBatch): void {
    checkDim("GaussianStats", this.dim, batch.dim);
    this.add(batch.features, batch.n);
  }

  mean(): Float64Array {
    const m = new Float64Array(this.dim);
    if (this.#n === 0) return m;
    for (let j = 0; j < this.dim; j++) m[j] = this.#shift![j] + this.#sum[j] / this.#n;
    return m;
  }

  /** Unbiased covariance (divides by n − 1, like numpy.cov). */
  covariance(): Float64Array {
    const d = this.dim;
    const n = this.#n;
    const cov = new Float64Array(d * d);
    if (n < 2) return cov;
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        const v = (this.#outer[i * d + j] - this.#sum[i] * this.#sum[j] / n) / (n - 1);
        cov[i * d + j] = v;
        cov[j * d + i] = v;
      }
    }
    return cov;
  }

  moments(): GaussianMoments {
    return { n: this.#n, dim: this.dim, mean: this.mean(), cov: this.covariance() };
  }

  reset(): void {
    this.#n = 0;
    this.#shift = null;
    this.#sum.fill(0);
    this.#outer.fill(0);
  }

  static fromRows(rows: ArrayLike<number>, n: number, dim: number): GaussianStats {
    const stats = new GaussianStats(dim);
    stats.add(rows, n);
    return stats;
  }
}

/** JSON-friendly moments (for caching reference statistics to disk). */
export function momentsToJSON(
  m: GaussianMoments,
): { n: number; dim: number; mean: number[]; cov: number[] } {
  return { n: m.n, dim: m.dim, mean: Array.from(m.mean), cov: Array.from(m.cov) };
}

/** Symmetric eigendecomposition of a dim × dim row-major matrix. */
function symmetricEig(a: ArrayLike<number>, d: number): { values: number[]; vectors: number[][] } {
  const rows: number[][] = [];
  for (let i = 0; i < d; i++) {
    const row = new Array<number>(d);
    for (let j = 0; j < d; j++) row[j] = 0.5 * (a[i * d + j] + a[j * d + i]);
    rows.push(row);
  }
  const evd = new EigenvalueDecomposition(rows, { assumeSymmetric: true });
  return { values: evd.realEigenvalues, vectors: evd.eigenvectorMatrix.to2DArray() };
}

/** tr((Σ₁Σ₂)^½) via symmetric eigendecompositions (see the file comment). */
export function traceSqrtProduct(
  cov1: ArrayLike<number>,
  cov2: ArrayLike<number>,
  d: number,
): number {
  const { values, vectors: V } = symmetricEig(cov1, d);
  const s = values.map((v) => Math.sqrt(Math.max(v, 0)));
  // B = Vᵀ Σ₂ V, then M = diag(s) B diag(s).
  const tmp = new Float64Array(d * d); // Σ₂ V
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const c = cov2[i * d + k];
      if (c === 0) continue;
      const vk = V[k];
      const row = i * d;
      for (let j = 0; j < d; j++) tmp[row + j] += c * vk[j];
    }
  }
  const m = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const vk = V[k];
    const row = k * d;
    for (let i = 0; i < d; i++) {
      const v = vk[i];
      if (v === 0) continue;
      for (let j = 0; j < d; j++) m[i * d + j] += v * tmp[row + j];
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) m[i * d + j] *= s[i] * s[j];
  const mu = symmetricEig(m, d).values;
  let trace = 0;
  for (const v of mu) trace += Math.sqrt(Math.max(v, 0));
  return trace;
}

export interface FrechetOptions {
  /** Added to both covariance diagonals when Σ₁ is singular (default 1e-6). */
  eps?: number;
}

export interface FrechetDetails {
  distance: number;
  meanTerm: number;
  traceTerm: number;
  regularized: boolean;
}

/** Fréchet distance with its parts (mean term, trace term) and whether ε·I was added. */
export function frechetDistanceDetails(
  a: GaussianMoments,
  b: GaussianMoments,
  options: FrechetOptions = {},
): FrechetDetails {
  const d = a.dim;
  if (b.dim !== d) throw new Error(`Fréchet distance: dimensions differ (${d} vs ${b.dim})`);
  const eps = options.eps ?? 1e-6;
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (a.mean[i] - b.mean[i]) ** 2;
  const eig1 = symmetricEig(a.cov, d).values;
  const maxEig = Math.max(...eig1.map(Math.abs), 0);
  const singular = Math.min(...eig1) <= 1e-10 * Math.max(maxEig, 1e-300) || a.n <= d || b.n <= d;
  let cov1 = a.cov;
  let cov2 = b.cov;
  if (singular) {
    const c1 = Float64Array.from(a.cov);
    const c2 = Float64Array.from(b.cov);
    for (let i = 0; i < d; i++) {
      c1[i * d + i] += eps;
      c2[i * d + i] += eps;
    }
    cov1 = c1;
    cov2 = c2;
  }
  let tr = 0;
  for (let i = 0; i < d; i++) tr += cov1[i * d + i] + cov2[i * d + i];
  const traceTerm = tr - 2 * traceSqrtProduct(cov1, cov2, d);
  return {
    distance: Math.max(0, meanTerm + traceTerm),
    meanTerm,
    traceTerm,
    regularized: singular,
  };
}

export function frechetDistance(
  a: GaussianMoments,
  b: GaussianMoments,
  options: FrechetOptions = {},
): number {
  return frechetDistanceDetails(a, b, options).distance;
}

export interface ClassifierFIDOptions extends FrechetOptions {
  /** Statistics of the real (reference) set. */
  reference: GaussianMoments | GaussianStats;
  /** Needed for update(images); updateFeatures() works without it. */
  extractor?: FeatureExtractor;
}

/** Classifier FID of the images seen so far against the reference statistics. */
export class ClassifierFID implements ImageMetric<number> {
  readonly name = "classifier_fid";
  readonly #reference: GaussianMoments;
  readonly #stats: GaussianStats;

  constructor(readonly options: ClassifierFIDOptions) {
    this.#reference = options.reference instanceof GaussianStats
      ? options.reference.moments()
      : options.reference;
    this.#stats = new GaussianStats(this.#reference.dim);
  }

  async update(images: tf.Tensor4D): Promise<void> {
    this.updateFeatures(await requireExtractor(this.options.extractor, this.name).extract(images));
  }

  updateFeatures(batch: FeatureBatch): void {
    checkDim(this.name, this.#reference.dim, batch.dim);
    this.#stats.add(batch.features, batch.n);
  }

  /** The generated set's statistics so far. */
  moments(): GaussianMoments {
    return this.#stats.moments();
  }

  result(): number {
    if (this.#stats.n < 2) throw new Error("classifier FID needs at least 2 samples");
    return frechetDistance(this.#stats.moments(), this.#reference, this.options);
  }

  reset(): void {
    this.#stats.reset();
  }
}
