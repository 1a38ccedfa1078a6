/**
 * CLI name → model entry. Every model family registers here, so `deno task train <model>`,
 * experiments and notebooks build models the same way.
 */
import { UserInputError } from "../util/errors.ts";
import type { ModelEntry } from "./types.ts";
import { dcganEntry } from "./gan/dcgan.ts";
import { ddpmEntry } from "./diffusion/ddpm_model.ts";
import { cvaeEntry, vaeEntry } from "./vae/vae.ts";
import { aeEntry, daeEntry } from "./vae/ae.ts";
import { vqvaeEntry } from "./vae/vqvae.ts";
import { pixelCnnEntry } from "./autoregressive/pixelcnn.ts";
import { gatedPixelCnnEntry } from "./autoregressive/gated_pixelcnn.ts";
import { niceEntry, realNvpEntry } from "./flow/realnvp.ts";
import { ganEntry } from "./gan/gan.ts";
import { acganEntry, cganEntry, infoganEntry } from "./gan/conditional.ts";
import { scganEntry } from "./gan/self_conditioned.ts";
import { wganEntry, wganGpEntry } from "./gan/wgan.ts";
import { pixelRnnEntry } from "./autoregressive/pixelrnn.ts";

// deno-lint-ignore no-explicit-any
export const MODELS: Record<string, ModelEntry<any>> = {
  [dcganEntry.name]: dcganEntry,
  [ddpmEntry.name]: ddpmEntry,
  [vaeEntry.name]: vaeEntry,
  [cvaeEntry.name]: cvaeEntry,
  [aeEntry.name]: aeEntry,
  [daeEntry.name]: daeEntry,
  [vqvaeEntry.name]: vqvaeEntry,
  [pixelCnnEntry.name]: pixelCnnEntry,
  [gatedPixelCnnEntry.name]: gatedPixelCnnEntry,
  [pixelRnnEntry.name]: pixelRnnEntry,
  [realNvpEntry.name]: realNvpEntry,
  [niceEntry.name]: niceEntry,
  [ganEntry.name]: ganEntry,
  [cganEntry.name]: cganEntry,
  [acganEntry.name]: acganEntry,
  [infoganEntry.name]: infoganEntry,
  [scganEntry.name]: scganEntry,
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
