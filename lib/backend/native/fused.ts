/**
 * Fused kernels that tfjs does not have: ops genlab's models would otherwise build from many
 * element-wise ops. They are registered as tfjs kernels under genlab's own names on the wasm
 * backend while the native kernels are on, so model code asks tfjs (`hasKernel`) instead of
 * knowing backend names, and uses the composite ops everywhere else (cpu, webgpu, plain wasm).
 *
 *  - GenlabGroupNorm      x [B,H,W,C], γ [C], β [C]; attrs groups, eps → y, mean [B,G], invStd [B,G]
 *  - GenlabGroupNormGrad  dy, x, γ, mean, invStd; attrs groups → dx, dγ, dβ
 * (math and why: genlab_elementwise.c, "group norm"; used by lib/nn/blocks.ts groupNorm).
 */
import * as tf from "@tensorflow/tfjs";
import { heapView } from "../wasm_kernels.ts";
import type { NativeLibrary } from "./library.ts";

// deno-lint-ignore no-explicit-any
type WasmBackend = any;
type Info = tf.TensorInfo;
interface Args {
  inputs: Record<string, Info>;
  backend: WasmBackend;
  attrs: tf.NamedAttrMap;
}

export const GROUP_NORM = "GenlabGroupNorm";
export const GROUP_NORM_GRAD = "GenlabGroupNormGrad";
/** Largest group count the C kernels take (per-group sums live on the stack). */
export const GROUP_NORM_MAX_GROUPS = 4096;

let lib: NativeLibrary | null = null;
const f32 = (backend: WasmBackend, t: Info) => heapView(backend, t) as Float32Array;

function check(status: number, kernel: string): void {
  if (status !== 0) throw new Error(`native ${kernel}: invalid shape or out of memory`);
}

function groupNorm({ inputs, backend, attrs }: Args): Info[] {
  const { x, gamma, beta } = inputs;
  const groups = attrs.groups as number;
  const [b, h, w, c] = x.shape;
  const y = backend.makeOutput(x.shape, "float32");
  const mean = backend.makeOutput([b, groups], "float32");
  const invStd = backend.makeOutput([b, groups], "float32");
  check(
    lib!.gl_group_norm(
      b,
      h * w,
      c,
      groups,
      f32(backend, x),
      f32(backend, gamma),
      f32(backend, beta),
      attrs.eps as number,
      f32(backend, y),
      f32(backend, mean),
      f32(backend, invStd),
    ),
    GROUP_NORM,
  );
  return [y, mean, invStd];
}

function groupNormGrad({ inputs, backend, attrs }: Args): Info[] {
  const { dy, x, gamma, mean, invStd } = inputs;
  const groups = attrs.groups as number;
  const [b, h, w, c] = x.shape;
  const dx = backend.makeOutput(x.shape, "float32");
  const dGamma = backend.makeOutput([c], "float32");
  const dBeta = backend.makeOutput([c], "float32");
  check(
    lib!.gl_group_norm_grad(
      b,
      h * w,
      c,
      groups,
      f32(backend, dy),
      f32(backend, x),
      f32(backend, gamma),
      f32(backend, mean),
      f32(backend, invStd),
      f32(backend, dx),
      f32(backend, dGamma),
      f32(backend, dBeta),
    ),
    GROUP_NORM_GRAD,
  );
  return [dx, dGamma, dBeta];
}

const KERNELS: [string, (args: Args) => Info[]][] = [
  [GROUP_NORM, groupNorm],
  [GROUP_NORM_GRAD, groupNormGrad],
];

/** Register (on) or remove (off) the fused kernels on the wasm backend. */
export function setFusedKernels(library: NativeLibrary | null, on: boolean): void {
  if (library !== null) lib = library;
  for (const [kernelName, kernelFunc] of KERNELS) {
    const present = tf.getKernel(kernelName, "wasm") !== undefined;
    if (on && !present && lib !== null) {
      tf.registerKernel({
        kernelName,
        backendName: "wasm",
        kernelFunc: kernelFunc as unknown as tf.KernelFunc,
      });
    } else if (!on && present) {
      tf.unregisterKernel(kernelName, "wasm");
    }
  }
}
