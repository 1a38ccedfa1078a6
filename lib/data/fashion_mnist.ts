/**
 * Fashion-MNIST (Xiao et al. 2017) from Debian's `dataset-fashion-mnist` package: the official
 * 60,000 / 10,000 train/test split, 28×28 grey, 10 classes, MIT licence.
 */
import { type ImageDataset, MissingDataError } from "./dataset.ts";
import { gunzip, type IdxArray, parseIdx } from "./idx.ts";

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

function reinstall(path: string): string {
  return path.startsWith(FASHION_MNIST_DIR)
    ? "reinstall it with 'sudo apt-get install --reinstall dataset-fashion-mnist'"
    : `replace it with the file from ${FASHION_MNIST_DIR}, or unset GENLAB_DATA_DIR`;
}

/** Read and parse one gzipped IDX file; a missing or damaged file is a one-line error. */
async function readIdxGz(path: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new MissingDataError(
        `Fashion-MNIST not found at ${path}: install it with 'sudo apt-get install dataset-fashion-mnist'`,
      );
    }
    throw error;
  }
  try {
    return parseIdx(await gunzip(bytes));
  } catch (error) {
    throw new MissingDataError(
      `Fashion-MNIST file ${path} is damaged (${(error as Error).message}): ${reinstall(path)}`,
    );
  }
}

/** Where the IDX files are: GENLAB_FASHION_MNIST_DIR, else $GENLAB_DATA_DIR/fashion-mnist, else
 * the Debian package's directory. */
export function fashionMnistDir(): string {
  const dataDir = Deno.env.get("GENLAB_DATA_DIR");
  return Deno.env.get("GENLAB_FASHION_MNIST_DIR") ??
    (dataDir ? `${dataDir}/fashion-mnist` : FASHION_MNIST_DIR);
}

export async function loadFashionMnist(
  split: "train" | "test",
  dir = fashionMnistDir(),
): Promise<ImageDataset> {
  const prefix = split === "train" ? "train" : "t10k";
  const [images, labels] = await Promise.all([
    readIdxGz(`${dir}/${prefix}-images-idx3-ubyte.gz`),
    readIdxGz(`${dir}/${prefix}-labels-idx1-ubyte.gz`),
  ]);
  const [count, height, width] = images.shape;
  if (labels.shape[0] !== count) {
    throw new MissingDataError(
      `Fashion-MNIST ${split} in ${dir}: ${count} images but ${labels.shape[0]} labels: ` +
        reinstall(dir),
    );
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
