/**
 * The four workloads of the speed report (issue 3), shared by the `deno bench` files and by
 * `deno task bench:compare`, so every number times exactly the same code:
 *
 *   gemm           1024×1024 · 1024×1024 float32 matMul
 *   dcgan          one DCGAN training step = discriminator step + generator step, batch 64, 28×28
 *   unet-train     one DDPM training step of the reference U-Net (lib/models/diffusion/unet.ts,
 *                  1,035,457 parameters): ε-prediction MSE at random t, backward, Adam (genlab's
 *                  fused adam(), lib/nn/optimizers.ts; tf.train.adam's math); batch 64
 *   unet-denoise   one denoising pass: the U-Net forward at batch 64 (one step of a sampler)
 *
 * Each step ends with a read of a scalar (a loss, or one element of the output), so asynchronous
 * backends (webgpu) are timed to completion too, without timing a download of the whole output
 * (the PyTorch anchors leave outputs in memory as well; a fresh 4 MiB host buffer alone costs
 * ≈8 ms of page faults here). The bench files pick the backend with GENLAB_BACKEND.
 */
import * as tf from "@tensorflow/tfjs";
import { Dcgan, DCGAN_DEFAULTS } from "../lib/models/gan/dcgan.ts";
import { UNet } from "../lib/models/diffusion/unet.ts";
import { adam } from "../lib/nn/optimizers.ts";

export const WORKLOADS = ["gemm", "dcgan", "unet-train", "unet-denoise"] as const;
export type Workload = typeof WORKLOADS[number];

export const WORKLOAD_TITLES: Record<Workload, string> = {
  gemm: "GEMM 1024³",
  dcgan: "DCGAN D+G step, batch 64",
  "unet-train": "U-Net training step, batch 64",
  "unet-denoise": "U-Net denoising pass, batch 64",
};

export interface Prepared {
  /** One timed step; returns after its result is on the host. */
  step: () => Promise<void>;
  dispose: () => void;
}

/** Resolve once `t` is computed, reading one element of it (not the whole tensor). */
async function computed(t: tf.Tensor): Promise<void> {
  const first = tf.tidy(() => t.reshape([-1]).slice(0, 1));
  await first.data();
  first.dispose();
}

export function isWorkload(name: string): name is Workload {
  return (WORKLOADS as readonly string[]).includes(name);
}

/** Build a workload's inputs and model (seeded, so every backend does the same work). */
export function prepare(workload: Workload, batch = 64): Prepared {
  switch (workload) {
    case "gemm": {
      const a = tf.randomNormal([1024, 1024], 0, 1, "float32", 1);
      const b = tf.randomNormal([1024, 1024], 0, 1, "float32", 2);
      return {
        step: async () => {
          const c = tf.matMul(a, b);
          await computed(c);
          c.dispose();
        },
        dispose: () => tf.dispose([a, b]),
      };
    }
    case "dcgan": {
      const model = new Dcgan(
        DCGAN_DEFAULTS,
        { range: "[-1,1]", height: 28, width: 28, channels: 1 },
        0,
      );
      const real = tf.randomUniform([batch, 28, 28, 1], -1, 1, "float32", 1) as tf.Tensor4D;
      let i = 0;
      return {
        // trainStep reads both losses, so it is complete when it resolves.
        step: async () => {
          await model.trainStep({ x: real }, i++);
        },
        dispose: () => {
          real.dispose();
          model.dispose();
        },
      };
    }
    case "unet-train": {
      const model = new UNet({}, 0);
      const x = tf.randomNormal([batch, 28, 28, 1], 0, 1, "float32", 1) as tf.Tensor4D;
      const noise = tf.randomNormal([batch, 28, 28, 1], 0, 1, "float32", 2) as tf.Tensor4D;
      const t = tf.randomUniform([batch], 0, 1000, "int32", 3).cast("float32") as tf.Tensor1D;
      const optimizer = adam({ learningRate: 2e-4 });
      const loss = () => tf.losses.meanSquaredError(noise, model.apply(x, t)) as tf.Scalar;
      return {
        step: async () => {
          const value = optimizer.minimize(loss, true, model.variables())!;
          await value.data();
          value.dispose();
        },
        dispose: () => {
          tf.dispose([x, noise, t]);
          optimizer.dispose();
          model.dispose();
        },
      };
    }
    case "unet-denoise": {
      const model = new UNet({}, 0);
      const x = tf.randomNormal([batch, 28, 28, 1], 0, 1, "float32", 1) as tf.Tensor4D;
      const t = tf.fill([batch], 500) as tf.Tensor1D;
      return {
        step: async () => {
          const epsilon = tf.tidy(() => model.apply(x, t));
          await computed(epsilon);
          epsilon.dispose();
        },
        dispose: () => {
          tf.dispose([x, t]);
          model.dispose();
        },
      };
    }
  }
}
