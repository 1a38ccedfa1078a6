/** FFI signatures of genlab_elementwise.c (element-wise ops and reductions), merged into
 * NATIVE_SYMBOLS by library.ts. */
export const ELEMENTWISE_SYMBOLS = {} as const;
