/**
 * The `native` backend: tfjs-backend-wasm with its heavy kernels routed to native code — matrix
 * products to OpenBLAS, convolutions (forward, both gradients, hence also conv2dTranspose) to
 * oneDNN where it is installed, else to im2col/col2im + OpenBLAS (genlab_native.c); the
 * element-wise ops and reductions to OpenMP loops (elementwise.ts, genlab_elementwise.c).
 *
 * Design (issue 3):
 *  - **In place on the wasm heap.** Every tfjs tensor of the wasm backend is a slice of one
 *    WebAssembly.Memory. Deno FFI accepts a Float32Array view of that memory (shared or not) as a
 *    C pointer, so the C kernels read inputs and write the output tensor where tfjs keeps them:
 *    no copy in, no copy out, no second allocator. The output is allocated by tfjs first
 *    (`makeOutput`), and views are taken after it, because allocating can grow (move) the heap.
 *  - **Same backend, other kernels.** We wrap the wasm backend's MatMul / conv kernels instead of
 *    registering a second tfjs backend: a second BackendWasm over the same module would hand out
 *    colliding tensor ids, and everything else (element-wise ops, reductions, autograd, tf.layers,
 *    genlab's wasm fixes) keeps working unchanged. `setNativeKernels(false)` routes back to plain
 *    wasm, which is how tests and benches compare the two in one process.
 *  - **Threads.** OpenBLAS uses its own pthreads, oneDNN and im2col/col2im OpenMP (passive wait,
 *    so idle OpenMP threads do not spin against BLAS); all default to the wasm thread count (2).
 *  - **Buffers.** The patch matrix lives in one growable C scratch buffer, processed in ~8 MiB row
 *    chunks so it is still in cache when the GEMM reads it.
 * Cases outside the native kernels (non-float32, NCHW, PReLU, unusual broadcasting, empty
 * tensors) fall through to the wasm kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { heapView } from "../wasm_kernels.ts";
import type { NativeLibrary } from "./library.ts";
import { installElementwiseKernels } from "./elementwise.ts";
import { setFusedKernels } from "./fused.ts";

// deno-lint-ignore no-explicit-any
type WasmBackend = any;
type Info = tf.TensorInfo;
type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;
interface KernelArgs<I extends string> {
  inputs: Partial<Record<I, Info>>;
  backend: WasmBackend;
  attrs: tf.NamedAttrMap;
}

/** The kernels this layer replaces. */
export const NATIVE_KERNEL_NAMES = [
  "BatchMatMul",
  "_FusedMatMul",
  "Conv2D",
  "FusedConv2D",
  "Conv2DBackpropInput",
  "Conv2DBackpropFilter",
] as const;

const ACTIVATION_CODES: Record<string, number> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  leakyrelu: 3,
  elu: 4,
  sigmoid: 5,
};

/** Work done in native kernels since the last reset: lets benches report GFLOP/s. */
export const nativeCounters = { calls: 0, flops: 0, fallbacks: 0 };

let lib: NativeLibrary | null = null;
let enabled = false;

/** Route the heavy kernels to OpenBLAS (true) or back to plain wasm (false). */
export function setNativeKernels(on: boolean): void {
  if (on && lib === null) throw new Error("native kernels are not installed");
  enabled = on;
  setFusedKernels(lib, on);
}

export function nativeKernelsEnabled(): boolean {
  return enabled;
}

const f32 = (backend: WasmBackend, t: Info) => heapView(backend, t) as Float32Array;
const size = (shape: number[]) => tf.util.sizeFromShape(shape);

// ───────────────────────────── matmul ─────────────────────────────

function matMul(
  args: KernelArgs<"a" | "b" | "bias" | "preluActivationWeights">,
  fused: boolean,
): Info | null {
  const { backend } = args;
  const { a, b, bias } = args.inputs as Record<string, Info>;
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const activation = fused ? (args.attrs.activation as string | undefined) ?? "linear" : "linear";
  const act = ACTIVATION_CODES[activation];
  if (act === undefined || a.dtype !== "float32" || b.dtype !== "float32") return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = size(outerA);
  const batchB = size(outerB);
  const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  if (!(batchA === 1 || batchB === 1 || sameOuter)) return null;
  if (m * n * k === 0) return null;
  if (bias !== undefined && (bias.dtype !== "float32" || size(bias.shape) !== n)) return null;
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = Math.max(batchA, batchB);
  const out = backend.makeOutput([...outer, m, n], "float32");
  lib!.gl_batch_matmul(
    batch,
    batchA,
    batchB,
    transposeA ? 1 : 0,
    transposeB ? 1 : 0,
    m,
    n,
    k,
    f32(backend, a),
    f32(backend, b),
    f32(backend, out),
    bias === undefined ? null : f32(backend, bias),
    act,
    (args.attrs.leakyreluAlpha as number | undefined) ?? 0.2,
  );
  nativeCounters.flops += 2 * batch * m * n * k;
  return out;
}

// ───────────────────────────── convolution ─────────────────────────────

interface ConvAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat?: "NHWC" | "NCHW";
  dilations?: [number, number] | number;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** tfjs' conv geometry as the int32 array genlab_native.c reads, or null if not NHWC. */
