/**
 * Toy 2-D distributions, generated in code (the classic GAN mode-collapse testbeds).
 */
import { Rng } from "../util/rng.ts";

export const TOY2D_NAMES = ["8gaussians", "25gaussians", "swissroll", "moons"] as const;
export type Toy2dName = typeof TOY2D_NAMES[number];

/** n points as a flat Float32Array [x0, y0, x1, y1, ...]. */
export function sampleToy2d(name: Toy2dName, n: number, rng: Rng): Float32Array {
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    let x: number;
    let y: number;
    switch (name) {
      case "8gaussians": {
        // 8 modes on a circle of radius 2, std 0.02 (as in Metz et al.'s unrolled GAN).
        const k = rng.int(8);
        x = 2 * Math.cos((2 * Math.PI * k) / 8) + 0.02 * rng.normal();
        y = 2 * Math.sin((2 * Math.PI * k) / 8) + 0.02 * rng.normal();
        break;
      }
      case "25gaussians": {
        // a 5×5 grid with spacing 1 centred at 0, std 0.05.
        x = rng.int(5) - 2 + 0.05 * rng.normal();
        y = rng.int(5) - 2 + 0.05 * rng.normal();
        break;
      }
      case "swissroll": {
        // sklearn's make_swiss_roll projected to 2-D, scaled to roughly [-2, 2].
        const t = 1.5 * Math.PI * (1 + 2 * rng.uniform());
        x = (t * Math.cos(t)) / 7.5 + 0.05 * rng.normal();
        y = (t * Math.sin(t)) / 7.5 + 0.05 * rng.normal();
        break;
      }
      case "moons": {
        // sklearn's make_moons with noise 0.05, centred.
        const t = Math.PI * rng.uniform();
        if (rng.uniform() < 0.5) {
          x = Math.cos(t) - 0.5;
          y = Math.sin(t) - 0.25;
        } else {
          x = 1 - Math.cos(t) - 0.5;
          y = 0.5 - Math.sin(t) - 0.25;
        }
        x += 0.05 * rng.normal();
        y += 0.05 * rng.normal();
        break;
      }
      default:
        throw new Error(`unknown toy distribution '${name}': use one of ${TOY2D_NAMES.join(", ")}`);
    }
    out[2 * i] = x;
    out[2 * i + 1] = y;
  }
  return out;
}

/** The mixture components of the two mode-collapse testbeds (centres and per-axis std), as
 * sampled above: what the diagnostics (lib/models/gan/diagnostics.ts) count modes against. */
export function toy2dModes(name: Toy2dName): { centers: Array<[number, number]>; sigma: number } {
  switch (name) {
    case "8gaussians":
      return {
        centers: Array.from({ length: 8 }, (_, k) =>
          [
            2 * Math.cos((2 * Math.PI * k) / 8),
            2 * Math.sin((2 * Math.PI * k) / 8),
          ] as [number, number]),
        sigma: 0.02,
      };
    case "25gaussians":
      return {
        centers: Array.from({ length: 25 }, (_, k) => [(k % 5) - 2, Math.floor(k / 5) - 2]),
        sigma: 0.05,
      };
    default:
      throw new Error(`'${name}' is not a mixture of gaussians: modes only for 8/25gaussians`);
  }
}

// ---------------------------------------------------------------------------------------------
// 2-D points as a training dataset: `toy:<name>` (e.g. `toy:8gaussians`)
//
// The trainer and the model contract speak NHWC tensors; a batch of points is served as
// [N, 1, 1, 2] (one "pixel" with two channels: x and y), so `Batch`, `sample()` and the
// checkpoint/iterator machinery stay unchanged. Models flatten it to [N, 2]. Points are in data
// units (the ring has radius 2), not scaled to [-1, 1]: generators for points end in a linear layer.

export const TOY_DATASET_PREFIX = "toy:";
export const TOY_DATASETS = TOY2D_NAMES.map((n) => `${TOY_DATASET_PREFIX}${n}`);

export function isToyDatasetName(name: string): boolean {
  return name.startsWith(TOY_DATASET_PREFIX) &&
    (TOY2D_NAMES as readonly string[]).includes(name.slice(TOY_DATASET_PREFIX.length));
}

/** `toy:8gaussians` → `8gaussians`. */
export function toyName(dataset: string): Toy2dName {
  return dataset.slice(TOY_DATASET_PREFIX.length) as Toy2dName;
}

/** Shape of a point "image" (so configs validate as for image datasets). */
export const TOY_SHAPE = { height: 1, width: 1, channels: 2 } as const;
