/**
 * Kernels that tfjs-backend-wasm 4.22 lacks or runs slowly, re-expressed with its fast ops.
 *
 *  - Conv2DBackpropFilter is missing, so no conv net can train on plain wasm. We compute it as a
 *    stride-1 convolution with dilation = stride (XNNPACK Conv2D, multi-threaded).
 *  - Conv2DBackpropInput exists but is a single-threaded scalar loop; it is also the forward pass
 *    of conv2dTranspose. We split it into its stride² sub-pixel phases, each an exact stride-1
 *    XNNPACK convolution of dy with a flipped sub-filter, and interleave them in JS.
 *  - UnsortedSegmentSum (gradient of gather, i.e. of embeddings) is missing: a scatter-add loop
 *    straight on the wasm heap.
 *  - ResizeNearestNeighborGrad ignores halfPixelCenters and is wrong for some alignCorners
 *    shapes: replaced by the scatter shared with the cpu fix (resize_nearest_grad.ts).
 *  - BatchMatMul only uses XNNPACK for a plain 2D product; with transposeA/transposeB or batch
 *    dims it falls back to a scalar loop 10-25× slower (and every dense layer's backward pass
 *    has a transposed product). We materialise transposes and fold/loop batches around the
 *    fast 2D call.
 *  - MaxPoolGrad gives zeros for every batch element after the first: a JS loop on the heap.
 *  - Conv2D, FusedConv2D and the depthwise pair give wrong results for pad 'same' with a stride
 *    > 1 and a 1×k or k×1 filter (XNNPACK's SAME-padding path): we pass explicit pads instead.
 *  - _FusedMatMul adds the bias to the wrong elements when either operand is transposed (e.g.
 *    Aᵀ·B + b, 3×3: rows 1-2 off by 1.5): such calls run as matMul, add and activation instead.
 *
 * Only NHWC, dilation 1 (as tfjs' own conv gradients require).
 */
import * as tf from "@tensorflow/tfjs";
import {
  type ResizeNearestGradAttrs,
  resizeNearestNeighborGradValues,
} from "./resize_nearest_grad.ts";

// deno-lint-ignore no-explicit-any
type WasmBackend = any;
type Info = tf.TensorInfo;
type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;
/** What tfjs passes to a kernel function, with the inputs this kernel takes. */
interface KernelArgs<I extends string> {
  inputs: Record<I, Info>;
  backend: WasmBackend;
  attrs: tf.NamedAttrMap;
}

interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** A Tensor for `info` (kernel inputs are usually Tensors already; a bare TensorInfo gets a
 * tracked view with its own reference, released when the surrounding tidy ends). */
function asTensor(backend: WasmBackend, info: Info): tf.Tensor {
  if (info instanceof tf.Tensor) return info;
  backend.incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info, backend);
}

/** Run tf ops inside a kernel and hand the result back as the kernel's output. The extra
 * reference taken before disposing the Tensor becomes the output's reference. */
function fromOps(backend: WasmBackend, f: () => tf.Tensor): Info {
  const out = tf.tidy(f);
  backend.incRef(out.dataId);
  out.dispose();
  return { dataId: out.dataId, shape: out.shape, dtype: out.dtype };
}

function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: ConvGradAttrs,
): tf.backend_util.Conv2DInfo {
  const dataFormat = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  if (dataFormat !== "channelsLast") {
    throw new Error("genlab wasm conv gradients support NHWC (channelsLast) only");
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    dataFormat,
  );
}

/** Below this many channels a convolution's GEMM is mostly padding in XNNPACK's 8/16-wide
 * tiles (e.g. the image side of a GAN: 1 or 3 channels); such cases go through an explicit
 * im2col/col2im in JS plus one well-shaped matmul instead. */
const SMALL_CHANNELS = 8;
/** ...as long as the patch matrix stays small (floats). */
const MAX_PATCH_FLOATS = 1 << 24;

