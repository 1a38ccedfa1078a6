/**
 * RealNVP — Dinh, Sohl-Dickstein & Bengio, "Density estimation using Real NVP" (2017) — and NICE
 * (Dinh, Krueger & Bengio 2015) as its additive special case, sized for 28×28 greyscale images.
 *
 * Multi-scale architecture (RealNVP §3.6, Fig. 4), each coupling preceded by actnorm (Glow):
 *
 *   28×28×1  : n checkerboard couplings → squeeze → 14×14×4 : n channel couplings → factor out 2
 *   14×14×2  : n checkerboard couplings → squeeze → 7×7×8   : n channel couplings → factor out 4
 *   7×7×4    : n+1 checkerboard couplings                                        → z
 *
 * Factored-out halves are Gaussian latents at their scale (eq. 17). Training data: the byte k is
 * dequantized, y = (k + u)/256, u ~ U[0,1), then x = logit(α + (1 − 2α)y) (§4.1); the NLL counts
 * the logit's log-det and the 256^D of the bins, so
 *
 *   −log P(k) ≤ −log p_Z(f(x)) − log|det ∂f/∂x| − log|det ∂x/∂y| + D·log 256     (nats),
 *
 * reported as bits/dim = that / (D ln 2) (lib/metrics/likelihood.ts). `nll(batch)` returns it.
 *
 * NICE: the same stack with additive couplings (s ≡ 0, volume preserving); the actnorm scales play
 * the part of NICE's diagonal scaling layer (NICE eq. 9), the only volume change left.
 */
import * as tf from "@tensorflow/tfjs";
import { bitsPerDim, dequantize } from "../../metrics/likelihood.ts";
import { ParamScope } from "../../nn/blocks.ts";
import { adam, type FusedAdam } from "../../nn/optimizers.ts";
import type { WeightOwner } from "../../nn/state.ts";
import { UserInputError } from "../../util/errors.ts";
import { Rng } from "../../util/rng.ts";
import type { Batch, DataSpec, GenerativeModel, ModelEntry, SampleOptions } from "../types.ts";
import { type ConfigOf, defineConfig, int, number, oneOf } from "../config.ts";
import {
  ActNorm,
  AffineCoupling,
  couplingMask,
  CouplingNetwork,
  type FlowLayer,
  inverseLogitTransform,
  logitTransform,
  type MaskKind,
  Squeeze,
  standardNormalLogProb,
} from "./layers.ts";

// ---------------------------------------------------------------------------------------------
// config

function flowConfig(name: string, coupling: "affine" | "additive") {
  return defineConfig(name, {
    scales: int(3, { min: 1, max: 3 }, "scales of the multi-scale stack (3 on 28×28: 28, 14, 7)"),
    couplingsPerStage: int(3, { min: 1, max: 8 }, "couplings per stage (paper: 3)"),
    hidden: int(32, { min: 4, max: 256 }, "channels of the coupling networks"),
    depth: int(1, { min: 0, max: 8 }, "hidden conv layers of each coupling network"),
    coupling: oneOf(
      ["affine", "additive"],
      coupling,
      "affine (RealNVP) or additive (NICE, volume preserving)",
    ),
    alpha: number(0.05, { gt: 0, lt: 0.5 }, "logit preprocessing α (RealNVP §4.1: 0.05)"),
    learningRate: number(1e-3, { gt: 0, max: 1 }, "Adam learning rate"),
  }, {
    dataRules: [
      (_c, data) =>
        data.channels === 1 ? undefined : `needs greyscale images, got ${data.channels} channels`,
      (c, data) =>
        data.height % 2 ** (c.scales - 1) === 0 && data.width % 2 ** (c.scales - 1) === 0
          ? undefined
          : `scales=${c.scales} needs image sides divisible by ${2 ** (c.scales - 1)}`,
    ],
  });
}

export const REALNVP_CONFIG = flowConfig("realnvp", "affine");
export const NICE_CONFIG = flowConfig("nice", "additive");
export type FlowConfig = ConfigOf<typeof REALNVP_CONFIG>;

