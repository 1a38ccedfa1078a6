/**
 * Adam / AdamW and the EMA of weights, fused into one native call for ALL variables where the
 * backend has the kernels (native: GenlabAdam / GenlabEma, lib/backend/native/fused.ts), and
 * exact tfjs ops everywhere else (cpu, wasm, webgpu).
 *
 * Why: tfjs' AdamOptimizer runs ~12 element-wise kernels per variable — about 1,100 kernel calls,
 * allocations and passes over memory per step for a 92-variable U-Net. The fused kernel reads
 * w, m, v, g once and writes w′, m′, v′ once, on all cores.
 *
 *  - `adam({learningRate, beta1, beta2, epsilon, weightDecay, decoupled})` is a tf.Optimizer
 *    (minimize / applyGradients / getWeights / setWeights / dispose) with tfjs Adam's defaults
 *    (β = 0.9, 0.999; ε = the backend's epsilon, 1e-7 for float32) and tfjs Adam's state layout
 *    — `[iter, <var>/m …, <var>/v …]` — so checkpoints of tf.train.adam load into it and back.
 *  - `emaUpdate(shadow, live, decay)`: shadow ← decay·shadow + (1 − decay)·live, in place.
 *
 * Adam (Kingma & Ba 2015, Algorithm 1, in tfjs' order of operations), at step t = iterations + 1:
 *   g ← g + λw (L2 weight decay, `decoupled: false`);  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
 *   w ← w − η · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε),
 * with decoupled weight decay (AdamW, Loshchilov & Hutter 2019, as torch.optim.AdamW) also
 *   w ← w − ηλw   (applied to the weights before the Adam update).
 * tfjs keeps β₁ᵗ as a float32 running product; here it is β₁ ** t in double (1e-7 relative apart).
 */
import * as tf from "@tensorflow/tfjs";
import { ADAM, EMA } from "../backend/native/fused.ts";

export interface AdamOptions {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  /** Default: the backend's epsilon (1e-7 for float32), as tf.train.adam. */
  epsilon?: number;
  /** λ ≥ 0: L2 decay added to the gradient, or decoupled (AdamW) decay of the weights. */
  weightDecay?: number;
  /** true: AdamW (decay the weights directly); false: L2 decay through the gradient. */
  decoupled?: boolean;
}

/** tfjs' NamedTensor (not re-exported by @tensorflow/tfjs). */
type NamedTensor = { name: string; tensor: tf.Tensor };

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

