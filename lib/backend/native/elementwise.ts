/** Native element-wise kernels (placeholder: none yet). */
import type { NativeLibrary } from "./library.ts";

export function installElementwiseKernels(_library: NativeLibrary): void {}
