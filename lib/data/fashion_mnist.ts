/**
 * Fashion-MNIST (Xiao et al. 2017) from Debian's `dataset-fashion-mnist` package: the official
 * 60,000 / 10,000 train/test split, 28×28 grey, 10 classes, MIT licence.
 */
import { type ImageDataset, MissingDataError } from "./dataset.ts";
import { gunzip, parseIdx } from "./idx.ts";

export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";
export const FASHION_MNIST_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
] as const;

async function readGz(path: string): Promise<Uint8Array> {
  try {
    return await gunzip(await Deno.readFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new MissingDataError(
        `Fashion-MNIST not found at ${path}: install it with 'sudo apt-get install dataset-fashion-mnist'`,
      );
    }
    throw error;
  }
}

export async function loadFashionMnist(
  split: "train" | "test",
  dir = Deno.env.get("GENLAB_FASHION_MNIST_DIR") ?? FASHION_MNIST_DIR,
): Promise<ImageDataset> {
  const prefix = split === "train" ? "train" : "t10k";
  const [images, labels] = await Promise.all([
    readGz(`${dir}/${prefix}-images-idx3-ubyte.gz`).then(parseIdx),
    readGz(`${dir}/${prefix}-labels-idx1-ubyte.gz`).then(parseIdx),
  ]);
  const [count, height, width] = images.shape;
  if (labels.shape[0] !== count) {
    throw new Error(`Fashion-MNIST ${split}: image/label count mismatch`);
  }
  return {
    name: "fashion-mnist",
    split,
    images: images.data,
    labels: labels.data,
    count,
    height,
    width,
    channels: 1,
    numClasses: 10,
    classNames: FASHION_MNIST_CLASSES,
    provenance: `Debian dataset-fashion-mnist (${dir}), official ${split} split`,
  };
}