const hasKernel = (name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;

/** Adam/AdamW with one fused update for all variables where the backend supports it. */
export class FusedAdam extends tf.Optimizer {
  /** Same as tfjs' AdamOptimizer: the state and config layouts are the same. */
  static get className(): string {
    return "Adam";
  }

  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly decoupled: boolean;
  #firstMoments: Slot[] = [];
  #secondMoments: Slot[] = [];

  constructor(options: AdamOptions = {}) {
    super();
    this.learningRate = options.learningRate ?? 0.001;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? tf.backend().epsilon();
    this.weightDecay = options.weightDecay ?? 0;
    this.decoupled = options.decoupled ?? false;
    if (!(this.learningRate >= 0 && this.weightDecay >= 0)) {
      throw new Error("adam: learningRate and weightDecay must be ≥ 0");
    }
  }

  /** Whether the next update runs as one fused kernel on the current backend. */
  static fusedAvailable(): boolean {
    return hasKernel(ADAM);
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    const values: tf.Variable[] = [], m: tf.Variable[] = [], v: tf.Variable[] = [];
    const grads: tf.Tensor[] = [];
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      // State slots by position, created on first use, exactly as tfjs' Adam.
      this.#firstMoments[i] ??= {
        originalName: `${name}/m`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      this.#secondMoments[i] ??= {
        originalName: `${name}/v`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      const gradient = Array.isArray(variableGradients)
        ? variableGradients[i].tensor
        : variableGradients[name];
      if (gradient == null) return;
      values.push(value);
      m.push(this.#firstMoments[i].variable);
      v.push(this.#secondMoments[i].variable);
      grads.push(gradient);
    });
    const step = this.iterations + 1;
    const fused = FusedAdam.fusedAvailable() &&
      [...values, ...grads].every((t) => t.dtype === "float32");
    if (values.length > 0) {
      if (fused) this.#fusedUpdate(values, m, v, grads, step);
      else this.#compositeUpdate(values, m, v, grads, step);
    }
    this.incrementIterations();
  }

  #fusedUpdate(w: tf.Variable[], m: tf.Variable[], v: tf.Variable[], g: tf.Tensor[], step: number) {
    const outs = tf.engine().runKernel(
      ADAM,
      [...w, ...m, ...v, ...g] as unknown as tf.NamedTensorMap,
      {
        learningRate: this.learningRate,
        beta1: this.beta1,
        beta2: this.beta2,
        epsilon: this.epsilon,
        weightDecay: this.weightDecay,
        decoupled: this.decoupled,
        step,
      },
    ) as tf.Tensor[];
    const n = w.length;
    for (let i = 0; i < n; i++) {
      w[i].assign(outs[i]);
      m[i].assign(outs[n + i]);
      v[i].assign(outs[2 * n + i]);
    }
    tf.dispose(outs);
  }

  #compositeUpdate(
    w: tf.Variable[],
    m: tf.Variable[],
    v: tf.Variable[],
    g: tf.Tensor[],
    step: number,
  ) {
    const { beta1, beta2, learningRate: lr, weightDecay: decay } = this;
    const bias1 = 1 - beta1 ** step, bias2 = 1 - beta2 ** step;
    tf.tidy(() => {
      w.forEach((value, i) => {
        const grad = decay > 0 && !this.decoupled ? tf.add(g[i], tf.mul(value, decay)) : g[i];
        const newM = tf.add(tf.mul(m[i], beta1), tf.mul(grad, 1 - beta1));
        const newV = tf.add(tf.mul(v[i], beta2), tf.mul(tf.square(grad), 1 - beta2));
        const update = tf.div(
          tf.div(newM, bias1),
          tf.add(tf.sqrt(tf.div(newV, bias2)), this.epsilon),
        );
        const decayed = decay > 0 && this.decoupled
          ? tf.sub(value, tf.mul(value, lr * decay))
          : value;
        m[i].assign(newM);
        v[i].assign(newV);
        value.assign(tf.add(decayed, tf.mul(update, -lr)));
      });
    });
  }

  /**
   * Create the zero m and v slots of `variables` now, as the first update would (same positions,
   * same names; `iterations` unchanged, so the first update is exactly that of a fresh Adam).
   * For an optimizer that starts mid-run (e.g. a prior trained after its autoencoder): the
   * slots exist from the first step on, so the trainer's tensor count stays flat and every
   * checkpoint has the same layout. Call before the first update only.
   */
  prepareSlots(variables: tf.Variable[]): void {
    if (this.#firstMoments.length > 0) throw new Error("adam: prepareSlots after an update");
    // The order applyGradients sees: the keys of a NamedTensorMap built from `variables`.
    const names = Object.keys(Object.fromEntries(variables.map((v) => [v.name, v])));
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      this.#firstMoments[i] = {
        originalName: `${name}/m`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      this.#secondMoments[i] = {
        originalName: `${name}/v`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
    });
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const slots = [...this.#firstMoments, ...this.#secondMoments];
    return [await this.saveIterations()].concat(
      slots.map((s) => ({ name: s.originalName, tensor: s.variable })),
    );
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    const count = rest.length / 2;
    this.#disposeSlots();
    const slot = (w: NamedTensor) => ({ originalName: w.name, variable: w.tensor.variable(false) });
    this.#firstMoments = rest.slice(0, count).map(slot);
    this.#secondMoments = rest.slice(count, 2 * count).map(slot);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      weightDecay: this.weightDecay,
      decoupled: this.decoupled,
    };
  }

  #disposeSlots(): void {
    tf.dispose([...this.#firstMoments, ...this.#secondMoments].map((s) => s.variable));
    this.#firstMoments = [];
    this.#secondMoments = [];
  }

  override dispose(): void {
    super.dispose();
    this.#disposeSlots();
  }
}

/** Adam (or AdamW with `decoupled: true`) as a tf.Optimizer; see the module comment. */
export function adam(options: AdamOptions = {}): FusedAdam {
  return new FusedAdam(options);
}

/**
 * Exponential moving average of weights, in place: shadowᵢ ← decay·shadowᵢ + (1 − decay)·liveᵢ
 * for every i, as one native call on backends with the fused kernel. decay = 0 copies `live`.
 */
export function emaUpdate(shadow: tf.Variable[], live: tf.Tensor[], decay: number): void {
  if (shadow.length !== live.length) {
    throw new Error(`emaUpdate: ${shadow.length} shadow variables for ${live.length} tensors`);
  }
  if (!(decay >= 0 && decay <= 1)) throw new Error(`emaUpdate: decay ${decay} is not in [0, 1]`);
  if (shadow.length === 0) return;
  const fused = hasKernel(EMA) &&
    [...shadow, ...live].every((t) => t.dtype === "float32");
  if (fused) {
    const outs = tf.engine().runKernel(
      EMA,
      [...shadow, ...live] as unknown as tf.NamedTensorMap,
      { decay },
    ) as tf.Tensor[];
    shadow.forEach((s, i) => s.assign(outs[i]));
    tf.dispose(outs);
    return;
  }
  tf.tidy(() => {
    shadow.forEach((s, i) => s.assign(tf.add(tf.mul(s, decay), tf.mul(live[i], 1 - decay))));
  });
}
