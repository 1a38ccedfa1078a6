/**
 * The webgpu backend: @tensorflow/tfjs-backend-webgpu on Deno's built-in WebGPU (wgpu over
 * Vulkan / Metal / D3D12). It is the GPU path that installs from npm alone (tfjs-node-gpu cannot be
 * installed offline and pins CUDA 11.2), and the only one a test can exercise without a GPU: with
 * Debian `mesa-vulkan-drivers`, WebGPU finds Mesa's llvmpipe software adapter, which runs the very
 * same WGSL shaders on the CPU: ≈10× slower than the wasm backend on 2 cores (a 512² matMul
 * 126 ms vs 10 ms), so it is for correctness tests in CI, not for training.
 *
 * Three things here are not obvious:
 *  - The package is imported dynamically, by setupWebgpu() only. On import it registers 'webgpu'
 *    with priority 3, above wasm (2) and cpu (1), whenever `navigator.gpu` exists — which under
 *    Deno 2 it always does. A static import would make any `tf.ready()` or op that runs before an
 *    explicit `tf.setBackend` open a GPU device (and load ≈0.75 MB of JS) in processes that never
 *    chose webgpu.
 *  - On a headless machine every adapter request makes libwayland-client print "error:
 *    XDG_RUNTIME_DIR is invalid or not set in the environment." twice (harmless: no compositor is
 *    needed for compute). When the variable is unset, it is pointed at an empty private temp dir
 *    for the duration of each adapter request only, so the rest of the process and its child
 *    processes see the environment unchanged.
 *  - tfjs-backend-webgpu reads GPU data synchronously (`dataSync`, `arraySync`) through an
 *    OffscreenCanvas 2D context, which Deno lacks: it fails with "Cannot read properties of null
 *    (reading 'clearRect')". Code that may run on webgpu must read with `await tensor.data()`;
 *    setupWebgpu() turns the cryptic failure into an error that says so.
 */
import * as tf from "@tensorflow/tfjs";

export interface WebgpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

export interface WebgpuProbe {
  /** An adapter was found: setupWebgpu() can run. */
  ok: boolean;
  /** `navigator.gpu` exists (Deno's WebGPU API). */
  hasWebgpuApi: boolean;
  /** What requestAdapter() returned, or null. */
  adapter: WebgpuAdapterInfo | null;
  /** A software adapter (llvmpipe, SwiftShader, WARP): correct, but slower than wasm. */
  isFallback: boolean;
  /** One line: the adapter and whether it is a GPU, or why there is none. */
  description: string;
  /** Why WebGPU is unusable, naming the fix; null when ok. */
  reason: string | null;
}

export interface WebgpuSetup {
  description: string;
  probe: WebgpuProbe;
}

/** requestAdapter() answers in ≈0.2-0.4 s with llvmpipe; a broken driver must not hang a probe. */
const PROBE_TIMEOUT_MS = 10_000;

const PCI_VENDORS: Record<number, string> = {
  0x1002: "AMD",
  0x106b: "Apple",
  0x10de: "NVIDIA",
  0x13b5: "ARM",
  0x1414: "Microsoft",
  0x5143: "Qualcomm",
  0x8086: "Intel",
  0x10005: "Mesa",
};

/** wgpu reports the vendor as a decimal PCI id ("65541" = 0x10005, Mesa). */
function vendorName(vendor: string): string {
  if (!/^\d+$/.test(vendor)) return vendor;
  const id = Number(vendor);
  const hex = `0x${id.toString(16)}`;
  return PCI_VENDORS[id] ? `${PCI_VENDORS[id]} ${hex}` : `vendor ${hex}`;
}

/** The adapter's name as a person would say it. */
function adapterName(info: WebgpuAdapterInfo): string {
  return info.description || [vendorName(info.vendor), info.architecture, `device ${info.device}`]
    .filter((s) => s !== "").join(" ");
}

/** Run `fn` (which requests an adapter) with XDG_RUNTIME_DIR set, if it is not (see top). */
async function withRuntimeDir<T>(fn: () => Promise<T>): Promise<T> {
  let previous: string | undefined;
  let dir: string | null = null;
  try {
    previous = Deno.env.get("XDG_RUNTIME_DIR");
    if (previous === undefined || !previous.startsWith("/")) {
      dir = await Deno.makeTempDir({ prefix: "genlab-xdg-runtime-" });
      Deno.env.set("XDG_RUNTIME_DIR", dir);
    }
  } catch {
    // No --allow-env/--allow-write: the only cost is the two warning lines.
  }
  try {
    return await fn();
  } finally {
    if (dir !== null) {
      try {
        if (previous === undefined) Deno.env.delete("XDG_RUNTIME_DIR");
        else Deno.env.set("XDG_RUNTIME_DIR", previous);
        await Deno.remove(dir);
      } catch {
        // best effort: an empty temp dir left behind is harmless
      }
    }
  }
}

function unavailable(hasWebgpuApi: boolean, reason: string): WebgpuProbe {
  return {
    ok: false,
    hasWebgpuApi,
    adapter: null,
    isFallback: false,
    description: `unavailable: ${reason}`,
    reason,
  };
}

const NO_ADAPTER_FIX = "install a Vulkan driver: Debian mesa-vulkan-drivers gives the software " +
  "(llvmpipe) adapter, a GPU needs its vendor's driver; or use --backend wasm";