// ---------------------------------------------------------------------------------------------
// the flow

interface Stage {
  layers: FlowLayer[];
  /** Factor out half the channels after this stage (all but the last stage). */
  split: boolean;
}

/** A stack of flow layers with optional multi-scale factor-out; x ↦ (z₁, …, z_S). */
export class MultiScaleFlow {
  readonly variables: tf.Variable[];

  constructor(readonly stages: Stage[], variables: tf.Variable[]) {
    this.variables = variables;
  }

  /** Every layer in order (for layer-by-layer views). */
  get layers(): FlowLayer[] {
    return this.stages.flatMap((s) => s.layers);
  }

  /** x → latents (factored-out parts, then the last one) and Σ log|det J| per example. */
  forward(x: tf.Tensor4D): { zs: tf.Tensor4D[]; logDet: tf.Tensor1D } {
    return tf.tidy(() => {
      let h = x;
      let logDet = tf.zeros([x.shape[0]]) as tf.Tensor1D;
      const zs: tf.Tensor4D[] = [];
      for (const stage of this.stages) {
        for (const layer of stage.layers) {
          const out = layer.forward(h);
          h = out.y;
          logDet = logDet.add(out.logDet);
        }
        if (stage.split) {
          const [z, rest] = tf.split(h, 2, 3) as tf.Tensor4D[];
          zs.push(z);
          h = rest;
        }
      }
      zs.push(h);
      return { zs, logDet };
    });
  }

  inverse(zs: tf.Tensor4D[]): tf.Tensor4D {
    return tf.tidy(() => {
      let k = zs.length - 1;
      let h = zs[k];
      for (let s = this.stages.length - 1; s >= 0; s--) {
        const stage = this.stages[s];
        if (stage.split) h = tf.concat([zs[--k], h], 3);
        for (let l = stage.layers.length - 1; l >= 0; l--) h = stage.layers[l].inverse(h);
      }
      return h;
    });
  }

  /** log p(x) = Σ log N(z; 0, I) + Σ log|det J| (nats per example). */
  logProb(x: tf.Tensor4D): tf.Tensor1D {
    return tf.tidy(() => {
      const { zs, logDet } = this.forward(x);
      return zs.reduce((acc, z) => acc.add(standardNormalLogProb(z)), logDet) as tf.Tensor1D;
    });
  }

  /** Shapes of the latents for an input shape (no compute). */
  latentShapes(
    n: number,
    height: number,
    width: number,
    channels: number,
  ): Array<[number, number, number, number]> {
    const shapes: Array<[number, number, number, number]> = [];
    let [h, w, c] = [height, width, channels];
    for (const stage of this.stages) {
      for (const layer of stage.layers) {
        if (layer.kind === "squeeze") [h, w, c] = [h / 2, w / 2, 4 * c];
      }
      if (stage.split) {
        shapes.push([n, h, w, c / 2]);
        c /= 2;
      }
    }
    shapes.push([n, h, w, c]);
    return shapes;
  }

  /** Data-dependent actnorm init: run a batch through, initialising each actnorm on its input. */
  initialize(x: tf.Tensor4D): void {
    tf.tidy(() => {
      let h = x;
      for (const stage of this.stages) {
        for (const layer of stage.layers) {
          if (layer instanceof ActNorm) layer.initialize(h);
          h = layer.forward(h).y;
        }
        if (stage.split) h = tf.split(h, 2, 3)[1] as tf.Tensor4D;
      }
    });
  }

  dispose(): void {
    this.layers.forEach((l) => l.dispose?.());
    this.variables.forEach((v) => v.dispose());
  }
}

