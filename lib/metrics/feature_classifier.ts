/**
 * The per-dataset feature classifiers behind genlab's "classifier FID/KID/IS".
 *
 * No npm or Debian package ships an ImageNet Inception network, so genlab trains a small CNN per
 * dataset (MNIST, Fashion-MNIST) and measures generated images in its feature space: the 128-d
 * penultimate layer ("features") gives classifier FID/KID and precision/recall, the softmax
 * ("probs") gives the classifier IS. These numbers are comparable only with other numbers made
 * with the same classifier — never with published Inception FID/IS.
 *
 * Architecture (≈131k parameters, ≈0.5 MB of float32 weights), input 28×28×1 in [-1, 1]:
 *   conv3×3·32 ReLU → maxpool2 → conv3×3·64 ReLU → maxpool2 → conv3×3·64 ReLU → maxpool2
 *   → flatten(3·3·64) → dense 128 ReLU ["features"] → dense 10 ["logits"] → softmax ["probs"]
 * Training (trainFeatureClassifier) adds dropout on the features and random ±shift translations,
 * with every random draw taken from one seeded Rng, so a run is reproducible on a given backend.
 */
import * as tf from "@tensorflow/tfjs";
import type { ImageDataset } from "../data/dataset.ts";
import { Rng } from "../util/rng.ts";
import {
  learningRateAt,
  type LearningRateSchedule,
  setLearningRate,
} from "../train/lr_schedule.ts";

/** Where the committed classifiers live, relative to the repository root. */
export const FEATURE_CLASSIFIER_DIR = "results/feature-classifiers";

/** Stored in model.json's userDefinedMetadata so any loader knows how to use the model. */
export interface FeatureModelMetadata {
  /** Name of the layer whose output is the feature vector. */
  featureLayer: string;
  /** Name of the layer producing class logits (its softmax is the model output), if any. */
  logitsLayer?: string;
  /** Pixel range the model was trained on. */
  inputRange: "[-1,1]" | "[0,1]" | "[0,255]";
  dataset?: string;
  featureDim?: number;
  numClasses?: number;
  description?: string;
}

/** The repository root (two levels above this file). */
export function repoRoot(): string {
  return decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");
}

/** results/feature-classifiers/<dataset>/model.json as an absolute path. */
export function defaultFeatureModelPath(dataset: string): string {
  return `${repoRoot()}/${FEATURE_CLASSIFIER_DIR}/${dataset}/model.json`;
}

export interface FeatureClassifierOptions {
  seed: number;
  height?: number;
  width?: number;
  channels?: number;
  numClasses?: number;
  featureDim?: number;
  dataset?: string;
}

/** Build the (untrained) classifier. Initializers draw their seeds from `seed`. */
export function buildFeatureClassifier(options: FeatureClassifierOptions): tf.LayersModel {
  const {
    height = 28,
    width = 28,
    channels = 1,
    numClasses = 10,
    featureDim = 128,
  } = options;
  const rng = new Rng(options.seed);
  const he = () => tf.initializers.heNormal({ seed: rng.seed() });
  const input = tf.input({ shape: [height, width, channels], name: "images" });
  let h = input as tf.SymbolicTensor;
  const filters = [32, 64, 64];
  filters.forEach((f, i) => {
    h = tf.layers.conv2d({
      filters: f,
      kernelSize: 3,
      padding: "same",
      activation: "relu",
      kernelInitializer: he(),
      name: `conv${i + 1}`,
    }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.maxPooling2d({ poolSize: 2, name: `pool${i + 1}` }).apply(h) as tf.SymbolicTensor;
  });
  h = tf.layers.flatten({ name: "flatten" }).apply(h) as tf.SymbolicTensor;
  const features = tf.layers.dense({
    units: featureDim,
    activation: "relu",
    kernelInitializer: he(),
    name: "features",
  }).apply(h) as tf.SymbolicTensor;
  const logits = tf.layers.dense({
    units: numClasses,
    kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seed() }),
    name: "logits",
  }).apply(features) as tf.SymbolicTensor;
  const probs = tf.layers.activation({ activation: "softmax", name: "probs" }).apply(
    logits,
  ) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: probs, name: "genlab_feature_classifier" });
  const metadata: FeatureModelMetadata = {
    featureLayer: "features",
    logitsLayer: "logits",
    inputRange: "[-1,1]",
    dataset: options.dataset,
    featureDim,
    numClasses,
    description: "genlab feature classifier: features = 128-d penultimate layer (ReLU), " +
      "output = softmax class probabilities; scores made with it are 'classifier FID/KID/IS'",
  };
  // Round-trip through JSON drops undefined fields, which tfjs rejects as metadata.
  model.setUserDefinedMetadata({ genlab: JSON.parse(JSON.stringify(metadata)) });
  return model;
}

