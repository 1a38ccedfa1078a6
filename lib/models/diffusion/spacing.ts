/**
 * Which S of the T training timesteps a sampler visits (descending), with diffusers' three
 * conventions (Lin et al. 2024, Table 2):
 *   linspace — round(linspace(0, T−1, S)): starts at T−1 and ends at 0;
 *   leading  — (T div S)·i, i < S: DDIM's original choice; ends at 0 but starts below T−1
 *              (e.g. 980 for T = 1000, S = 50);
 *   trailing — round(T − i·T/S) − 1: starts at T−1 (the pure-noise end), ends at T/S − 1;
 * and the DDIM paper's fourth (Song et al. 2021, App. D.2, their CIFAR-10 choice):
 *   quadratic — ⌊c·i²⌋ with c·(S−1)² = T−1 ("c such that the last is close to T"; the official
 *               code's c stops at 0.8·T): dense near t = 0, sparse at high noise. Where ⌊c·i²⌋
 *               repeats (c < 1 at small i) a step is kept one above the previous, so S stay
 *               distinct (the official code keeps the repeat: a no-op step that costs a call).
 * All four give T−1, …, 0 for S = T.
 */
import { UserInputError } from "../../util/errors.ts";

export const TIMESTEP_SPACINGS = ["linspace", "leading", "trailing", "quadratic"] as const;
export type TimestepSpacing = typeof TIMESTEP_SPACINGS[number];

export function spacedTimesteps(T: number, S: number, spacing: TimestepSpacing): number[] {
  if (!Number.isInteger(S) || S < 1 || S > T) {
    throw new UserInputError(`sampling steps must be an integer in [1, ${T}], got ${S}`);
  }
  const out: number[] = [];
  switch (spacing) {
    case "linspace":
      for (let i = S - 1; i >= 0; i--) {
        out.push(S === 1 ? T - 1 : Math.round(i * (T - 1) / (S - 1)));
      }
      break;
    case "leading": {
      const ratio = Math.floor(T / S);
      for (let i = S - 1; i >= 0; i--) out.push(i * ratio);
      break;
    }
    case "trailing":
      for (let i = 0; i < S; i++) out.push(Math.round(T - i * T / S) - 1);
      break;
    case "quadratic": {
      const ascending: number[] = [];
      for (let i = 0; i < S; i++) {
        // ⌊(T−1)·i²/(S−1)²⌋: exact integer arithmetic, so i = S−1 lands on T−1. The bump never
        // passes T−1: ⌊c·j²⌋ + (S−1−j) ≤ T−1 for every j (c·j² − j is convex, checked at its ends).
        const t = S === 1 ? T - 1 : Math.floor(((T - 1) * i * i) / ((S - 1) * (S - 1)));
        ascending.push(i === 0 ? t : Math.max(t, ascending[i - 1] + 1));
      }
      out.push(...ascending.reverse());
      break;
    }
    default:
      throw new UserInputError(
        `unknown timestep spacing "${spacing}"; use one of ${TIMESTEP_SPACINGS.join(", ")}`,
      );
  }
  return out;
}