/** Patches of x as rows (n, oh, ow) × columns (i, j, ci), zero where the window hangs over the
 * padding: the matrix whose product with dy is the filter gradient. */
function im2col(xv: ArrayLike<number>, info: tf.backend_util.Conv2DInfo): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const cols = fh * fw * ci;
  const out = new Float32Array(batchSize * outHeight * outWidth * cols);
  let row = 0;
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++, row++) {
        let dst = row * cols;
        for (let i = 0; i < fh; i++) {
          const h = oh * sh - top + i;
          for (let j = 0; j < fw; j++, dst += ci) {
            const w = ow * sw - left + j;
            if (h < 0 || h >= inHeight || w < 0 || w >= inWidth) continue;
            const src = ((n * inHeight + h) * inWidth + w) * ci;
            for (let c = 0; c < ci; c++) out[dst + c] = xv[src + c];
          }
        }
      }
    }
  }
  return out;
}

/** dW[i,j,ci,co] = Σ_{n,oh,ow} xpad[n, oh·s+i, ow·s+j, ci] · dy[n,oh,ow,co]: a convolution of
 * xpad (with ci as batch and n as channels) by dy (as an [OH,OW,N,Co] filter), dilated by s. */
export function conv2dBackpropFilterWasm(args: KernelArgs<"x" | "dy">): Info {
  const { backend } = args;
  const attrs = args.attrs as unknown as ConvGradAttrs & { filterShape: number[] };
  const info = convInfo(args.inputs.x.shape, attrs.filterShape, attrs);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const rows = batchSize * outHeight * outWidth;
  if (inChannels < SMALL_CHANNELS && rows * fh * fw * inChannels <= MAX_PATCH_FLOATS) {
    const patches = im2col(heapView(backend, args.inputs.x), info);
    return fromOps(backend, () => {
      const dy = tf.reshape(asTensor(backend, args.inputs.dy), [rows, info.outChannels]);
      const p = tf.tensor2d(patches, [rows, fh * fw * inChannels]);
      return tf.reshape(tf.matMul(p, dy, true, false), attrs.filterShape); // pᵀ·dy
    });
  }
  // Rows/cols of the padded input the forward pass actually read.
  const needH = (outHeight - 1) * sh + fh;
  const needW = (outWidth - 1) * sw + fw;
  return fromOps(backend, () => {
    const x = asTensor(backend, args.inputs.x) as tf.Tensor4D;
    const dy = asTensor(backend, args.inputs.dy) as tf.Tensor4D;
    let xp: tf.Tensor4D = x;
    const padBottom = Math.max(0, needH - top - inHeight);
    const padRight = Math.max(0, needW - left - inWidth);
    if (top || left || padBottom || padRight) {
      xp = tf.pad(x, [[0, 0], [top, padBottom], [left, padRight], [0, 0]]);
    }
    if (xp.shape[1] !== needH || xp.shape[2] !== needW) {
      xp = tf.slice(xp, [0, 0, 0, 0], [batchSize, needH, needW, inChannels]);
    }
    const xT = tf.transpose(xp, [3, 1, 2, 0]); // [Ci, needH, needW, N]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [OH, OW, N, Co]
    const g = tf.conv2d(xT, dyT, 1, "valid", "NHWC", [sh, sw]); // [Ci, fh, fw, Co]
    return tf.transpose(g, [1, 2, 0, 3]);
  });
}

/** One sub-pixel phase of a strided convolution's input gradient along one axis. Output
 * positions h = s·q + r (q < count) receive only the taps i ≡ (r + padBefore) mod s:
 *   dx[s·q + r] = Σ_k dy[q + offset + k] · f[taps[k]]
 * i.e. a stride-1 correlation of dy with the flipped sub-filter `taps`. */
interface Phase {
  /** Filter indices, in correlation order (flipped). Empty when no tap reaches this phase. */
  taps: number[];
  offset: number;
  /** How many output positions belong to this phase. */
  count: number;
}

