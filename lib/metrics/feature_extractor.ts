/**
 * Feature extractors: images in [-1, 1] → feature vectors (+ class probabilities when the model
 * classifies). One code path loads both genlab's committed per-dataset classifiers
 * (results/feature-classifiers/<dataset>/model.json) and any user-supplied tfjs model — a layers
 * model, or a graph model such as a converted InceptionV3 — and adapts the images to what the
 * model expects: pixel range, spatial size (bilinear resize) and channel count (grey → RGB).
 *
 * With genlab's classifiers the scores are "classifier FID/KID/IS"; with a user model they are
 * scores in that model's feature space. Only with the real pool3 InceptionV3 would they be
 * comparable to published FID/IS.
 */
import * as tf from "@tensorflow/tfjs";
import { defaultFeatureModelPath, type FeatureModelMetadata } from "./feature_classifier.ts";
import { fileLoadHandler, isGraphModelJSON, readModelJSON } from "./tfjs_files.ts";

/** Features (and probabilities) of a batch of images, as plain row-major arrays. */
export interface FeatureBatch {
  n: number;
  dim: number;
  /** n × dim */
  features: Float32Array;
  /** Number of classes of `probs` (0 when there are none). */
  classes: number;
  /** n × classes softmax probabilities, or null when the model has no classifier head. */
  probs: Float32Array | null;
}

export interface FeatureExtractor {
  /** e.g. "genlab classifier (mnist)" or the user model's path. */
  readonly name: string;
  readonly source: string;
  readonly featureDim: number;
  /** Classes of the probability output; null when there is none (then no classifier IS). */
  readonly numClasses: number | null;
  /** Images per forward pass. */
  readonly batchSize: number;
  /** Images NHWC in [-1, 1] → features. Runs in batches, allocates no lasting tensors. Async:
   * the features are read with `await tensor.data()`, which every backend (webgpu too) supports. */
  extract(images: tf.Tensor4D): Promise<FeatureBatch>;
  dispose(): void;
}

export type InputRange = FeatureModelMetadata["inputRange"];

export interface FeatureExtractorOptions {
  /** Use the committed genlab classifier of this dataset ("mnist" | "fashion-mnist"). */
  dataset?: string;
  /** Or a tfjs model.json (layers or graph model). Wins over `dataset`. */
  path?: string;
  /** Layers models: the layer whose output is the feature (default: genlab metadata, else the
   * input of the last Dense layer). Conv feature maps are global-average-pooled. */
  featureLayer?: string;
  /** Graph models: node names of the features (default: the first output) and of the class
   * probabilities or logits (default: none → no classifier IS). */
  featureNode?: string;
  probsNode?: string;
  /** Whether the probability output is logits (softmax is applied). Default: layers models —
   * unless the last layer applies softmax; graph models — false. */
  outputIsLogits?: boolean;
  /** Pixel range the model expects (default: genlab metadata, else "[-1,1]"). */
  inputRange?: InputRange;
  /** Spatial size the model expects, when its input shape does not say (default: from it). */
  inputSize?: [number, number];
  batchSize?: number;
}

/** Load a feature extractor: `{ dataset: "mnist" }` for the committed classifier, or
 * `{ path: "some/model.json" }` for any tfjs model — both through the same loader. */
export async function loadFeatureExtractor(
  options: FeatureExtractorOptions,
): Promise<FeatureExtractor> {
  let path = options.path;
  if (path === undefined) {
    if (options.dataset === undefined) {
      throw new Error("loadFeatureExtractor: give a dataset or a path");
    }
    path = defaultFeatureModelPath(options.dataset);
  }
  if (!path.endsWith(".json")) path = `${path.replace(/\/$/, "")}/model.json`;
  let modelJSON: tf.io.ModelJSON;
  try {
    modelJSON = await readModelJSON(path);
  } catch (error) {
    const missing = error instanceof Error && error.message.startsWith("tfjs model not found");
    if (options.path === undefined && missing) {
      throw new Error(
        `the feature classifier for '${options.dataset}' is missing (${path}): train it with ` +
          `'deno task exp:train_feature_classifier --dataset ${options.dataset} --out ` +
          `results/feature-classifiers/${options.dataset}/'`,
      );
    }
    throw error;
  }
  const handler = fileLoadHandler(path);
  const model = isGraphModelJSON(modelJSON)
    ? await tf.loadGraphModel(handler)
    : await tf.loadLayersModel(handler);
  const meta = (modelJSON.userDefinedMetadata as { genlab?: FeatureModelMetadata } | undefined)
    ?.genlab;
  const name = options.path === undefined && meta?.dataset
    ? `genlab classifier (${meta.dataset})`
    : path;
  return featureExtractorFromModel(model, {
    ...options,
    inputRange: options.inputRange ?? meta?.inputRange,
  }, {
    name,
    source: path,
  });
}

function lastLayerAppliesSoftmax(model: tf.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1];
  const config = last.getConfig() as { activation?: unknown };
  return config.activation === "softmax";
}

/** Turn an in-memory model into a feature extractor (what loadFeatureExtractor does after
 * loading; useful for models built in a test or notebook). */