/** One stage: per coupling an actnorm then a coupling with alternating mask parity. */
function couplingStage(
  p: ParamScope,
  kind: MaskKind,
  count: number,
  shape: { height: number; width: number; channels: number },
  options: { hidden: number; depth: number; additive: boolean; kernelSize: number },
): FlowLayer[] {
  const layers: FlowLayer[] = [];
  for (let k = 0; k < count; k++) {
    const scope = p.child(`${kind}${k}`);
    layers.push(new ActNorm(scope.child("actnorm"), shape.channels));
    const network = new CouplingNetwork(
      scope.child("net"),
      shape.channels,
      options.hidden,
      options.depth,
      options.kernelSize,
    );
    const mask = couplingMask(kind, shape.height, shape.width, shape.channels, (k % 2) as 0 | 1);
    layers.push(new AffineCoupling(network, mask, options.additive));
  }
  return layers;
}

/** The RealNVP multi-scale stack for H×W×C images. */
export function buildImageFlow(
  config: FlowConfig,
  data: Pick<DataSpec, "height" | "width" | "channels">,
  rng: Rng,
): MultiScaleFlow {
  const p = ParamScope.root(rng, config.coupling === "additive" ? "nice" : "realnvp");
  const options = {
    hidden: config.hidden,
    depth: config.depth,
    additive: config.coupling === "additive",
    kernelSize: 3,
  };
  let shape = { height: data.height, width: data.width, channels: data.channels };
  const stages: Stage[] = [];
  for (let s = 0; s < config.scales; s++) {
    const scope = p.child(`scale${s}`);
    const last = s === config.scales - 1;
    const n = config.couplingsPerStage + (last ? 1 : 0);
    const layers = couplingStage(scope, "checkerboard", n, shape, options);
    if (!last) {
      layers.push(new Squeeze());
      shape = { height: shape.height / 2, width: shape.width / 2, channels: 4 * shape.channels };
      layers.push(...couplingStage(scope, "channel", config.couplingsPerStage, shape, options));
      shape = { ...shape, channels: shape.channels / 2 };
    }
    stages.push({ layers, split: !last });
  }
  return new MultiScaleFlow(stages, p.variables);
}

// ---------------------------------------------------------------------------------------------
// model

export class FlowImageModel implements GenerativeModel {
  readonly rng: Rng;
  readonly dataSpec: DataSpec;
  readonly flow: MultiScaleFlow;
  readonly #optimizer: FusedAdam;

  constructor(
    readonly name: string,
    readonly config: FlowConfig,
    data: DataSpec,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    this.dataSpec = { range: "[0,1]", height: data.height, width: data.width, channels: 1 };
    this.flow = buildImageFlow(config, this.dataSpec, this.rng.fork());
    // tf.train.adam's math and state layout, one fused native update where the backend has it
    // (and an exact step count, so a resumed run continues bit for bit).
    this.#optimizer = adam({ learningRate: config.learningRate });
  }

  get dims(): number {
    return this.dataSpec.height * this.dataSpec.width * this.dataSpec.channels;
  }

  /** [0,1] pixels → dequantized y = (k + u)/256 (u ~ U[0,1), or u = ½ when `seed` is null). */
  dequantize(x01: tf.Tensor4D, seed: number | null): tf.Tensor4D {
    return tf.tidy(() => {
      const bytes = x01.mul(255).round() as tf.Tensor4D;
      return seed === null
        ? bytes.add(0.5).div(256) as tf.Tensor4D
        : dequantize(bytes, seed, "[0,1]");
    });
  }

  /** −log P(bytes) upper bound per image in nats (one dequantization sample), [N]. */
  discreteNll(y: tf.Tensor4D): tf.Tensor1D {
    return tf.tidy(() => {
      const { x, logDet } = logitTransform(y, this.config.alpha);
      return this.flow.logProb(x).add(logDet).neg().add(this.dims * Math.log(256)) as tf.Tensor1D;
    });
  }