function phases(size: number, stride: number, padBefore: number, inSize: number): Phase[] {
  const out: Phase[] = [];
  for (let r = 0; r < stride; r++) {
    const c = (r + padBefore) % stride;
    const d = Math.floor((r + padBefore) / stride);
    const m = c < size ? Math.ceil((size - c) / stride) : 0;
    const taps = Array.from({ length: m }, (_, k) => stride * (m - 1 - k) + c);
    out.push({ taps, offset: d - m + 1, count: Math.max(0, Math.ceil((inSize - r) / stride)) });
  }
  return out;
}

/** The conv2d padding (or, if negative, crop) that makes output row q read dy[q + offset + k]
 * for q < count. */
function phasePadding(p: Phase, dySize: number): { before: number; after: number; crop: number } {
  const crop = Math.max(0, p.offset);
  const before = Math.max(0, -p.offset);
  const after = Math.max(0, p.count + p.offset + p.taps.length - 1 - dySize);
  return { before, after, crop };
}

/** dx for few input channels: cols = dy · Wᵀ (rows (n,oh,ow) × columns (i,j,ci)), then each
 * column is added back where its tap read the input (col2im). */
function col2imInputGrad(
  backend: WasmBackend,
  dyInfo: Info,
  filterInfo: Info,
  info: tf.backend_util.Conv2DInfo,
): Info {
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth, outChannels } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const rows = batchSize * outHeight * outWidth;
  const width = fh * fw * ci;
  const cols = tf.tidy(() =>
    tf.matMul(
      tf.reshape(asTensor(backend, dyInfo), [rows, outChannels]),
      tf.reshape(asTensor(backend, filterInfo), [width, outChannels]),
      false,
      true,
    )
  );
  const out = backend.makeOutput([batchSize, inHeight, inWidth, ci], "float32");
  const cv = heapView(backend, cols);
  const dx = heapView(backend, out);
  dx.fill(0);
  let row = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++, row++) {
        let src = row * width;
        for (let i = 0; i < fh; i++) {
          const h = oh * sh - top + i;
          for (let j = 0; j < fw; j++, src += ci) {
            const w = ow * sw - left + j;
            if (h < 0 || h >= inHeight || w < 0 || w >= inWidth) continue;
            const dst = ((b * inHeight + h) * inWidth + w) * ci;
            for (let c = 0; c < ci; c++) dx[dst + c] += cv[src + c];
          }
        }
      }
    }
  }
  cols.dispose();
  return out;
}

/** dx of a strided convolution, exactly (no multiplications by inserted zeros): for each of the
 * stride² sub-pixel phases, one stride-1 XNNPACK convolution of dy with that phase's flipped
 * sub-filter; a JS loop then interleaves the phases into dx. */
