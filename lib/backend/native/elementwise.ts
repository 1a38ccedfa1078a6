/**
 * Native element-wise kernels for the `native` backend (C side: genlab_elementwise.c).
 *
 * Once MatMul and the convolutions run in OpenBLAS/oneDNN, a U-Net training step spends most of
 * its time in tfjs-wasm's element-wise kernels, which run on one thread (and transpose before
 * reducing over non-innermost axes). These wrappers route them to C loops that run on all cores,
 * in place on the wasm heap, exactly as kernels.ts does for the heavy kernels:
 *  - the wasm kernel is looked up, unregistered and re-registered behind a wrapper that, while
 *    native kernels are enabled (`setNativeKernels`) and `setNativeElementwise` has not switched
 *    this layer off, tries the native version first; `null` means "not handled here" and falls
 *    through to the original;
 *  - outputs are allocated with `backend.makeOutput` first and heap views taken after it (an
 *    allocation can grow, i.e. move, the heap);
 *  - only float32 (plus the int32/bool cases of Cast, Select, Concat, SplitV the C handles) is
 *    native; other dtypes, empty tensors, ranks above 6 fall through.
 * Identity and same-dtype Cast share the input's data (one more reference, as tfjs-cpu and the
 * wasm Reshape do) instead of copying it: no kernel writes into its inputs, so this is safe.
 */
import * as tf from "@tensorflow/tfjs";
import type { NativeLibrary } from "./library.ts";
import { nativeKernelsEnabled, wrapWasmKernel } from "./kernels.ts";
import { nearestSourceIndex } from "../resize_nearest_grad.ts";

// deno-lint-ignore no-explicit-any
type WasmBackend = any;
type Info = tf.TensorInfo;
interface KernelArgs {
  inputs: Record<string, Info> | Info[];
  backend: WasmBackend;
  attrs: tf.NamedAttrMap;
}
type Impl = (args: KernelArgs) => Info | Info[] | null;

const MAX_RANK = 6;

const BINARY_OPS: Record<string, number> = {
  Add: 0,
  Sub: 1,
  Multiply: 2,
  RealDiv: 3,
  Maximum: 4,
  Minimum: 5,
  SquaredDifference: 6,
  Greater: 7,
  GreaterEqual: 8,
  Less: 9,
  LessEqual: 10,
  Equal: 11,
  NotEqual: 12,
};
const FIRST_COMPARISON = 7;

const UNARY_OPS: Record<string, number> = {
  Neg: 0,
  Square: 1,
  Sqrt: 2,
  Rsqrt: 3,
  Exp: 4,
  Sigmoid: 5,
  Tanh: 6,
  Relu: 7,
  Relu6: 8,
  LeakyRelu: 9,
  Step: 10,
  Abs: 11,
  Reciprocal: 12,
};

/** Cast modes of gl_cast, keyed by "from>to". */
const CAST_MODES: Record<string, number> = {
  "float32>int32": 0,
  "int32>float32": 1,
  "bool>float32": 2,
  "bool>int32": 3,
  "float32>bool": 4,
  "int32>bool": 5,
};

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** The kernels this layer wraps. */
export const ELEMENTWISE_KERNEL_NAMES = [
  ...Object.keys(BINARY_OPS),
  ...Object.keys(UNARY_OPS),
  "Sum",
  "Mean",
  "FusedBatchNorm",
  "Select",
  "Cast",
  "Concat",
  "SplitV",
  "Identity",
  "ResizeNearestNeighbor",
  "ResizeNearestNeighborGrad",
] as const;

/** Per kernel: native calls and fall-throughs (while enabled) since the last reset. */
export const elementwiseCounters: Record<string, { calls: number; fallbacks: number }> = {};

let lib: NativeLibrary | null = null;
let elementwise = true;

/** Switch this layer (element-wise kernels only) off or back on; the heavy kernels and the
 * global switch (`setNativeKernels`) are unaffected. For benches and tests. */
export function setNativeElementwise(on: boolean): void {
  elementwise = on;
}

export function nativeElementwiseEnabled(): boolean {
  return elementwise && nativeKernelsEnabled();
}

/** The native library's element-wise symbols (for tests: gl_ew_set_parallel_min). */
export function elementwiseLibrary(): NativeLibrary | null {
  return lib;
}

const size = (shape: number[]) => tf.util.sizeFromShape(shape);

