/**
 * Which S of the T training timesteps a sampler visits (descending), with diffusers' three
 * conventions (Lin et al. 2024, Table 2):
 *   linspace — round(linspace(0, T−1, S)): starts at T−1 and ends at 0;
 *   leading  — (T div S)·i, i < S: DDIM's original choice; ends at 0 but starts below T−1
 *              (e.g. 980 for T = 1000, S = 50);
 *   trailing — round(T − i·T/S) − 1: starts at T−1 (the pure-noise end), ends at T/S − 1.
 * All three give T−1, …, 0 for S = T.
 */
import { UserInputError } from "../../util/errors.ts";

export const TIMESTEP_SPACINGS = ["linspace", "leading", "trailing"] as const;
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
    default:
      throw new UserInputError(
        `unknown timestep spacing "${spacing}"; use one of ${TIMESTEP_SPACINGS.join(", ")}`,
      );
  }
  return out;
}