export function conv2dBackpropInputWasm(args: KernelArgs<"dy" | "filter">): Info {
  const { backend } = args;
  const attrs = args.attrs as unknown as ConvGradAttrs & { inputShape: number[] };
  const info = convInfo(attrs.inputShape, args.inputs.filter.shape, attrs);
  const { batchSize: n, inHeight, inWidth, inChannels: ci, outChannels: co } = info;
  const { outHeight, outWidth, filterWidth: fw } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const rows = n * outHeight * outWidth;
  if (ci < SMALL_CHANNELS && rows * info.filterHeight * fw * ci <= MAX_PATCH_FLOATS) {
    return col2imInputGrad(backend, args.inputs.dy, args.inputs.filter, info);
  }
  const ph = phases(info.filterHeight, sh, info.padInfo.top, inHeight);
  const pw = phases(fw, sw, info.padInfo.left, inWidth);
  const out = backend.makeOutput([n, inHeight, inWidth, ci], "float32");
  heapView(backend, out).fill(0);
  for (let rh = 0; rh < sh; rh++) {
    for (let rw = 0; rw < sw; rw++) {
      const a = ph[rh];
      const b = pw[rw];
      if (a.taps.length === 0 || b.taps.length === 0 || a.count === 0 || b.count === 0) continue;
      // Sub-filter [th, tw, Co, Ci]: g[k, l, o, i] = f[a.taps[k], b.taps[l], i, o].
      const th = a.taps.length;
      const tw = b.taps.length;
      const g = new Float32Array(th * tw * co * ci);
      // (Views are taken after the last allocation: growing a non-shared heap detaches them.)
      const f = heapView(backend, args.inputs.filter);
      for (let k = 0; k < th; k++) {
        for (let l = 0; l < tw; l++) {
          const src = (a.taps[k] * fw + b.taps[l]) * ci * co;
          const dst = (k * tw + l) * co * ci;
          for (let i = 0; i < ci; i++) {
            for (let o = 0; o < co; o++) g[dst + o * ci + i] = f[src + i * co + o];
          }
        }
      }
      const padH = phasePadding(a, outHeight);
      const padW = phasePadding(b, outWidth);
      const y = tf.tidy(() => {
        let dy = asTensor(backend, args.inputs.dy) as tf.Tensor4D;
        if (padH.crop || padW.crop) {
          dy = tf.slice(dy, [0, padH.crop, padW.crop, 0], [
            n,
            outHeight - padH.crop,
            outWidth - padW.crop,
            co,
          ]);
        }
        return tf.conv2d(dy, tf.tensor4d(g, [th, tw, co, ci]), 1, [
          [0, 0],
          [padH.before, padH.after],
          [padW.before, padW.after],
          [0, 0],
        ]);
      });
      // Interleave: dx[:, sh·q + rh, sw·p + rw, :] = y[:, q, p, :].
      const yv = heapView(backend, y);
      const dx = heapView(backend, out);
      const [, yh, yw] = y.shape;
      for (let bi = 0; bi < n; bi++) {
        for (let q = 0; q < a.count; q++) {
          const srcRow = (bi * yh + q) * yw;
          const dstRow = (bi * inHeight + sh * q + rh) * inWidth;
          for (let p = 0; p < b.count; p++) {
            const src = (srcRow + p) * ci;
            const dst = (dstRow + sw * p + rw) * ci;
            if (ci >= 16) dx.set(yv.subarray(src, src + ci), dst);
            else for (let i = 0; i < ci; i++) dx[dst + i] = yv[src + i];
          }
        }
      }
      y.dispose();
    }
  }
  return out;
}

/** A view of a tensor's data on the wasm heap. The heap may have grown (possibly from another
 * thread) since the backend cached HEAPU8, so read the memory's current buffer. */
export function heapView(backend: WasmBackend, t: Info): Float32Array | Int32Array {
  const memory: WebAssembly.Memory | undefined = backend.wasm.wasmMemory ??
    backend.wasm.asm?.memory;
  const buffer = memory?.buffer ?? backend.wasm.HEAPU8.buffer;
  const { memoryOffset } = backend.dataIdMap.get(t.dataId);
  const size = tf.util.sizeFromShape(t.shape);
  if (t.dtype === "float32") return new Float32Array(buffer, memoryOffset, size);
  if (t.dtype === "int32") return new Int32Array(buffer, memoryOffset, size);
  throw new Error(`genlab wasm kernel: unsupported dtype ${t.dtype}`);
}

