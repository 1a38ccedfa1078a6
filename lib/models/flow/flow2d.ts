/**
 * A RealNVP flow on 2-D points (the toy sets of lib/data/toy2d.ts), built from the same layers as
 * the image flows: points are [N, 1, 1, 2] tensors, couplings use channel masks that alternate
 * which coordinate is transformed, and the s/t networks are 1×1 convolutions (= MLPs).
 *
 * For pictures of the density "layer by layer": `logDensityAfter(points, k)` is the density of
 * h_k = f_k ∘ … ∘ f_1(x) — the data after k layers — under the model,
 *
 *   log p_k(h) = log N(f_L ∘ … ∘ f_{k+1}(h); 0, I) + Σ_{l>k} log|det ∂f_l|,
 *
 * so k = 0 is the model density of the data and k = L the standard normal: the heat maps show the
 * flow warping the data density into a Gaussian one layer at a time.
 */
import * as tf from "@tensorflow/tfjs";
import { ParamScope } from "../../nn/blocks.ts";
import { adam, type FusedAdam } from "../../nn/optimizers.ts";
import { Rng } from "../../util/rng.ts";
import {
  ActNorm,
  AffineCoupling,
  couplingMask,
  CouplingNetwork,
  type FlowLayer,
  standardNormalLogProb,
} from "./layers.ts";
import { MultiScaleFlow } from "./realnvp.ts";

export interface Flow2dOptions {
  couplings?: number;
  hidden?: number;
  depth?: number;
  additive?: boolean;
  learningRate?: number;
  seed?: number;
}

export class Flow2d {
  readonly flow: MultiScaleFlow;
  readonly optimizer: FusedAdam;
  #initialized = false;

  constructor(options: Flow2dOptions = {}) {
    const { couplings = 8, hidden = 64, depth = 2, additive = false, seed = 0 } = options;
    const p = ParamScope.root(new Rng(seed), "flow2d");
    const layers: FlowLayer[] = [];
    for (let k = 0; k < couplings; k++) {
      const scope = p.child(`coupling${k}`);
      layers.push(new ActNorm(scope.child("actnorm"), 2));
      const network = new CouplingNetwork(scope.child("net"), 2, hidden, depth, 1);
      layers.push(
        new AffineCoupling(network, couplingMask("channel", 1, 1, 2, (k % 2) as 0 | 1), additive),
      );
    }
    this.flow = new MultiScaleFlow([{ layers, split: false }], p.variables);
    this.optimizer = adam({ learningRate: options.learningRate ?? 1e-3 });
  }

  /** Flat [x0, y0, x1, y1, …] → [N, 1, 1, 2]. */
  static points(flat: Float32Array): tf.Tensor4D {
    return tf.tensor4d(flat, [flat.length / 2, 1, 1, 2]);
  }

  get layers(): FlowLayer[] {
    return this.flow.layers;
  }

  /** One Adam step on −mean log p(x) (actnorm is initialised from the first batch). */
  async trainStep(points: tf.Tensor4D): Promise<number> {
    if (!this.#initialized) {
      this.flow.initialize(points);
      this.#initialized = true;
    }
    const loss = tf.tidy(() =>
      this.optimizer.minimize(
        () => this.flow.logProb(points).mean().neg() as tf.Scalar,
        true,
        this.flow.variables,
      )!
    );
    const [value] = await loss.data();
    loss.dispose();
    return value;
  }

  /** log p(x) under the model, per point. */
  logDensity(points: tf.Tensor4D): tf.Tensor1D {
    return this.flow.logProb(points);
  }

  /** h_k: the points pushed through the first k layers. */
  forwardTo(points: tf.Tensor4D, k: number): tf.Tensor4D {
    return tf.tidy(() => {
      let h = points;
      for (const layer of this.layers.slice(0, k)) h = layer.forward(h).y;
      return h;
    });
  }

  /** Density of h_k under the model (see the file comment), evaluated at `points` = h values. */
  logDensityAfter(points: tf.Tensor4D, k: number): tf.Tensor1D {
    return tf.tidy(() => {
      let h = points;
      let logDet = tf.zeros([points.shape[0]]) as tf.Tensor1D;
      for (const layer of this.layers.slice(k)) {
        const out = layer.forward(h);
        h = out.y;
        logDet = logDet.add(out.logDet);
      }
      return standardNormalLogProb(h).add(logDet) as tf.Tensor1D;
    });
  }

  /** n samples x = f⁻¹(z), z ~ N(0, I), as [N, 1, 1, 2]. */
  sample(n: number, seed: number): tf.Tensor4D {
    return tf.tidy(() =>
      this.flow.inverse([tf.randomNormal([n, 1, 1, 2], 0, 1, "float32", seed) as tf.Tensor4D])
    );
  }

  dispose(): void {
    this.flow.dispose();
    this.optimizer.dispose();
  }
}