/** The wasm heap's current buffer (it may have grown since the backend cached HEAPU8). */
function heapBuffer(backend: WasmBackend): ArrayBufferLike {
  const memory: WebAssembly.Memory | undefined = backend.wasm.wasmMemory ??
    backend.wasm.asm?.memory;
  return memory?.buffer ?? backend.wasm.HEAPU8.buffer;
}

/** A byte view of a tensor's data, optionally from element `offset`. */
function bytes(backend: WasmBackend, t: Info, offset = 0, count?: number): Uint8Array {
  const per = BYTES[t.dtype];
  const { memoryOffset } = backend.dataIdMap.get(t.dataId);
  const n = count ?? size(t.shape) - offset;
  return new Uint8Array(heapBuffer(backend), memoryOffset + offset * per, n * per);
}

function f32(backend: WasmBackend, t: Info): Float32Array {
  const { memoryOffset } = backend.dataIdMap.get(t.dataId);
  return new Float32Array(heapBuffer(backend), memoryOffset, size(t.shape));
}

// ───────────────────────────── element-wise ─────────────────────────────

function binary(op: number, args: KernelArgs): Info | null {
  const { backend } = args;
  const { a, b } = args.inputs as Record<string, Info>;
  if (a.dtype !== "float32" || b.dtype !== "float32") return null;
  if (size(a.shape) === 0 || size(b.shape) === 0) return null;
  const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const rank = outShape.length;
  if (rank > MAX_RANK) return null;
  const shapes = new Int32Array(3 * Math.max(rank, 1));
  for (let i = 0; i < rank; i++) {
    shapes[i] = outShape[i];
    shapes[rank + i] = a.shape[i - (rank - a.shape.length)] ?? 1;
    shapes[2 * rank + i] = b.shape[i - (rank - b.shape.length)] ?? 1;
  }
  const out = backend.makeOutput(outShape, op >= FIRST_COMPARISON ? "bool" : "float32");
  const status = lib!.gl_binary(
    op,
    rank,
    shapes,
    f32(backend, a),
    f32(backend, b),
    bytes(backend, out),
  );
  if (status !== 0) throw new Error(`native binary op ${op}: bad arguments`);
  return out;
}

function unary(op: number, args: KernelArgs): Info | null {
  const { backend } = args;
  const { x } = args.inputs as Record<string, Info>;
  if (x.dtype !== "float32" || size(x.shape) === 0) return null;
  const alpha = (args.attrs?.alpha as number | undefined) ?? 0;
  const out = backend.makeOutput(x.shape, "float32");
  lib!.gl_unary(op, size(x.shape), f32(backend, x), f32(backend, out), alpha);
  return out;
}

// ───────────────────────────── reductions ─────────────────────────────

function reduce(mean: boolean, args: KernelArgs): Info | null {
  const { backend } = args;
  const { x } = args.inputs as Record<string, Info>;
  const rank = x.shape.length;
  if (x.dtype !== "float32" || size(x.shape) === 0 || rank > MAX_RANK) return null;
  const axes = tf.util.parseAxisParam(args.attrs.axis as number | number[], x.shape);
  let mask = 0;
  for (const axis of axes) mask |= 1 << axis;
  const reduced = (i: number) => ((mask >> i) & 1) === 1;
  const outShape = args.attrs.keepDims
    ? x.shape.map((d, i) => (reduced(i) ? 1 : d))
    : x.shape.filter((_, i) => !reduced(i));
  const out = backend.makeOutput(outShape, "float32");
  const status = lib!.gl_reduce(
    mean ? 1 : 0,
    rank,
    Int32Array.from(x.shape),
    mask,
    f32(backend, x),
    f32(backend, out),
  );
  if (status !== 0) {
    backend.disposeData(out.dataId);
    return null;
  }
  return out;
}

// ───────────────────────────── batch norm, select, cast ─────────────────────────────

