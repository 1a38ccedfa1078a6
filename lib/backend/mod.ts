/**
 * Backend choice and setup. The ONLY place in genlab that knows backend names: everything else
 * calls `setupBackend()` once and then uses plain tfjs.
 *
 *  - `native`     wasm with MatMul on OpenBLAS and the convolutions (forward and gradients) on
 *                 oneDNN, via Deno FFI (lib/backend/native/): needs Debian libopenblas0-pthread,
 *                 gcc, and libdnnl-dev for the oneDNN convolutions (else im2col + OpenBLAS).
 *  - `webgpu`     tfjs-backend-webgpu on Deno's built-in WebGPU (lib/backend/webgpu.ts): the GPU
 *                 path. Without a GPU it runs on Mesa's software adapter (correct, slow: CI tests).
 *  - `wasm`       XNNPACK + SIMD (+2 threads where they work) with genlab's kernel fixes.
 *  - `cpu`        the pure-JS reference: slow, exact, used by tests as ground truth.
 *  - `tensorflow` @tensorflow/tfjs-node-gpu, else @tensorflow/tfjs-node — optional, never required.
 *  - `auto`       the best available: webgpu on a real (non-fallback) GPU adapter, else native if
 *                 its library loads, else wasm. One line says what was picked and why.
 */
import * as tf from "@tensorflow/tfjs";
import { registerGradientFixes } from "./gradients.ts";
import { registerCpuFixes } from "./cpu_fixes.ts";
import { setupWasm, type WasmSetup } from "./wasm.ts";
import { isNativeUnavailable, probeNative, setNativeKernels, setupNative } from "./native/mod.ts";
import { probeWebgpu, setupWebgpu } from "./webgpu.ts";
import { UserInputError } from "../util/errors.ts";

/** Deadlock watchdog (active with wasm threads > 1): the trainer calls `heartbeat()` once per
 * step; `withWatchdog(label, fn)` guards a synchronous region outside tfjs kernels. */
export { heartbeat, watchdogStatus, withWatchdog } from "./watchdog.ts";
export { DEFAULT_WASM_THREADS, resolveWasmThreads } from "./wasm.ts";

export const BACKEND_NAMES = ["auto", "webgpu", "native", "wasm", "cpu", "tensorflow"] as const;
export type BackendName = typeof BACKEND_NAMES[number];

export interface BackendOptions {
  backend?: BackendName;
  /** wasm threads (1..8); default: GENLAB_WASM_THREADS, else 2. Fixed once wasm started. */
  threads?: number;
  /** Print one line saying what was picked and why. */
  verbose?: boolean;
}

export interface BackendInfo {
  requested: BackendName;
  name: string;
  reason: string;
  threads: number;
  tfjsVersion: string;
  denoVersion: string;
  available: Record<string, string>;
}

let current: BackendInfo | null = null;

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

/** Load the optional native TensorFlow binding, but only if deno.json maps it: importing an
 * unmapped `npm:` specifier makes Deno download the package (and its ~60 dependencies) into
 * node_modules and deno.lock as a side effect. The specifier is a variable on purpose, so type
 * checking never resolves it either. Returns the package loaded, or why none could be. */
