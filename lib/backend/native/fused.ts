/**
 * Fused kernels that tfjs does not have: ops genlab's models would otherwise build from many
 * element-wise ops. They are registered as tfjs kernels under genlab's own names on the wasm
 * backend while the native kernels are on, so model code asks tfjs (`hasKernel`) instead of
 * knowing backend names, and uses the composite ops everywhere else (cpu, webgpu, plain wasm).
 *
 *  - GenlabGroupNorm      x [B,H,W,C], γ [C], β [C]; attrs groups, eps, silu → y, mean [B,G],
 *                         invStd [B,G]  (silu: y = SiLU(GN(x)), the pair every DDPM block uses)
 *  - GenlabGroupNormGrad  dy, x, γ, β, mean, invStd; attrs groups, silu → dx, dγ, dβ
 *    (math and why: genlab_elementwise.c, "group norm"; used by lib/nn/blocks.ts groupNorm)
 *  - GenlabSilu           x → x·σ(x);  GenlabSiluGrad  dy, x → dx   (lib/nn/blocks.ts silu)
 *  - GenlabAdam           [w₁…wₙ, m₁…mₙ, v₁…vₙ, g₁…gₙ]; attrs learningRate, beta1, beta2,
 *                         epsilon, weightDecay, decoupled, step → [w′…, m′…, v′…]: one Adam/AdamW
 *                         step for ALL variables in one native call (lib/nn/optimizers.ts)
 *  - GenlabEma            [s₁…sₙ, x₁…xₙ]; attrs decay → [d·sᵢ + (1−d)·xᵢ …] (lib/nn/optimizers.ts)
 * The optimizer kernels address every tensor as an offset into the wasm heap, so one FFI call
 * covers any number of variables (genlab_elementwise.c, "fused optimizer updates").
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
export const SILU = "GenlabSilu";
export const SILU_GRAD = "GenlabSiluGrad";
export const ADAM = "GenlabAdam";
export const EMA = "GenlabEma";

/** Calls of the fused optimizer kernels since start (tests prove the fused path ran). */
export const fusedOptimizerCounters = { adam: 0, ema: 0 };
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
      attrs.silu ? 1 : 0,
    ),
    GROUP_NORM,
  );
  return [y, mean, invStd];
}

function groupNormGrad({ inputs, backend, attrs }: Args): Info[] {
  const { dy, x, gamma, beta, mean, invStd } = inputs;
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
      beta === undefined ? null : f32(backend, beta),
      attrs.silu ? 1 : 0,
    ),
    GROUP_NORM_GRAD,
  );
  return [dx, dGamma, dBeta];
}

function silu({ inputs, backend }: Args): Info {
  const { x } = inputs;
  const y = backend.makeOutput(x.shape, "float32");
  lib!.gl_silu(BigInt(tf.util.sizeFromShape(x.shape)), f32(backend, x), f32(backend, y));
  return y;
}

function siluGrad({ inputs, backend }: Args): Info {
  const { dy, x } = inputs;
  const dx = backend.makeOutput(x.shape, "float32");
  lib!.gl_silu_grad(
    BigInt(tf.util.sizeFromShape(x.shape)),
    f32(backend, dy),
    f32(backend, x),
    f32(backend, dx),
  );
  return dx;
}

/** The wasm heap as bytes (after the last allocation: allocating can replace the buffer). */
function heapBytes(backend: WasmBackend): Uint8Array {
  const memory: WebAssembly.Memory | undefined = backend.wasm.wasmMemory ??
    backend.wasm.asm?.memory;
  return new Uint8Array(memory?.buffer ?? backend.wasm.HEAPU8.buffer);
}

/**
 * Describe `groups` (k lists of n same-size float32 tensors: inputs, then the already allocated
 * outputs) as heap byte offsets, offsets[k·i + j] = tensor i of group j, and the prefix sums of
 * the n sizes, as gl_adam / gl_ema read them.
 */
function layout(backend: WasmBackend, groups: Info[][], n: number) {
  const offsets = new BigInt64Array(groups.length * n);
  const starts = new BigInt64Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const len = tf.util.sizeFromShape(groups[0][i].shape);
    for (const [j, group] of groups.entries()) {
      const t = group[i];
      if (t.dtype !== "float32" || tf.util.sizeFromShape(t.shape) !== len) {
        throw new Error(`native optimizer update: tensor ${j} of variable ${i} does not match`);
      }
      offsets[i * groups.length + j] = BigInt(backend.dataIdMap.get(t.dataId).memoryOffset);
    }
    total += len;
    starts[i + 1] = BigInt(total);
  }
  return { offsets, starts };
}

function adam({ inputs, backend, attrs }: Args): Info[] {
  const all = inputs as unknown as Info[];
  const n = all.length / 4;
  const [w, m, v, g] = [0, 1, 2, 3].map((k) => all.slice(k * n, (k + 1) * n));
  const outs = [w, m, v].map((group) => group.map((t) => backend.makeOutput(t.shape, "float32")));
  if (n === 0) return [];
  const { offsets, starts } = layout(backend, [w, m, v, g, ...outs], n);
  const step = attrs.step as number;
  const beta1 = attrs.beta1 as number, beta2 = attrs.beta2 as number;
  const params = Float64Array.of(
    attrs.learningRate as number,
    beta1,
    beta2,
    attrs.epsilon as number,
    attrs.weightDecay as number,
    1 - beta1 ** step,
    1 - beta2 ** step,
    attrs.decoupled ? 1 : 0,
  );
  check(lib!.gl_adam(n, heapBytes(backend), offsets, starts, params), ADAM);
  fusedOptimizerCounters.adam++;
  return outs.flat();
}

function ema({ inputs, backend, attrs }: Args): Info[] {
  const all = inputs as unknown as Info[];
  const n = all.length / 2;
  const shadow = all.slice(0, n), live = all.slice(n);
  const outs = shadow.map((t) => backend.makeOutput(t.shape, "float32"));
  if (n === 0) return [];
  const { offsets, starts } = layout(backend, [shadow, live, outs], n);
  check(lib!.gl_ema(n, heapBytes(backend), offsets, starts, attrs.decay as number), EMA);
  fusedOptimizerCounters.ema++;
  return outs;
}

const KERNELS: [string, (args: Args) => Info[] | Info][] = [
  [GROUP_NORM, groupNorm],
  [GROUP_NORM_GRAD, groupNormGrad],
  [SILU, silu],
  [SILU_GRAD, siluGrad],
  [ADAM, adam],
  [EMA, ema],
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
