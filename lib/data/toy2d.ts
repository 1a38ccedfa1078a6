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