  async trainStep(batch: Batch, step: number): Promise<Record<string, number>> {
    const y = this.dequantize(batch.x, this.rng.seed());
    if (step === 1) {
      tf.tidy(() => this.flow.initialize(logitTransform(y, this.config.alpha).x));
    }
    const loss = tf.tidy(() =>
      this.#optimizer.minimize(
        () => this.discreteNll(y).mean().div(this.dims),
        true,
        this.flow.variables,
      )!
    );
    y.dispose();
    const [perDim] = await loss.data();
    loss.dispose();
    const nats = perDim * this.dims;
    return { nll: nats, bits_per_dim: bitsPerDim(nats, this.dims) };
  }

  /** 8-bit NLL per image in nats (dequantization upper bound, one sample of u). */
  async nll(batch: Batch): Promise<Float64Array> {
    const nats = tf.tidy(() => this.discreteNll(this.dequantize(batch.x, this.rng.seed())));
    const out = Float64Array.from(await nats.data());
    nats.dispose();
    return out;
  }

  /** Images in [0,1] → latents (mid-bin dequantization, deterministic). */
  encode(x01: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const { x } = logitTransform(this.dequantize(x01, null), this.config.alpha);
      return this.flow.forward(x).zs;
    });
  }

  /** Latents → images in [−1, 1]. */
  decode(zs: tf.Tensor4D[]): tf.Tensor4D {
    return tf.tidy(() => {
      const y = inverseLogitTransform(this.flow.inverse(zs), this.config.alpha);
      return y.clipByValue(0, 1).mul(2).sub(1) as tf.Tensor4D;
    });
  }

  /** Straight-line interpolation between the latents of two [0,1] images, `steps` frames. */
  interpolate(a: tf.Tensor4D, b: tf.Tensor4D, steps: number): tf.Tensor4D {
    return tf.tidy(() => {
      const za = this.encode(a);
      const zb = this.encode(b);
      const ts = tf.linspace(0, 1, steps).reshape([steps, 1, 1, 1]);
      const zs = za.map((z, i) => tf.sub(1, ts).mul(z).add(ts.mul(zb[i])) as tf.Tensor4D);
      return this.decode(zs);
    });
  }

  sample(n: number, options: SampleOptions = {}): Promise<tf.Tensor4D> {
    const method = options.method ?? {};
    for (const key of Object.keys(method)) {
      if (key !== "temperature") {
        throw new UserInputError(`${this.name} sampling option '${key}' unknown: use temperature`);
      }
    }
    const temperature = Number(method.temperature ?? 1);
    if (!(temperature > 0)) throw new UserInputError("temperature must be > 0");
    const seed = options.seed ?? this.rng.seed();
    const { height, width, channels } = this.dataSpec;
    return Promise.resolve(tf.tidy(() => {
      const zs = this.flow.latentShapes(n, height, width, channels).map((shape, i) =>
        tf.randomNormal(shape, 0, temperature, "float32", seed + i) as tf.Tensor4D
      );
      const images = this.decode(zs);
      options.onProgress?.(1, 1);
      return images;
    }));
  }

  weightGroups(): Record<string, WeightOwner> {
    return { flow: this.flow.variables };
  }

  optimizers(): Record<string, tf.Optimizer> {
    return { adam: this.#optimizer };
  }

  dispose(): void {
    this.flow.dispose();
    this.#optimizer.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// registry entries

export const realNvpEntry: ModelEntry<FlowConfig> = {
  name: "realnvp",
  description: "RealNVP (Dinh et al. 2017): affine couplings, multi-scale, exact NLL in bits/dim",
  config: REALNVP_CONFIG,
  quick: { scales: 2, couplingsPerStage: 2, hidden: 8, steps: 20, batch: 16 },
  defaultDataset: "fashion-mnist",
  create: (config, data, seed) => new FlowImageModel("realnvp", config, data, seed),
};

export const niceEntry: ModelEntry<FlowConfig> = {
  name: "nice",
  description: "NICE (Dinh et al. 2015): additive couplings (volume preserving) + scaling",
  config: NICE_CONFIG,
  quick: { scales: 2, couplingsPerStage: 2, hidden: 8, steps: 20, batch: 16 },
  defaultDataset: "fashion-mnist",
  create: (config, data, seed) => new FlowImageModel("nice", config, data, seed),
};
