/**
 * genlab's public API (re-exports only). Layers, top to bottom: cli → train → models → metrics /
 * sampling → nn → data → viz → backend. See README.md.
 */
export * from "./lib/backend/mod.ts";
export * from "./lib/data/mod.ts";
export * from "./lib/util/rng.ts";
export * from "./lib/util/errors.ts";
export * from "./lib/nn/init.ts";
export * from "./lib/nn/losses.ts";
export * from "./lib/nn/state.ts";
export * from "./lib/nn/blocks.ts";
export * from "./lib/nn/attention.ts";
export * from "./lib/nn/time_embedding.ts";
export * from "./lib/nn/masked_conv.ts";
export * from "./lib/models/types.ts";
export * from "./lib/models/registry.ts";
export * from "./lib/models/gan/dcgan.ts";
export * from "./lib/models/gan/gan.ts";
export * from "./lib/models/gan/conditional.ts";
export * from "./lib/models/gan/self_conditioned.ts";
export * from "./lib/models/gan/wgan.ts";
export * from "./lib/models/gan/common.ts";
export * from "./lib/models/gan/diagnostics.ts";
export * from "./lib/models/diffusion/unet.ts";
export * from "./lib/models/diffusion/ddpm_model.ts";
export * from "./lib/models/vae/gaussian.ts";
export {
  buildConvDecoder,
  buildConvEncoder,
  type ConvCoderOptions,
  flatInput,
  gaussianEncode,
  withCondition,
} from "./lib/models/vae/networks.ts";
export * from "./lib/models/vae/likelihoods.ts";
export * from "./lib/models/vae/ae.ts";
export * from "./lib/models/vae/vae.ts";
export * from "./lib/models/vae/vqvae.ts";
export * from "./lib/models/vi/toy.ts";
export * from "./lib/models/autoregressive/discrete.ts";
export * from "./lib/models/autoregressive/pixelcnn.ts";
export * from "./lib/models/autoregressive/gated_pixelcnn.ts";
export * from "./lib/models/autoregressive/pixelrnn.ts";
export * from "./lib/models/flow/layers.ts";
export * from "./lib/models/flow/realnvp.ts";
export * from "./lib/models/flow/flow2d.ts";
export * from "./lib/metrics/dataset_nll.ts";
export * from "./lib/train/trainer.ts";
export * from "./lib/train/ema.ts";
export * from "./lib/train/lr_schedule.ts";
export * from "./lib/train/run_dir.ts";
export * from "./lib/train/checkpoint.ts";
export * from "./lib/util/files.ts";
export * from "./lib/viz/mod.ts";
export * from "./lib/metrics/mod.ts";
export * from "./lib/sampling/mod.ts";
