/**
 * tfjs model files (model.json + weights.bin) on the local disk. Deno has no `file://` save or
 * load handler, so these are small custom tf.io handlers. Saving is atomic: each file is written
 * to a temporary name in the same directory and renamed into place, so a crash never leaves a
 * half-written model.json next to an older weights.bin.
 *
 * The loader reads any tfjs model.json — layers models (`tf.loadLayersModel`) and graph models
 * (`tf.loadGraphModel`, e.g. a converted InceptionV3) — with weight shards named by the manifest,
 * relative to the model.json's directory.
 */
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic } from "../util/files.ts";

/** The directory part of a path ("." when there is none). */
export function dirnameOf(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return path.slice(0, i);
}

/** A tf.io save handler writing `<dir>/model.json` and `<dir>/weights.bin`.
 * Usage: `await model.save(fileSaveHandler("results/feature-classifiers/mnist"))`. */
export function fileSaveHandler(dir: string, weightsFileName = "weights.bin"): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      await Deno.mkdir(dir, { recursive: true });
      const weightData = artifacts.weightData === undefined
        ? new ArrayBuffer(0)
        : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const manifest: tf.io.WeightsManifestConfig = [{
        paths: [weightsFileName],
        weights: artifacts.weightSpecs ?? [],
      }];
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: manifest,
      };
      if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
      if (artifacts.signature != null) modelJSON.signature = artifacts.signature;
      if (artifacts.userDefinedMetadata != null) {
        modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
      }
      if (artifacts.modelInitializer != null) {
        modelJSON.modelInitializer = artifacts.modelInitializer;
      }
      // Weights first: model.json appears (atomically) only once its weights are in place.
      await writeFileAtomic(`${dir}/${weightsFileName}`, new Uint8Array(weightData));
      await writeFileAtomic(`${dir}/model.json`, JSON.stringify(modelJSON));
      return {
        modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts),
      };
    },
  };
}

/** The parsed model.json, for inspecting its format and metadata before loading. */
export async function readModelJSON(modelJsonPath: string): Promise<tf.io.ModelJSON> {
  let text: string;
  try {
    text = await Deno.readTextFile(modelJsonPath);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`tfjs model not found: ${modelJsonPath}`);
    }
    throw error;
  }
  return JSON.parse(text) as tf.io.ModelJSON;
}

/** A tf.io load handler reading a model.json and its weight shards from disk. */
export function fileLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  const dir = dirnameOf(modelJsonPath);
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      const modelJSON = await readModelJSON(modelJsonPath);
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const shard of group.paths) {
            const bytes = await Deno.readFile(shard.startsWith("/") ? shard : `${dir}/${shard}`);
            buffers.push(
              bytes.buffer.slice(
                bytes.byteOffset,
                bytes.byteOffset + bytes.byteLength,
              ) as ArrayBuffer,
            );
          }
        }
        return [specs, buffers];
      });
    },
  };
}

/** True when the model.json holds a graph model (converted TF SavedModel / TF Hub module). */
export function isGraphModelJSON(modelJSON: tf.io.ModelJSON): boolean {
  if (modelJSON.format === "graph-model") return true;
  const topology = modelJSON.modelTopology as Record<string, unknown> | undefined;
  return topology !== undefined && "node" in topology;
}
