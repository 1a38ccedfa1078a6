/**
 * The wasm backend: XNNPACK + SIMD, 2 threads by default, plus genlab's kernel fixes and (with
 * threads) the deadlock watchdog.
 */
import * as tf from "@tensorflow/tfjs";
import * as wasmBackend from "@tensorflow/tfjs-backend-wasm";
import { initThreadedWasm, MAX_WASM_THREADS, releaseIdleWorkers } from "./wasm_threads.ts";
import { registerWasmKernels } from "./wasm_kernels.ts";
import { guardKernels, startWatchdog, withWatchdogAsync } from "./watchdog.ts";

export interface WasmSetup {
  threads: number;
  description: string;
  /** Whether the deadlock watchdog runs (threads > 1 and not disabled). */
  watchdog: boolean;
}

export const DEFAULT_WASM_THREADS = 2;

/** The thread count to use: explicit option, else GENLAB_WASM_THREADS, else 2. */
export function resolveWasmThreads(requested?: number): number {
  let threads = requested;
  let source = "threads option";
  if (threads === undefined) {
    const env = Deno.env.get("GENLAB_WASM_THREADS");
    if (env !== undefined && env !== "") {
      threads = Number(env);
      source = "GENLAB_WASM_THREADS";
    }
  }
  threads ??= DEFAULT_WASM_THREADS;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    throw new Error(`${source} must be an integer from 1 to ${MAX_WASM_THREADS}, got ${threads}`);
  }
  return threads;
}

let initialised: WasmSetup | null = null;

export async function setupWasm(options: { threads?: number } = {}): Promise<WasmSetup> {
  // Using a value from the package keeps TypeScript from dropping the import, which would leave
  // the 'wasm' backend unregistered.
  const version = wasmBackend.version_wasm;
  const threads = resolveWasmThreads(options.threads);
  if (initialised !== null) {
    // The pool is created once per process; a second setup can only switch back to it.
    if (threads !== initialised.threads) {
      throw new Error(
        `the wasm backend already runs ${initialised.threads} thread(s) in this process; ` +
          `the thread count cannot change to ${threads}`,
      );
    }
    await tf.setBackend("wasm");
    return initialised;
  }
  registerWasmKernels();
  let watchdog = false;
  if (threads > 1) {
    watchdog = startWatchdog();
    await withWatchdogAsync("wasm backend initialisation", () => initThreadedWasm(threads));
    releaseIdleWorkers();
    guardKernels("wasm");
  } else if (!(await tf.setBackend("wasm"))) {
    throw new Error("could not initialise the wasm backend");
  }
  await tf.ready();
  const got = wasmBackend.getThreadsCount();
  initialised = {
    threads: got,
    description: `tfjs-backend-wasm ${version}, SIMD, ${got} thread${got === 1 ? "" : "s"}` +
      (watchdog ? ", deadlock watchdog" : ""),
    watchdog,
  };
  return initialised;
}