/** out[s] = Σ_{i: ids[i] = s} x[i]; ids outside [0, numSegments) are dropped (as in TF). */
export function unsortedSegmentSumWasm(args: KernelArgs<"x" | "segmentIds">): Info {
  const { backend } = args;
  const { x, segmentIds } = args.inputs;
  const numSegments = args.attrs.numSegments as number;
  const n = segmentIds.shape.reduce((a, b) => a * b, 1);
  const inner = tf.util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
  const out = backend.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
  let ids = segmentIds;
  if (segmentIds.dtype !== "int32") {
    ids = fromOps(backend, () => tf.cast(asTensor(backend, segmentIds), "int32"));
  }
  const xv = heapView(backend, x);
  const iv = heapView(backend, ids);
  const ov = heapView(backend, out);
  ov.fill(0);
  for (let i = 0; i < n; i++) {
    const s = iv[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) ov[dst + j] += xv[src + j];
  }
  if (ids !== segmentIds) backend.disposeData(ids.dataId);
  return out;
}

function resizeNearestNeighborGradWasm(args: KernelArgs<"images" | "dy">): Info {
  const { backend } = args;
  const { images, dy } = args.inputs;
  const attrs = args.attrs as unknown as ResizeNearestGradAttrs;
  const out = backend.makeOutput(images.shape, "float32");
  resizeNearestNeighborGradValues(
    heapView(backend, dy),
    dy.shape,
    images.shape,
    attrs.alignCorners,
    attrs.halfPixelCenters ?? false,
    heapView(backend, out) as Float32Array,
  );
  return out;
}

/** dx[argmax of each pooling window] += dy, the first maximum in row-major order winning (as in
 * tfjs-backend-cpu). */
function maxPoolGradWasm(args: KernelArgs<"dy" | "input" | "output">): Info {
  const { backend } = args;
  const { dy, input } = args.inputs;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: Pad;
    dimRoundingMode?: "floor" | "round" | "ceil";
  };
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { effectiveFilterHeight, effectiveFilterWidth } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput(input.shape, "float32");
  const x = heapView(backend, input);
  const g = heapView(backend, dy);
  const dx = heapView(backend, out);
  dx.fill(0);
  let k = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * strideHeight - top;
      for (let ow = 0; ow < outWidth; ow++) {
        const w0 = ow * strideWidth - left;
        for (let c = 0; c < inChannels; c++, k++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let i = 0; i < effectiveFilterHeight; i += dilationHeight) {
            const h = h0 + i;
            if (h < 0 || h >= inHeight) continue;
            for (let j = 0; j < effectiveFilterWidth; j += dilationWidth) {
              const w = w0 + j;
              if (w < 0 || w >= inWidth) continue;
              const idx = ((b * inHeight + h) * inWidth + w) * inChannels + c;
              if (x[idx] > best) {
                best = x[idx];
                at = idx;
              }
            }
          }
          if (at >= 0) dx[at] += g[k];
        }
      }
    }
  }
  return out;
}

