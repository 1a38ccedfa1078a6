/**
 * CLI name → model entry. Every model family registers here, so `deno task train <model>`,
 * experiments and notebooks build models the same way.
 */
import { UserInputError } from "../util/errors.ts";
import type { ModelEntry } from "./types.ts";
import { dcganEntry } from "./gan/dcgan.ts";
import { ganEntry } from "./gan/gan.ts";
import { acganEntry, cganEntry } from "./gan/conditional.ts";
import { wganEntry, wganGpEntry } from "./gan/wgan.ts";

// deno-lint-ignore no-explicit-any
export const MODELS: Record<string, ModelEntry<any>> = {
  [dcganEntry.name]: dcganEntry,
  [ganEntry.name]: ganEntry,
  [cganEntry.name]: cganEntry,
  [acganEntry.name]: acganEntry,
  [wganEntry.name]: wganEntry,
  [wganGpEntry.name]: wganGpEntry,
};

export function getModelEntry(name: string): ModelEntry {
  const entry = MODELS[name];
  if (!entry) {
    throw new UserInputError(
      `unknown model '${name}': available models are ${Object.keys(MODELS).join(", ")}`,
    );
  }
  return entry;
}