async function loadTensorflowBinding(): Promise<{ pkg: string } | { error: string }> {
  const errors: string[] = [];
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      import.meta.resolve(pkg);
    } catch {
      continue; // not a dependency of this project
    }
    try {
      await import(pkg);
      return { pkg };
    } catch (e) {
      errors.push(`${pkg}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return {
    error: errors.length === 0
      ? "neither @tensorflow/tfjs-node nor -node-gpu is installed"
      : `loading failed (${errors.join("; ")})`,
  };
}

export async function setupBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  const requested = options.backend ?? "auto";
  if (!isBackendName(requested)) {
    throw new Error(
      `unknown backend '${requested}': use one of ${BACKEND_NAMES.join(", ")}`,
    );
  }
  registerGradientFixes();
  registerCpuFixes();
  const available: Record<string, string> = { cpu: "pure JS reference" };
  let name: string;
  let reason: string;
  let threads = 1;

  if (requested === "tensorflow") {
    const binding = await loadTensorflowBinding();
    if ("error" in binding) {
      throw new UserInputError(
        `backend 'tensorflow' is not available: ${binding.error}. It needs ` +
          "@tensorflow/tfjs-node (or -node-gpu) with its native library, which cannot be installed " +
          "offline: on a networked machine run 'deno add npm:@tensorflow/tfjs-node@4.22.0 && " +
          "deno install --allow-scripts', or use --backend wasm",
      );
    }
    const pkg = binding.pkg;
    await tf.setBackend("tensorflow");
    name = "tensorflow";
    reason = `requested; loaded ${pkg}`;
    available.tensorflow = pkg;
  } else if (requested === "cpu") {
    await tf.setBackend("cpu");
    // tfjs-backend-cpu prints a multi-line "install tfjs-node" banner on first use under Node.
    // deno-lint-ignore no-explicit-any
    (tf.backend() as any).firstUse = false;
    name = "cpu";
    reason = "requested (exact reference, slow)";
  } else if (requested === "webgpu") {
    const webgpu = await setupWebgpu().catch((e: Error) => {
      throw e.message.startsWith("backend 'webgpu'") ? new UserInputError(e.message) : e;
    });
    setNativeKernels(false);
    available.webgpu = webgpu.description;
    name = "webgpu";
    reason = webgpu.probe.isFallback
      ? "requested (software adapter: correct but slower than native/wasm)"
      : "requested";
  } else if (requested === "native") {
    try {
      const native = await setupNative({ threads: options.threads });
      available.native = native.description;
      name = "native";
      threads = native.wasmThreads;
      reason = "requested";
    } catch (e) {
      if (!isNativeUnavailable(e)) throw e;
      throw new UserInputError(`backend 'native' is not available: ${e.message}`);
    }
  } else {
    // auto or wasm. auto: a real GPU first, then native when its library loads (probing builds
    // it once), then wasm. Every candidate's status lands in `available`.
    const gpu = requested === "auto" ? await probeWebgpu() : null;
    if (gpu !== null) available.webgpu = gpu.ok ? gpu.description : `unavailable: ${gpu.reason}`;
    const probe = requested === "auto" && !(gpu?.ok && !gpu.isFallback) ? probeNative() : null;
    if (gpu?.ok && !gpu.isFallback) {
      const webgpu = await setupWebgpu();
      setNativeKernels(false);
      available.webgpu = webgpu.description;
      name = "webgpu";
      reason = `auto: webgpu on a GPU (${gpu.description})`;
    } else if (probe?.ok) {
      const native = await setupNative({ threads: options.threads });
      available.native = native.description;
      name = "native";
      threads = native.wasmThreads;
      reason = `auto: native (OpenBLAS/oneDNN kernels) is the fastest backend here${
        gpu?.ok ? " (the WebGPU adapter is a software fallback, slower)" : " (no WebGPU GPU)"
      }`;
    } else {
      const wasm: WasmSetup = await setupWasm({ threads: options.threads });
      setNativeKernels(false);
      available.wasm = wasm.description;
      name = "wasm";
      threads = wasm.threads;
      reason = requested === "wasm"
        ? "requested"
        : `auto: wasm (${wasm.description}); native unavailable: ${
          probe && !probe.ok ? probe.reason : "?"
        }`;
    }
  }
  await tf.ready();
  current = {
    requested,
    name,
    reason,
    threads,
    tfjsVersion: tf.version.tfjs,
    denoVersion: Deno.version.deno,
    available,
  };
  if (options.verbose) {
    console.error(`backend: ${name} (${threads} thread${threads === 1 ? "" : "s"}) — ${reason}`);
  }
  return current;
}

/** What setupBackend() chose, or null before it ran. */
export function backendInfo(): BackendInfo | null {
  return current;
}