/** The genlab metadata of a layers model, if it has any. */
export function featureModelMetadata(model: tf.LayersModel): FeatureModelMetadata | null {
  const meta = model.getUserDefinedMetadata() as { genlab?: FeatureModelMetadata } | undefined;
  return meta?.genlab ?? null;
}

/** Copy rows of a uint8 dataset into a float batch in [-1, 1], each image shifted by a random
 * (dx, dy) in [-shift, shift]² with zero (background) fill. */
export function makeBatch(
  dataset: ImageDataset,
  rows: ArrayLike<number>,
  shift: number,
  rng: Rng | null,
): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const { height: H, width: W, channels: C, numClasses } = dataset;
  const pixels = H * W * C;
  const n = rows.length;
  const values = new Float32Array(n * pixels).fill(-1);
  const onehot = new Float32Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const src = rows[i] * pixels;
    const dst = i * pixels;
    const dx = rng && shift > 0 ? rng.int(2 * shift + 1) - shift : 0;
    const dy = rng && shift > 0 ? rng.int(2 * shift + 1) - shift : 0;
    for (let yy = 0; yy < H; yy++) {
      const sy = yy - dy;
      if (sy < 0 || sy >= H) continue;
      for (let xx = 0; xx < W; xx++) {
        const sx = xx - dx;
        if (sx < 0 || sx >= W) continue;
        for (let c = 0; c < C; c++) {
          values[dst + (yy * W + xx) * C + c] =
            dataset.images[src + (sy * W + sx) * C + c] / 127.5 -
            1;
        }
      }
    }
    onehot[i * numClasses + dataset.labels[rows[i]]] = 1;
  }
  return { x: tf.tensor4d(values, [n, H, W, C]), y: tf.tensor2d(onehot, [n, numClasses]) };
}

/** Random affine augmentation: rotation, isotropic scale and translation about the image centre,
 * bilinear sampling, zero (background) fill. */
export interface AffineAugment {
  /** Maximum rotation in degrees (uniform in ±rotate). */
  rotate: number;
  /** Maximum relative scale change (uniform in 1 ± scale). */
  scale: number;
  /** Maximum translation in pixels (uniform in ±shift, continuous). */
  shift: number;
}

/** Like makeBatch, but each image goes through a random affine warp (see AffineAugment). */
export function makeAffineBatch(
  dataset: ImageDataset,
  rows: ArrayLike<number>,
  aug: AffineAugment,
  rng: Rng,
): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const { height: H, width: W, channels: C, numClasses } = dataset;
  const pixels = H * W * C;
  const n = rows.length;
  const values = new Float32Array(n * pixels);
  const onehot = new Float32Array(n * numClasses);
  const cy = (H - 1) / 2;
  const cx = (W - 1) / 2;
  const img = dataset.images;
  for (let i = 0; i < n; i++) {
    const src = rows[i] * pixels;
    const dst = i * pixels;
    const theta = (2 * rng.uniform() - 1) * aug.rotate * Math.PI / 180;
    const s = 1 + (2 * rng.uniform() - 1) * aug.scale;
    const tx = (2 * rng.uniform() - 1) * aug.shift;
    const ty = (2 * rng.uniform() - 1) * aug.shift;
    // Output pixel p ← source R(−θ)(p − c − t)/s + c.
    const cos = Math.cos(theta) / s;
    const sin = Math.sin(theta) / s;
    for (let yy = 0; yy < H; yy++) {
      for (let xx = 0; xx < W; xx++) {
        const u = xx - cx - tx;
        const v = yy - cy - ty;
        const sx = cos * u + sin * v + cx;
        const sy = -sin * u + cos * v + cy;
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const fx = sx - x0;
        const fy = sy - y0;
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let dy = 0; dy < 2; dy++) {
            const yy0 = y0 + dy;
            if (yy0 < 0 || yy0 >= H) continue;
            const wy = dy === 0 ? 1 - fy : fy;
            for (let dx = 0; dx < 2; dx++) {
              const xx0 = x0 + dx;
              if (xx0 < 0 || xx0 >= W) continue;
              const wx = dx === 0 ? 1 - fx : fx;
              acc += wy * wx * img[src + (yy0 * W + xx0) * C + c];
            }
          }
          values[dst + (yy * W + xx) * C + c] = acc / 127.5 - 1;
        }
      }
    }
    onehot[i * numClasses + dataset.labels[rows[i]]] = 1;
  }
  return { x: tf.tensor4d(values, [n, H, W, C]), y: tf.tensor2d(onehot, [n, numClasses]) };
}

export interface TrainClassifierOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Random integer translation of up to ±augmentShift pixels (0 = none); ignored when
   * `affine` is given. */
  augmentShift: number;
  /** Random affine warps instead of integer shifts. */
  affine?: AffineAugment;
  /** Dropout rate on the feature layer during training. */
  dropout: number;
  /** Called after each epoch. */
  onEpoch?: (info: EpochInfo) => void;
}