/** Route every matMul to the fast path: a plain 2D product without transposes. */
function fastBatchMatMul(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs<"a" | "b">): Info | Info[] => {
    const { backend } = args;
    const { a, b } = args.inputs;
    const { transposeA, transposeB } = args.attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
    };
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = tf.util.sizeFromShape(outerA);
    const batchB = tf.util.sizeFromShape(outerB);
    const plain = batchA === 1 && batchB === 1 && !transposeA && !transposeB;
    // Batch shapes we can map onto 2D products: equal, or one side a single matrix.
    const outer = batchA === 1 ? outerB : outerA;
    const simpleBatch = batchA === 1 || batchB === 1 ||
      (outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]));
    if (plain || !simpleBatch) return original.kernelFunc(args as Parameters<tf.KernelFunc>[0]);
    return fromOps(backend, () => {
      const ra = a.shape.length;
      const rb = b.shape.length;
      let a3 = tf.reshape(asTensor(backend, a), [batchA, a.shape[ra - 2], a.shape[ra - 1]]);
      let b3 = tf.reshape(asTensor(backend, b), [batchB, b.shape[rb - 2], b.shape[rb - 1]]);
      if (transposeA) a3 = tf.transpose(a3, [0, 2, 1]);
      if (transposeB) b3 = tf.transpose(b3, [0, 2, 1]);
      const m = a3.shape[1] as number;
      const k = a3.shape[2] as number;
      const n = b3.shape[2] as number;
      let out: tf.Tensor;
      if (batchB === 1) {
        // One B: stack A's matrices into rows.
        out = tf.matMul(tf.reshape(a3, [batchA * m, k]), tf.reshape(b3, [k, n]));
      } else if (batchA === 1) {
        // One A: put B's matrices side by side: A·[B₀ B₁ …] = [A·B₀ A·B₁ …].
        const wide = tf.reshape(tf.transpose(b3, [1, 0, 2]), [k, batchB * n]);
        const prod = tf.reshape(tf.matMul(tf.reshape(a3, [m, k]), wide), [m, batchB, n]);
        out = tf.transpose(prod, [1, 0, 2]);
      } else {
        const as = tf.unstack(a3);
        const bs = tf.unstack(b3);
        out = tf.stack(as.map((ai, i) => tf.matMul(ai, bs[i])));
      }
      return tf.reshape(out, [...outer, m, n]);
    });
  };
  return { ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

/** tf.fused' activation by name, as tfjs-core's applyActivation defines it. */
function applyActivation(
  y: tf.Tensor,
  activation: string,
  preluWeights: tf.Tensor | null,
  leakyreluAlpha: number,
): tf.Tensor {
  switch (activation) {
    case "linear":
      return y;
    case "relu":
      return tf.relu(y);
    case "relu6":
      return tf.relu6(y);
    case "elu":
      return tf.elu(y);
    case "sigmoid":
      return tf.sigmoid(y);
    case "leakyrelu":
      return tf.leakyRelu(y, leakyreluAlpha);
    case "prelu":
      return tf.prelu(y, preluWeights!);
    default:
      throw new Error(`unknown fused activation '${activation}'`);
  }
}

/** _FusedMatMul with a transposed operand, unfused (see the header). */
function fusedMatMulTransposed(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs<"a" | "b" | "bias" | "preluActivationWeights">) => {
    const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
      activation?: string;
      leakyreluAlpha?: number;
    };
    if (!transposeA && !transposeB) {
      return original.kernelFunc(args as Parameters<tf.KernelFunc>[0]);
    }
    const { backend } = args;
    const { a, b, bias, preluActivationWeights: prelu } = args.inputs as Record<string, Info>;
    return fromOps(backend, () => {
      let y = tf.matMul(asTensor(backend, a), asTensor(backend, b), transposeA, transposeB);
      if (bias !== undefined) y = tf.add(y, asTensor(backend, bias));
      return applyActivation(
        y,
        activation ?? "linear",
        prelu === undefined ? null : asTensor(backend, prelu),
        leakyreluAlpha ?? 0.2,
      );
    });
  };
  return { ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

/** Wrap a conv kernel so that pad 'same' reaches it as the equivalent explicit padding. */
function withExplicitSamePadding(kernelName: string, depthwise: boolean): tf.KernelConfig {
  const original = tf.getKernel(kernelName, "wasm");
  if (original === undefined) throw new Error(`wasm kernel ${kernelName} is not registered`);
  const kernelFunc = (args: KernelArgs<"x" | "filter">) => {
    const attrs = args.attrs as unknown as ConvGradAttrs & { dilations?: number | number[] };
    if (attrs.pad !== "same") return original.kernelFunc(args as Parameters<tf.KernelFunc>[0]);
    const { x, filter } = args.inputs;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      (attrs.dilations ?? 1) as number,
      "same",
      attrs.dimRoundingMode,
      depthwise,
      tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? "NHWC"),
    );
    const { top, bottom, left, right } = info.padInfo;
    const pad = [[0, 0], [top, bottom], [left, right], [0, 0]];
    return original.kernelFunc(
      { ...args, attrs: { ...args.attrs, pad } } as Parameters<
        tf.KernelFunc
      >[0],
    );
  };
  return { ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

/**
 * Slice without copying the whole input first. tfjs-wasm's Slice begins with
 * `backend.readSync(x)`, which copies ALL of x out of the wasm heap into a fresh JS array, so
 * reading one element of a 1024² tensor cost ≈13 ms (4 MiB of new pages), ≈1000× the work.
 * Here the input is a view of the heap; contiguous runs of the innermost axis are copied.
 */
export function sliceWasm(args: KernelArgs<"x">): Info {
  const { backend } = args;
  const { x } = args.inputs;
  const [begin, size] = tf.slice_util.parseSliceParams(
    x as unknown as tf.Tensor,
    args.attrs.begin as number[],
    args.attrs.size as number[],
  );
  const out = backend.makeOutput(size, x.dtype);
  const total = tf.util.sizeFromShape(size);
  if (total === 0) return out;
  const xs = heapView(backend, x); // views after makeOutput: allocating may move the heap
  const outs = heapView(backend, out);
  const rank = x.shape.length;
  const strides = tf.util.computeStrides(x.shape);
  const inner = rank === 0 ? 1 : size[rank - 1];
  const rows = total / inner;
  // Odometer over all axes but the last; each row is one contiguous run of `inner` values.
  const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  for (let row = 0; row < rows; row++) {
    let offset = rank === 0 ? 0 : begin[rank - 1];
    for (let axis = 0; axis < rank - 1; axis++) {
      offset += (begin[axis] + index[axis]) * strides[axis];
    }
    outs.set(xs.subarray(offset, offset + inner), row * inner);
    for (let axis = rank - 2; axis >= 0; axis--) {
      if (++index[axis] < size[axis]) break;
      index[axis] = 0;
    }
  }
  return out;
}

let registered = false;

/** Register the kernels above for 'wasm' (replacing tfjs's slow Conv2DBackpropInput). Safe to
 * call before or after the backend is initialised; runs once. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  const batchMatMul = tf.getKernel("BatchMatMul", "wasm");
  if (batchMatMul === undefined) throw new Error("wasm kernel BatchMatMul is not registered");
  const fusedMatMul = tf.getKernel("_FusedMatMul", "wasm");
  if (fusedMatMul === undefined) throw new Error("wasm kernel _FusedMatMul is not registered");
  const configs: tf.KernelConfig[] = [
    fastBatchMatMul(batchMatMul),
    fusedMatMulTransposed(fusedMatMul),
    withExplicitSamePadding("Conv2D", false),
    withExplicitSamePadding("FusedConv2D", false),
    withExplicitSamePadding("DepthwiseConv2dNative", true),
    withExplicitSamePadding("FusedDepthwiseConv2D", true),
  ];
  const own: [string, unknown][] = [
    ["Conv2DBackpropFilter", conv2dBackpropFilterWasm],
    ["Conv2DBackpropInput", conv2dBackpropInputWasm],
    ["UnsortedSegmentSum", unsortedSegmentSumWasm],
    ["ResizeNearestNeighborGrad", resizeNearestNeighborGradWasm],
    ["MaxPoolGrad", maxPoolGradWasm],
  ];
  const slice = tf.getKernel("Slice", "wasm");
  if (slice === undefined) throw new Error("wasm kernel Slice is not registered");
  configs.push({
    ...slice,
    kernelFunc: ((args: KernelArgs<"x">) =>
      args.inputs.x.dtype === "float32" || args.inputs.x.dtype === "int32"
        ? sliceWasm(args)
        : slice.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0])) as tf.KernelFunc,
  });
  for (const [kernelName, kernelFunc] of own) {
    configs.push({ kernelName, backendName: "wasm", kernelFunc: kernelFunc as tf.KernelFunc });
  }
  for (const config of configs) {
    if (tf.getKernel(config.kernelName, "wasm") !== undefined) {
      tf.unregisterKernel(config.kernelName, "wasm");
    }
    tf.registerKernel(config);
  }
}