function batchNorm(args: KernelArgs): Info | null {
  const { backend } = args;
  const { x, mean, variance, offset, scale } = args.inputs as Record<string, Info | undefined>;
  if (x === undefined || mean === undefined || variance === undefined) return null;
  const n = size(x.shape);
  if (x.shape.length === 0 || n === 0) return null;
  const channels = x.shape[x.shape.length - 1];
  const params = [mean, variance, offset, scale];
  for (const p of params) {
    if (p === undefined) continue;
    const len = size(p.shape);
    if (p.dtype !== "float32" || (len !== channels && len !== 1)) return null;
  }
  if (x.dtype !== "float32") return null;
  const eps = (args.attrs?.varianceEpsilon as number | undefined) ?? 0.001;
  const out = backend.makeOutput(x.shape, "float32");
  const view = (p: Info | undefined) => (p === undefined ? null : f32(backend, p));
  const len = (p: Info | undefined) => (p === undefined ? 1 : size(p.shape));
  const status = lib!.gl_batchnorm(
    n,
    channels,
    f32(backend, x),
    view(mean),
    len(mean),
    view(variance),
    len(variance),
    view(offset),
    len(offset),
    view(scale),
    len(scale),
    eps,
    f32(backend, out),
  );
  if (status !== 0) {
    backend.disposeData(out.dataId);
    return null;
  }
  return out;
}

function select(args: KernelArgs): Info | null {
  const { backend } = args;
  const { condition, t, e } = args.inputs as Record<string, Info>;
  if (condition.dtype !== "bool" || t.dtype !== e.dtype || BYTES[t.dtype] !== 4) return null;
  const n = size(t.shape);
  if (n === 0 || size(e.shape) !== n) return null;
  const c = size(condition.shape);
  let inner: number;
  if (c === n) inner = 1;
  else if (condition.shape.length === 1 && t.shape.length > 1 && c === t.shape[0]) inner = n / c;
  else return null;
  const out = backend.makeOutput(t.shape, t.dtype);
  lib!.gl_select(
    n,
    inner,
    bytes(backend, condition),
    bytes(backend, t),
    bytes(backend, e),
    bytes(backend, out),
  );
  return out;
}

function cast(args: KernelArgs): Info | null {
  const { backend } = args;
  const { x } = args.inputs as Record<string, Info>;
  const dtype = args.attrs.dtype as tf.DataType;
  const n = size(x.shape);
  if (n === 0 || BYTES[x.dtype] === undefined) return null;
  // Same dtype: share the data, as Identity (and tfjs-cpu's Cast) does.
  if (dtype === x.dtype) return identity(args);
  const mode = CAST_MODES[`${x.dtype}>${dtype}`];
  if (mode === undefined) return null;
  const out = backend.makeOutput(x.shape, dtype);
  if (lib!.gl_cast(mode, n, bytes(backend, x), bytes(backend, out)) !== 0) {
    throw new Error(`native cast ${x.dtype} → ${dtype}: bad mode`);
  }
  return out;
}

// ───────────────────────────── concat, split, identity ─────────────────────────────

function concat(args: KernelArgs): Info | null {
  const { backend } = args;
  const inputs = args.inputs as Info[];
  if (inputs.length === 0) return null;
  const dtype = inputs[0].dtype;
  const per = BYTES[dtype];
  if (per === undefined || inputs.some((t) => t.dtype !== dtype)) return null;
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, inputs[0].shape)[0];
  tf.backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
  const outShape = tf.backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
  const live = inputs.filter((t) => size(t.shape) > 0);
  if (live.length === 0) return null;
  const outer = size(outShape.slice(0, axis));
  const inners = live.map((t) => size(t.shape.slice(axis)));
  const total = inners.reduce((s, v) => s + v, 0);
  const out = backend.makeOutput(outShape, dtype);
  let offset = 0;
  for (const [i, t] of live.entries()) {
    const width = inners[i] * per;
    lib!.gl_copy_rows(
      BigInt(outer),
      BigInt(width),
      bytes(backend, t),
      BigInt(width),
      bytes(backend, out, offset),
      BigInt(total * per),
    );
    offset += inners[i];
  }
  return out;
}

function splitV(args: KernelArgs): Info[] | null {
  const { backend } = args;
  const { x } = args.inputs as Record<string, Info>;
  const per = BYTES[x.dtype];
  if (per === undefined || size(x.shape) === 0) return null;
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
  const splits = tf.backend_util.prepareSplitSize(
    x as unknown as tf.Tensor,
    args.attrs.numOrSizeSplits as number | number[],
    axis,
  );
  const outer = size(x.shape.slice(0, axis));
  const inner = size(x.shape.slice(axis + 1));
  const outs: Info[] = splits.map((s) =>
    backend.makeOutput(x.shape.map((d, i) => (i === axis ? s : d)), x.dtype)
  );
  // Views only after every output is allocated (an allocation can move the heap).
  let begin = 0;
  for (const [i, s] of splits.entries()) {
    if (s > 0) {
      const width = s * inner * per;
      lib!.gl_copy_rows(
        BigInt(outer),
        BigInt(width),
        bytes(backend, x, begin * inner),
        BigInt(x.shape[axis] * inner * per),
        bytes(backend, outs[i]),
        BigInt(width),
      );
    }
    begin += s;
  }
  return outs;
}

