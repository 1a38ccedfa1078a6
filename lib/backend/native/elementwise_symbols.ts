/** FFI signatures of genlab_elementwise.c (element-wise ops and reductions), merged into
 * NATIVE_SYMBOLS by library.ts. Arrays (tensors on the wasm heap, shapes) are "buffer"s. */
export const ELEMENTWISE_SYMBOLS = {
  /** Elements from which an op uses all threads (0 = default 64K; tests use 1). */
  gl_ew_set_parallel_min: { parameters: ["i32"], result: "void" },
  /** (op, n, x, y, alpha) → 0, or −1 for an unknown op. */
  gl_unary: { parameters: ["i32", "i32", "buffer", "buffer", "f32"], result: "i32" },
  /** (op, rank, shapes = out|a|b as int32, a, b, out) → 0, or −1. */
  gl_binary: {
    parameters: ["i32", "i32", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  /** (mean, rank, shape int32, reduced-axis bit mask, x, out) → 0, or −1 (no memory). */
  gl_reduce: {
    parameters: ["i32", "i32", "buffer", "i32", "buffer", "buffer"],
    result: "i32",
  },
  /** (n, channels, x, mean, len, variance, len, offset|null, len, scale|null, len, ε, y). */
  gl_batchnorm: {
    parameters: [
      "i32",
      "i32",
      "buffer",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
    ],
    result: "i32",
  },
  /** (n, inner, condition uint8, t, e, out): 4-byte elements. */
  gl_select: {
    parameters: ["i32", "i32", "buffer", "buffer", "buffer", "buffer"],
    result: "void",
  },
  /** (mode, n, x, y) → 0, or −1. */
  gl_cast: { parameters: ["i32", "i32", "buffer", "buffer"], result: "i32" },
  /** (rows, width, src, src stride, dst, dst stride), all in bytes. */
  gl_copy_rows: {
    parameters: ["i64", "i64", "buffer", "i64", "buffer", "i64"],
    result: "void",
  },
  /** (batch, positions, channels, groups, x, γ, β, ε, y, mean[b·G], invStd[b·G], silu 0|1)
   * → 0, or −1; silu = 1: y = SiLU(GN(x)). */
  gl_group_norm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "f32",
      "buffer",
      "buffer",
      "buffer",
      "i32",
    ],
    result: "i32",
  },
  /** (batch, positions, channels, groups, dy, x, γ, mean, invStd, dx, dγ, dβ, β|null, silu)
   * → 0, or −1; silu = 1: the gradient of SiLU(GN(x)) (β needed to recompute GN(x)). */
  gl_group_norm_grad: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "i32",
    ],
    result: "i32",
  },
  /** (n, x, y): y = x·σ(x). */
  gl_silu: { parameters: ["i64", "buffer", "buffer"], result: "void" },
  /** (n, dy, x, dx): dx = dy·σ(x)·(1 + x·(1 − σ(x))). */
  gl_silu_grad: { parameters: ["i64", "buffer", "buffer", "buffer"], result: "void" },
  /** (batch, inH, inW, C, outH, outW, srcRow int32[outH], srcCol int32[outW], x, y). */
  gl_resize_nearest: {
    parameters: ["i32", "i32", "i32", "i32", "i32", "i32", "buffer", "buffer", "buffer", "buffer"],
    result: "void",
  },
  /** (batch, inH, inW, C, outH, outW, srcRow, srcCol, dy, dx): scatter-add of dy into dx. */
  gl_resize_nearest_grad: {
    parameters: ["i32", "i32", "i32", "i32", "i32", "i32", "buffer", "buffer", "buffer", "buffer"],
    result: "void",
  },
  /** (count, heap, byte offsets int64[7·count], starts int64[count+1], params f64[8]) → 0 | −1. */
  gl_adam: { parameters: ["i32", "buffer", "buffer", "buffer", "buffer"], result: "i32" },
  /** (count, heap, byte offsets int64[3·count], starts int64[count+1], decay) → 0 | −1. */
  gl_ema: { parameters: ["i32", "buffer", "buffer", "buffer", "f64"], result: "i32" },
} as const;