function geometry(
  xShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
): { geo: Int32Array; info: tf.backend_util.Conv2DInfo } | null {
  if ((attrs.dataFormat ?? "NHWC") !== "NHWC") return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
  if (info.batchSize * info.outHeight * info.outWidth * info.inChannels * info.outChannels === 0) {
    return null;
  }
  const geo = Int32Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
    // bottom/right as the output size implies (tfjs may clip 'same' padding it does not need)
    (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight - info.inHeight -
      info.padInfo.top,
    (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth - info.inWidth -
      info.padInfo.left,
  );
  return { geo, info };
}

function convFlops(info: tf.backend_util.Conv2DInfo): number {
  return 2 * info.batchSize * info.outHeight * info.outWidth * info.filterHeight *
    info.filterWidth * info.inChannels * info.outChannels;
}

function checkStatus(status: number, kernel: string): void {
  if (status !== 0) throw new Error(`native ${kernel}: out of memory for the patch matrix`);
}

function conv2d(args: KernelArgs<"x" | "filter" | "bias">, fused: boolean): Info | null {
  const { backend } = args;
  const { x, filter, bias } = args.inputs as Record<string, Info>;
  const activation = fused ? (args.attrs.activation as string | undefined) ?? "linear" : "linear";
  const act = ACTIVATION_CODES[activation];
  if (act === undefined || x.dtype !== "float32" || filter.dtype !== "float32") return null;
  const g = geometry(x.shape, filter.shape, args.attrs as unknown as ConvAttrs);
  if (g === null) return null;
  if (bias !== undefined && (bias.dtype !== "float32" || size(bias.shape) !== g.info.outChannels)) {
    return null;
  }
  const out = backend.makeOutput(g.info.outShape, "float32");
  checkStatus(
    lib!.gl_conv2d(
      g.geo,
      f32(backend, x),
      f32(backend, filter),
      f32(backend, out),
      bias === undefined ? null : f32(backend, bias),
      act,
      (args.attrs.leakyreluAlpha as number | undefined) ?? 0.2,
    ),
    "Conv2D",
  );
  nativeCounters.flops += convFlops(g.info);
  return out;
}

function conv2dBackpropInput(args: KernelArgs<"dy" | "filter">): Info | null {
  const { backend } = args;
  const { dy, filter } = args.inputs as Record<string, Info>;
  if (dy.dtype !== "float32" || filter.dtype !== "float32") return null;
  const inputShape = args.attrs.inputShape as number[];
  const g = geometry(inputShape, filter.shape, args.attrs as unknown as ConvAttrs);
  if (g === null) return null;
  const out = backend.makeOutput(inputShape, "float32");
  checkStatus(
    lib!.gl_conv2d_backprop_input(g.geo, f32(backend, dy), f32(backend, filter), f32(backend, out)),
    "Conv2DBackpropInput",
  );
  nativeCounters.flops += convFlops(g.info);
  return out;
}

function conv2dBackpropFilter(args: KernelArgs<"x" | "dy">): Info | null {
  const { backend } = args;
  const { x, dy } = args.inputs as Record<string, Info>;
  if (x.dtype !== "float32" || dy.dtype !== "float32") return null;
  const filterShape = args.attrs.filterShape as number[];
  const g = geometry(x.shape, filterShape, args.attrs as unknown as ConvAttrs);
  if (g === null) return null;
  const out = backend.makeOutput(filterShape, "float32");
  checkStatus(
    lib!.gl_conv2d_backprop_filter(g.geo, f32(backend, x), f32(backend, dy), f32(backend, out)),
    "Conv2DBackpropFilter",
  );
  nativeCounters.flops += convFlops(g.info);
  return out;
}

// ───────────────────────────── registration ─────────────────────────────

// deno-lint-ignore no-explicit-any
const IMPLEMENTATIONS: Record<string, (args: KernelArgs<any>) => Info | null> = {
  BatchMatMul: (args) => matMul(args, false),
  _FusedMatMul: (args) => matMul(args, true),
  Conv2D: (args) => conv2d(args, false),
  FusedConv2D: (args) => conv2d(args, true),
  Conv2DBackpropInput: conv2dBackpropInput,
  Conv2DBackpropFilter: conv2dBackpropFilter,
};

/**
 * Replace wasm kernel `kernelName` (genlab's fixed version, registered before this) by one that
 * tries `native` while `isOn()` and falls through to the original when it is off or returns
 * null. Counts into nativeCounters and, if given, `counter`. Shared by every native layer.
 */
export function wrapWasmKernel(
  kernelName: string,
  // deno-lint-ignore no-explicit-any
  native: (args: any) => Info | Info[] | null,
  isOn: () => boolean,
  counter?: { calls: number; fallbacks: number },
): void {
  const original = tf.getKernel(kernelName, "wasm");
  if (original === undefined) throw new Error(`wasm kernel ${kernelName} is not registered`);
  const kernelFunc = (args: Parameters<tf.KernelFunc>[0]) => {
    if (isOn()) {
      const out = native(args);
      if (out !== null) {
        nativeCounters.calls++;
        if (counter) counter.calls++;
        return out;
      }
      nativeCounters.fallbacks++;
      if (counter) counter.fallbacks++;
    }
    return original.kernelFunc(args);
  };
  tf.unregisterKernel(kernelName, "wasm");
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as tf.KernelFunc });
}

/** Wrap the wasm backend's heavy kernels so that, while enabled, they run natively. Idempotent. */
export function installNativeKernels(library: NativeLibrary): void {
  const first = lib === null;
  lib = library;
  if (!first) return;
  for (const kernelName of NATIVE_KERNEL_NAMES) {
    wrapWasmKernel(kernelName, IMPLEMENTATIONS[kernelName], () => enabled);
  }
  installElementwiseKernels(library);
}