/** No copy: the output shares the input's data, one more reference (as tfjs-cpu's identity). */
function identity(args: KernelArgs): Info | null {
  const { backend } = args;
  const { x } = args.inputs as Record<string, Info>;
  if (BYTES[x.dtype] === undefined) return null;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

// ───────────────────────────── nearest resize ─────────────────────────────

/** Source row and column of every output row and column, by the cpu/wasm kernels' formula. */
function sourceIndices(inShape: number[], outH: number, outW: number, attrs: tf.NamedAttrMap) {
  const align = Boolean(attrs.alignCorners), half = Boolean(attrs.halfPixelCenters);
  const [, inH, inW] = inShape;
  return {
    rows: Int32Array.from(
      { length: outH },
      (_, i) => nearestSourceIndex(i, inH, outH, align, half),
    ),
    cols: Int32Array.from(
      { length: outW },
      (_, i) => nearestSourceIndex(i, inW, outW, align, half),
    ),
  };
}

function resizeNearest(args: KernelArgs): Info | null {
  const { backend } = args;
  const { images } = args.inputs as Record<string, Info>;
  const [outH, outW] = args.attrs.size as [number, number];
  if (images.dtype !== "float32" || images.shape.length !== 4 || size(images.shape) === 0) {
    return null;
  }
  const [b, inH, inW, c] = images.shape;
  const { rows, cols } = sourceIndices(images.shape, outH, outW, args.attrs);
  const out = backend.makeOutput([b, outH, outW, c], "float32");
  lib!.gl_resize_nearest(
    b,
    inH,
    inW,
    c,
    outH,
    outW,
    rows,
    cols,
    f32(backend, images),
    f32(backend, out),
  );
  return out;
}

function resizeNearestGrad(args: KernelArgs): Info | null {
  const { backend } = args;
  const { images, dy } = args.inputs as Record<string, Info>;
  if (dy.dtype !== "float32" || images.shape.length !== 4 || size(images.shape) === 0) return null;
  const [b, inH, inW, c] = images.shape;
  const [, outH, outW] = dy.shape;
  const { rows, cols } = sourceIndices(images.shape, outH, outW, args.attrs);
  const dx = backend.makeOutput(images.shape, "float32");
  lib!.gl_resize_nearest_grad(
    b,
    inH,
    inW,
    c,
    outH,
    outW,
    rows,
    cols,
    f32(backend, dy),
    f32(backend, dx),
  );
  return dx;
}

// ───────────────────────────── registration ─────────────────────────────

const IMPLEMENTATIONS: Record<string, Impl> = {
  Sum: (args) => reduce(false, args),
  Mean: (args) => reduce(true, args),
  FusedBatchNorm: batchNorm,
  Select: select,
  Cast: cast,
  Concat: concat,
  SplitV: splitV,
  Identity: identity,
  ResizeNearestNeighbor: resizeNearest,
  ResizeNearestNeighborGrad: resizeNearestGrad,
};
for (const [name, op] of Object.entries(BINARY_OPS)) {
  IMPLEMENTATIONS[name] = (args) => binary(op, args);
}
for (const [name, op] of Object.entries(UNARY_OPS)) {
  IMPLEMENTATIONS[name] = (args) => unary(op, args);
}

/** Wrap the wasm backend's element-wise kernels (called by installNativeKernels, once). */
export function installElementwiseKernels(library: NativeLibrary): void {
  const first = lib === null;
  lib = library;
  if (!first) return;
  for (const kernelName of ELEMENTWISE_KERNEL_NAMES) {
    const counter = elementwiseCounters[kernelName] = { calls: 0, fallbacks: 0 };
    wrapWasmKernel(kernelName, IMPLEMENTATIONS[kernelName], nativeElementwiseEnabled, counter);
  }
}
