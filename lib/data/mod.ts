/**
 * Dataset registry: the names the CLI, experiments and notebooks use.
 */
import type { ImageDataset } from "./dataset.ts";
import { UserInputError } from "../util/errors.ts";
import { loadFashionMnist } from "./fashion_mnist.ts";
import { loadMnist } from "./mnist.ts";

export * from "./dataset.ts";
export * from "./idx.ts";
export * from "./fashion_mnist.ts";
export * from "./mnist.ts";
export * from "./toy2d.ts";
export * from "./transforms.ts";
export * from "./iterator.ts";
export * from "./kmeans.ts";

export const IMAGE_DATASETS = ["mnist", "fashion-mnist"] as const;
export type ImageDatasetName = typeof IMAGE_DATASETS[number];

/** Image shape of each dataset, known without loading it (so configs validate before any I/O). */
export const IMAGE_SHAPES: Record<
  ImageDatasetName,
  { height: number; width: number; channels: number }
> = {
  "mnist": { height: 28, width: 28, channels: 1 },
  "fashion-mnist": { height: 28, width: 28, channels: 1 },
};

export function isImageDatasetName(name: string): name is ImageDatasetName {
  return (IMAGE_DATASETS as readonly string[]).includes(name);
}

const loaded = new Map<string, Promise<ImageDataset>>();

/** Load a dataset split (cached per process, so checking the data before the backend is set up
 * costs nothing later). GENLAB_DATA_DIR=<dir> reads <dir>/mnist/*.json and
 * <dir>/fashion-mnist/*.gz instead of the installed packages. */
export function loadImageDataset(name: string, split: "train" | "test"): Promise<ImageDataset> {
  const key = `${name}/${split}/${Deno.env.get("GENLAB_DATA_DIR") ?? ""}/${
    Deno.env.get("GENLAB_FASHION_MNIST_DIR") ?? ""
  }`;
  const cached = loaded.get(key);
  if (cached) return cached;
  const promise = load(name, split);
  loaded.set(key, promise);
  promise.catch(() => loaded.delete(key));
  return promise;
}

function load(name: string, split: "train" | "test"): Promise<ImageDataset> {
  switch (name) {
    case "mnist":
      return loadMnist(split);
    case "fashion-mnist":
      return loadFashionMnist(split);
    default:
      throw new UserInputError(
        `unknown dataset '${name}': use one of ${IMAGE_DATASETS.join(", ")}`,
      );
  }
}