async function probe(): Promise<WebgpuProbe> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (gpu === undefined) {
    return unavailable(
      false,
      `this runtime has no navigator.gpu (Deno ${Deno.version.deno}): run on a Deno build ` +
        "with WebGPU (every Deno >= 2.0 release), or use --backend wasm",
    );
  }
  let adapter: GPUAdapter | null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<"timeout">((resolve) => {
      const t = setTimeout(() => resolve("timeout"), PROBE_TIMEOUT_MS);
      Deno.unrefTimer(t);
      timer = t;
    });
    const result = await withRuntimeDir(() =>
      Promise.race([gpu.requestAdapter({ powerPreference: "high-performance" }), timeout])
    );
    if (result === "timeout") {
      return unavailable(
        true,
        `navigator.gpu.requestAdapter() did not answer within ${PROBE_TIMEOUT_MS / 1000} s ` +
          "(a broken Vulkan driver?); use --backend wasm",
      );
    }
    adapter = result;
  } catch (e) {
    return unavailable(
      true,
      `navigator.gpu.requestAdapter() failed (${(e as Error).message?.split("\n")[0]}); ` +
        NO_ADAPTER_FIX,
    );
  } finally {
    clearTimeout(timer);
  }
  if (adapter === null) return unavailable(true, `no WebGPU adapter found; ${NO_ADAPTER_FIX}`);
  // Deno 2.9 reports isFallbackAdapter on adapter.info (the current spec); older runtimes had it
  // on the adapter itself.
  const raw = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const info: WebgpuAdapterInfo = {
    vendor: String(raw?.vendor ?? ""),
    architecture: String(raw?.architecture ?? ""),
    device: String(raw?.device ?? ""),
    description: String(raw?.description ?? ""),
  };
  const flag = raw?.isFallbackAdapter ??
    (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const isFallback = flag ?? /llvmpipe|lavapipe|swiftshader|warp/i.test(info.description);
  const kind = isFallback ? "software fallback adapter" : "GPU";
  const device = /^\d+$/.test(info.device) ? `0x${Number(info.device).toString(16)}` : info.device;
  const ids = [vendorName(info.vendor), device ? `device ${device}` : ""]
    .filter((s) => s !== "").join(", ");
  return {
    ok: true,
    hasWebgpuApi: true,
    adapter: info,
    isFallback,
    description: `${adapterName(info)}${ids && info.description ? ` [${ids}]` : ""}: ${kind}`,
    reason: null,
  };
}

let probed: Promise<WebgpuProbe> | null = null;

/** Whether WebGPU is usable here and on what adapter, without loading tfjs-backend-webgpu.
 * Never throws; the answer is cached for the process (≈0.2-0.4 s the first time with llvmpipe).
 * The adapter is not kept, so nothing is left running. */
export function probeWebgpu(): Promise<WebgpuProbe> {
  probed ??= probe().catch((e) =>
    unavailable(true, `probing WebGPU failed: ${(e as Error)?.message ?? e}`)
  );
  return probed;
}

let initialised: WebgpuSetup | null = null;

/** Replace the OffscreenCanvas failure of a synchronous GPU read with an error naming the fix,
 * and drop tfjs' "synchronous read is slow" warning that would precede it. Reads of values that
 * are still on the CPU (small tensors tfjs keeps there) keep working. */
function explainSyncReads(backendClass: unknown): void {
  type ReadSync = (this: { hasReadSyncWarned: boolean }, dataId: object) => unknown;
  const proto = (backendClass as { prototype: { readSync: ReadSync } }).prototype;
  const readSync = proto.readSync;
  proto.readSync = function (dataId) {
    this.hasReadSyncWarned = true;
    try {
      return readSync.call(this, dataId);
    } catch (e) {
      throw new Error(
        "the webgpu backend cannot read GPU data synchronously under Deno (dataSync/arraySync " +
          "need an OffscreenCanvas 2D context, which Deno lacks): read with `await " +
          `tensor.data()\` instead (${(e as Error).message})`,
      );
    }
  };
}

/** Load tfjs-backend-webgpu and make `webgpu` the tfjs backend. Throws a one-line Error naming
 * the fix when no adapter exists. Later calls only switch back to it. */
export async function setupWebgpu(): Promise<WebgpuSetup> {
  if (initialised !== null) {
    if (!(await tf.setBackend("webgpu"))) throw new Error("could not switch back to webgpu");
    return initialised;
  }
  const probe = await probeWebgpu();
  if (!probe.ok) throw new Error(`backend 'webgpu' is not available: ${probe.reason}`);
  // The constructor is used below, which also keeps type-only elision away from this import.
  const { WebGPUBackend } = await import("@tensorflow/tfjs-backend-webgpu");
  if (tf.findBackendFactory("webgpu") === null) {
    throw new Error(
      "tfjs-backend-webgpu did not register the 'webgpu' backend (navigator.gpu missing?)",
    );
  }
  const ok = await withRuntimeDir(() => tf.setBackend("webgpu"));
  if (!ok || !(tf.backend() instanceof WebGPUBackend)) {
    throw new Error(
      `backend 'webgpu' failed to initialise on ${probe.description} (tfjs printed why above); ` +
        "use --backend wasm",
    );
  }
  explainSyncReads(WebGPUBackend);
  await tf.ready();
  const kind = probe.isFallback
    ? "software fallback adapter (slow: for correctness, not speed)"
    : "GPU";
  initialised = {
    description: `tfjs-backend-webgpu on ${adapterName(probe.adapter!)}: ${kind}`,
    probe,
  };
  return initialised;
}
