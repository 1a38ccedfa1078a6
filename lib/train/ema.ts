/**
 * Exponential moving average of a model's weights, owned by the trainer (any model opts in with
 * `GenerativeModel.ema()`, lib/models/types.ts).
 *
 *   shadow ← decay_n · shadow + (1 − decay_n) · live          after every optimizer step n = 1, 2, …
 *   decay_n = min(decay, (1 + n) / (warmup + n))               warmup > 0 (0 = no warm-up: decay)
 *
 * The warm-up is TensorFlow's `ExponentialMovingAverage(num_updates=n)` rule with its constant 10
 * made a parameter: early shadows average the few iterates there are instead of staying glued to
 * the random initialisation (with decay 0.999 the init would still weigh e^(−1) after 1,000
 * steps). DDPM (Ho et al. 2020, App. B) samples from an EMA of decay 0.9999.
 *
 * The shadow weights live in the same checkpoint file as everything else (`ema/<i>` tensors), and
 * the trainer samples its grids with them; `sample`/`eval` load them into the live variables.
 * All arithmetic is in `emaUpdate`, one function over all variables, so a fused native kernel can
 * replace its internals without touching callers.
 */
import * as tf from "@tensorflow/tfjs";
import { emaUpdate } from "../nn/optimizers.ts";
import type { EmaSpec } from "../models/types.ts";

export type { EmaSpec };

/** decay_n for the n-th update (n ≥ 1). */
export function emaDecayAt(n: number, decay: number, warmup: number): number {
  return warmup > 0 ? Math.min(decay, (1 + n) / (warmup + n)) : decay;
}

/** shadow_i ← d · shadow_i + (1 − d) · live_i for every i, in place: lib/nn/optimizers.ts
 * (one native call for all variables where the backend has the fused kernel, tfjs ops elsewhere). */
export { emaUpdate };

export class Ema {
  readonly shadow: tf.Variable[];
  readonly live: tf.Variable[];
  readonly decay: number;
  readonly warmup: number;
  /** Updates done so far (restored from checkpoints with the shadow weights). */
  updates = 0;

  constructor(spec: EmaSpec) {
    if (!(spec.decay >= 0 && spec.decay < 1)) throw new Error(`EMA decay ${spec.decay} ∉ [0, 1)`);
    this.live = spec.variables;
    this.decay = spec.decay;
    this.warmup = spec.warmup;
    // Starts as a copy of the initial weights; not trainable, so optimizers never see it.
    this.shadow = spec.variables.map((v) => {
      const copy = v.clone();
      const shadow = tf.variable(copy, false);
      copy.dispose(); // the variable keeps the data
      return shadow;
    });
  }

  /** Call after each optimizer step. */
  update(): void {
    this.updates++;
    emaUpdate(this.shadow, this.live, emaDecayAt(this.updates, this.decay, this.warmup));
  }

  /** Exchange live and shadow values (exact; twice = identity): sample with the average, then
   * swap back to continue training. */
  swap(): void {
    tf.tidy(() => {
      for (let i = 0; i < this.live.length; i++) {
        const live = this.live[i].clone();
        this.live[i].assign(this.shadow[i]);
        this.shadow[i].assign(live);
      }
    });
  }

  /** Run `fn` with the averaged weights in the live variables, then put the live ones back. */
  async withAveraged<T>(fn: () => Promise<T>): Promise<T> {
    this.swap();
    try {
      return await fn();
    } finally {
      this.swap();
    }
  }

  /** Checkpoint entries: `ema/<i>` → shadow tensor (live tensors; do not dispose). */
  tensors(): Map<string, tf.Tensor> {
    return new Map(this.shadow.map((v, i) => [`ema/${i}`, v]));
  }

  /** Restore from checkpoint entries written by `tensors()`. */
  restore(saved: Map<string, tf.Tensor>, updates: number): void {
    this.shadow.forEach((v, i) => {
      const value = saved.get(`ema/${i}`);
      if (!value) throw new Error(`checkpoint has no EMA weight ema/${i}`);
      if (!tf.util.arraysEqual(value.shape, v.shape)) {
        throw new Error(
          `checkpoint EMA weight ema/${i} has shape [${value.shape}], not [${v.shape}]`,
        );
      }
      v.assign(value);
    });
    this.updates = updates;
  }

  dispose(): void {
    for (const v of this.shadow) v.dispose();
  }
}
