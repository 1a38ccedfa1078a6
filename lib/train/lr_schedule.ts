/**
 * Learning-rate schedules: the one place a model turns a step number into a rate.
 *
 *   rate(step) = base · step / warmupSteps                         while step < warmupSteps
 *              = base · (floor + (1 − floor) · shape(progress))   after, progress ∈ [0, 1]
 *   shape: constant 1 | linear 1 − p | cosine ½(1 + cos πp)  (Loshchilov & Hutter 2017)
 *   progress p = clamp((step − warmupSteps) / (decaySteps − warmupSteps), 0, 1)
 *
 * A rate is a pure function of the step, so a resumed run continues the same schedule. The
 * caller picks the step's origin (the GAN trainers pass step − 1 so step 1 runs at the full rate).
 */
import type * as tf from "@tensorflow/tfjs";

export const LR_DECAYS = ["constant", "linear", "cosine"] as const;
export type LearningRateDecay = typeof LR_DECAYS[number];

export interface LearningRateSchedule {
  /** Peak rate, reached at the end of warm-up. */
  base: number;
  /** Linear warm-up from 0 over this many steps (Goyal et al. 2017; DDPM, Ho et al. App. B). */
  warmupSteps?: number;
  decay?: LearningRateDecay;
  /** The step where linear/cosine decay reaches the floor (must exceed warmupSteps). */
  decaySteps?: number;
  /** The final rate as a fraction of base (0 = decay to zero). */
  floor?: number;
}

/** The rate at `step` (see the module comment for the formula). */
export function learningRateAt(schedule: LearningRateSchedule, step: number): number {
  const { base, warmupSteps = 0, decay = "constant", decaySteps = 0, floor = 0 } = schedule;
  if (warmupSteps > 0 && step < warmupSteps) return base * step / warmupSteps;
  if (decay === "constant") return base;
  if (!(decaySteps > warmupSteps)) {
    throw new RangeError(`${decay} decay needs decaySteps > warmupSteps (${warmupSteps})`);
  }
  const progress = Math.min(1, Math.max(0, (step - warmupSteps) / (decaySteps - warmupSteps)));
  const shape = decay === "linear" ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
  return base * (floor + (1 - floor) * shape);
}

/** Set the rate of tfjs optimizers (Adam, RMSProp and genlab's fused Adam read the
 * `learningRate` field on every update). */
export function setLearningRate(optimizers: tf.Optimizer | tf.Optimizer[], rate: number): void {
  for (const optimizer of Array.isArray(optimizers) ? optimizers : [optimizers]) {
    (optimizer as unknown as { learningRate: number }).learningRate = rate;
  }
}