export interface EpochInfo {
  epoch: number;
  loss: number;
  trainAccuracy: number;
  learningRate: number;
  seconds: number;
}

/**
 * Train with Adam, cosine-decayed learning rate (to 2% of the start), categorical cross-entropy.
 * A plain loop rather than model.fit: fit shuffles with Math.random and tfjs' Dropout layer
 * reuses one fixed seed (hence one mask) every step, so neither is reproducible + correct.
 */
export async function trainFeatureClassifier(
  model: tf.LayersModel,
  train: ImageDataset,
  options: TrainClassifierOptions,
): Promise<EpochInfo[]> {
  const rng = new Rng(options.seed);
  const orderRng = rng.fork();
  const augmentRng = rng.fork();
  const dropoutRng = rng.fork();
  const featureLayer = model.getLayer("features");
  const logitsLayer = model.getLayer("logits");
  const trunk = tf.model({
    inputs: model.inputs,
    outputs: featureLayer.output as tf.SymbolicTensor,
  });
  const optimizer = tf.train.adam(options.learningRate);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const stepsPerEpoch = Math.floor(train.count / options.batchSize);
  const totalSteps = stepsPerEpoch * options.epochs;
  const history: EpochInfo[] = [];
  // Cosine to 2 % of the base rate over the whole run.
  const schedule: LearningRateSchedule = {
    base: options.learningRate,
    decay: "cosine",
    decaySteps: totalSteps,
    floor: 0.02,
  };
  let step = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const start = performance.now();
    const order = orderRng.permutation(train.count);
    let lossSum = 0;
    let correct = 0;
    let lr = options.learningRate;
    for (let s = 0; s < stepsPerEpoch; s++) {
      lr = learningRateAt(schedule, step);
      setLearningRate(optimizer, lr);
      const rows = order.subarray(s * options.batchSize, (s + 1) * options.batchSize);
      const { x, y } = options.affine
        ? makeAffineBatch(train, rows, options.affine, augmentRng)
        : makeBatch(train, rows, options.augmentShift, augmentRng);
      const dropoutSeed = dropoutRng.seed();
      let logitsOut: tf.Tensor | null = null;
      const loss = optimizer.minimize(
        () => {
          const feats = trunk.apply(x, { training: true }) as tf.Tensor2D;
          const dropped = options.dropout > 0
            ? tf.dropout(feats, options.dropout, undefined, dropoutSeed)
            : feats;
          const logits = logitsLayer.apply(dropped) as tf.Tensor2D;
          logitsOut = tf.keep(logits.argMax(-1));
          return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
        },
        true,
        vars,
      )!;
      lossSum += (await loss.data())[0];
      const pred = await (logitsOut as unknown as tf.Tensor).data();
      for (let i = 0; i < rows.length; i++) if (pred[i] === train.labels[rows[i]]) correct++;
      tf.dispose([loss, x, y, logitsOut as unknown as tf.Tensor]);
      step++;
    }
    const info: EpochInfo = {
      epoch: epoch + 1,
      loss: lossSum / stepsPerEpoch,
      trainAccuracy: correct / (stepsPerEpoch * options.batchSize),
      learningRate: lr,
      seconds: (performance.now() - start) / 1000,
    };
    history.push(info);
    options.onEpoch?.(info);
  }
  optimizer.dispose();
  return history;
}

export interface AccuracyReport {
  accuracy: number;
  correct: number;
  count: number;
  perClass: number[];
  /** confusion[true][predicted] */
  confusion: number[][];
}

/** Top-1 accuracy of a classifier on a uint8 dataset (images scaled to [-1, 1]). */
export async function classifierAccuracy(
  model: tf.LayersModel,
  dataset: ImageDataset,
  batchSize = 500,
): Promise<AccuracyReport> {
  const k = dataset.numClasses;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let start = 0; start < dataset.count; start += batchSize) {
    const rows = Array.from(
      { length: Math.min(batchSize, dataset.count - start) },
      (_, i) => start + i,
    );
    const pred = tf.tidy(() => {
      const { x } = makeBatch(dataset, rows, 0, null);
      return (model.predict(x) as tf.Tensor2D).argMax(-1);
    });
    const p = await pred.data();
    pred.dispose();
    rows.forEach((row, i) => {
      const label = dataset.labels[row];
      confusion[label][p[i]]++;
      if (p[i] === label) correct++;
    });
  }
  const perClass = confusion.map((r, i) => r[i] / Math.max(1, r.reduce((a, b) => a + b, 0)));
  return { accuracy: correct / dataset.count, correct, count: dataset.count, perClass, confusion };
}
