/**
 * `--backend native`: the wasm backend with MatMul on OpenBLAS, the convolutions on oneDNN (or
 * im2col + OpenBLAS) and the element-wise ops and reductions on OpenMP C loops, through Deno FFI
 * (kernels.ts: the design; elementwise.ts: the element-wise layer; library.ts: how the C shim is
 * built and found).
 */
import { resolveWasmThreads, setupWasm } from "../wasm.ts";
import { loadNativeLibrary, type NativeLoad, NativeUnavailableError } from "./library.ts";
import { installNativeKernels, setNativeKernels } from "./kernels.ts";

export { NativeUnavailableError } from "./library.ts";
export { elementwiseCounters, setNativeElementwise } from "./elementwise.ts";
export {
  NATIVE_KERNEL_NAMES,
  nativeCounters,
  nativeKernelsEnabled,
  setNativeKernels,
} from "./kernels.ts";

export interface NativeSetup {
  /** Threads of the underlying wasm backend (element-wise ops etc.). */
  wasmThreads: number;
  /** OpenBLAS / OpenMP threads of the native kernels. */
  blasThreads: number;
  description: string;
  library: NativeLoad;
}

/** Whether the native kernels can load here, without switching backends; never throws. */
export function probeNative(): { ok: true; description: string } | { ok: false; reason: string } {
  try {
    const loaded = loadNativeLibrary(resolveWasmThreads());
    return { ok: true, description: loaded.description };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/** Start wasm (threads as for wasm), load the native library and route the heavy kernels to it.
 * Throws NativeUnavailableError naming the fix when it cannot load. */
export async function setupNative(options: { threads?: number } = {}): Promise<NativeSetup> {
  const wasm = await setupWasm({ threads: options.threads });
  const library = loadNativeLibrary(wasm.threads);
  installNativeKernels(library.symbols);
  setNativeKernels(true);
  return {
    wasmThreads: wasm.threads,
    blasThreads: library.threads,
    library,
    description: `native kernels for MatMul, Conv2D + gradients and element-wise ops ` +
      `(${library.description}) on ${wasm.description}`,
  };
}

export function isNativeUnavailable(e: unknown): e is NativeUnavailableError {
  return e instanceof NativeUnavailableError;
}
