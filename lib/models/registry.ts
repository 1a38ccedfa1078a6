/**
 * CLI name → model entry. Every model family registers here, so `deno task train <model>`,
 * experiments and notebooks build models the same way.
 */
import { UserInputError } from "../util/errors.ts";
import type { ModelEntry } from "./types.ts";
import { dcganEntry } from "./gan/dcgan.ts";
import { pixelCnnEntry } from "./autoregressive/pixelcnn.ts";
import { gatedPixelCnnEntry } from "./autoregressive/gated_pixelcnn.ts";
import { niceEntry, realNvpEntry } from "./flow/realnvp.ts";
import { pixelRnnEntry } from "./autoregressive/pixelrnn.ts";

// deno-lint-ignore no-explicit-any
export const MODELS: Record<string, ModelEntry<any>> = {
  [dcganEntry.name]: dcganEntry,
  [pixelCnnEntry.name]: pixelCnnEntry,
  [gatedPixelCnnEntry.name]: gatedPixelCnnEntry,
  [pixelRnnEntry.name]: pixelRnnEntry,
  [realNvpEntry.name]: realNvpEntry,
  [niceEntry.name]: niceEntry,
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