export function featureExtractorFromModel(
  model: tf.LayersModel | tf.GraphModel,
  options: FeatureExtractorOptions = {},
  label: { name: string; source: string } = { name: "in-memory model", source: "memory" },
): FeatureExtractor {
  const batchSize = options.batchSize ?? 256;
  const inputRange: InputRange = options.inputRange ?? "[-1,1]";
  let run: (x: tf.Tensor4D) => [tf.Tensor, tf.Tensor | null];
  let inputShape: (number | null)[];

  if (model instanceof tf.GraphModel) {
    inputShape = (model.inputs[0].shape ?? [null, null, null, null]) as (number | null)[];
    const featureNode = options.featureNode ?? model.outputs[0].name;
    const probsNode = options.probsNode ?? null;
    const outputs = probsNode ? [featureNode, probsNode] : [featureNode];
    run = (x) => {
      const out = model.execute(x, outputs) as tf.Tensor | tf.Tensor[];
      const list = Array.isArray(out) ? out : [out];
      const probs = list[1] ?? null;
      return [list[0], probs && options.outputIsLogits ? tf.softmax(probs) : probs];
    };
  } else {
    inputShape = model.inputs[0].shape as (number | null)[];
    const meta = (model.getUserDefinedMetadata() as { genlab?: FeatureModelMetadata } | undefined)
      ?.genlab;
    const featureLayerName = options.featureLayer ?? meta?.featureLayer;
    let featureTensor: tf.SymbolicTensor;
    if (featureLayerName !== undefined) {
      featureTensor = model.getLayer(featureLayerName).output as tf.SymbolicTensor;
    } else {
      const dense = [...model.layers].reverse().find((l) => l.getClassName() === "Dense");
      if (dense === undefined) {
        throw new Error(
          "feature extractor: the model has no Dense layer; name the feature layer (featureLayer)",
        );
      }
      featureTensor = dense.input as tf.SymbolicTensor;
    }
    const output = model.outputs[0];
    const hasHead = featureTensor !== output && output.shape.length === 2;
    const isLogits = options.outputIsLogits ?? !lastLayerAppliesSoftmax(model);
    const both = tf.model({
      inputs: model.inputs,
      outputs: hasHead ? [featureTensor, output] : [featureTensor],
    });
    run = (x) => {
      const out = both.predict(x, { batchSize: x.shape[0] }) as tf.Tensor | tf.Tensor[];
      const list = Array.isArray(out) ? out : [out];
      const probs = hasHead ? (isLogits ? tf.softmax(list[1]) : list[1]) : null;
      return [list[0], probs];
    };
  }

  // Unknown sizes are null in layers models and -1 in graph models.
  const [, wantH, wantW, wantC] = inputShape.map((
    v,
  ) => (v === null || v === undefined || v < 0 ? null : v));
  const targetH = options.inputSize?.[0] ?? wantH ?? null;
  const targetW = options.inputSize?.[1] ?? wantW ?? null;

  const preprocess = (images: tf.Tensor4D): tf.Tensor4D => {
    let x = images;
    if (inputRange === "[0,1]") x = x.add(1).div(2);
    else if (inputRange === "[0,255]") x = x.add(1).mul(127.5);
    if (
      targetH !== null && targetW !== null && (x.shape[1] !== targetH || x.shape[2] !== targetW)
    ) {
      x = tf.image.resizeBilinear(x, [targetH, targetW]);
    }
    const c = x.shape[3];
    if (wantC !== null && c !== wantC) {
      if (c === 1) x = tf.tile(x, [1, 1, 1, wantC]);
      else if (wantC === 1) x = x.mean(3, true);
      else throw new Error(`feature extractor: cannot map ${c} channels to ${wantC}`);
    }
    return x;
  };

  const toRows = (t: tf.Tensor): tf.Tensor2D => {
    if (t.rank === 2) return t as tf.Tensor2D;
    if (t.rank === 4) return (t as tf.Tensor4D).mean([1, 2]) as tf.Tensor2D;
    return t.reshape([t.shape[0], -1]) as tf.Tensor2D;
  };

  // Probe once with a single blank image to learn the feature and class sizes.
  const probeH = targetH ?? 28;
  const probeW = targetW ?? 28;
  const probe = tf.tidy(() => {
    const [f, p] = run(preprocess(tf.zeros([1, probeH, probeW, 1]) as tf.Tensor4D));
    return p === null ? [toRows(f)] : [toRows(f), p];
  });
  const featureDim = probe[0].shape[1] as number;
  const numClasses = probe.length > 1 ? probe[1].shape[probe[1].rank - 1] : null;
  tf.dispose(probe);

  return {
    name: label.name,
    source: label.source,
    featureDim,
    numClasses,
    batchSize,
    async extract(images: tf.Tensor4D): Promise<FeatureBatch> {
      const n = images.shape[0];
      const features = new Float32Array(n * featureDim);
      const probs = numClasses === null ? null : new Float32Array(n * numClasses);
      for (let start = 0; start < n; start += batchSize) {
        const size = Math.min(batchSize, n - start);
        const out = tf.tidy(() => {
          const batch = images.slice([start, 0, 0, 0], [size, -1, -1, -1]);
          const [ft, pt] = run(preprocess(batch));
          return pt === null ? [toRows(ft)] : [toRows(ft), toRows(pt)];
        });
        try {
          features.set(await out[0].data() as Float32Array, start * featureDim);
          if (probs !== null && out.length > 1) {
            probs.set(await out[1].data() as Float32Array, start * numClasses!);
          }
        } finally {
          tf.dispose(out);
        }
      }
      return { n, dim: featureDim, features, classes: numClasses ?? 0, probs };
    },
    dispose() {
      model.dispose();
    },
  };
}
