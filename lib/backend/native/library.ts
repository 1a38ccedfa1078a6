/**
 * Finding, building and opening genlab's native kernel library (genlab_native.c) with Deno FFI.
 *
 * Why a small C shim instead of calling OpenBLAS' `cblas_sgemm` straight from TypeScript: a
 * convolution needs im2col/col2im around its GEMM, and in JS those loops cost about as much as
 * the GEMM itself (they move 10–30 M floats per U-Net layer). In C they run at memory speed on
 * both cores, and a whole convolution is one FFI call. The library is compiled once per machine
 * (cc + OpenMP, both in Debian's gcc) against Debian's OpenBLAS runtime `libopenblas0-pthread`,
 * and cached under .cache/native by content hash; `bash .ci/setup` builds it ahead of time.
 */
import * as path from "node:path";
import * as os from "node:os";
import { fileURLToPath } from "node:url";
import { ELEMENTWISE_SYMBOLS } from "./elementwise_symbols.ts";

/** The C sources, compiled together into one library. */
const SOURCE_URLS = ["./genlab_native.c", "./genlab_elementwise.c", "./genlab_dnnl.c"].map((file) =>
  new URL(file, import.meta.url)
);

/** Where Debian (and most distributions) put the threaded OpenBLAS runtime. */
const OPENBLAS_CANDIDATES = [
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
  "/usr/lib64/libopenblas.so.0",
  "/usr/lib/libopenblas.so.0",
];

export const NATIVE_SYMBOLS = {
  gl_init: { parameters: ["i32"], result: "i32" },
  gl_version: { parameters: [], result: "i32" },
  gl_blas_config: { parameters: [], result: "pointer" },
  gl_peak_gflops: { parameters: ["i32", "i32"], result: "f64" },
  gl_set_chunk_floats: { parameters: ["i32"], result: "void" },
  gl_set_conv_engine: { parameters: ["i32"], result: "i32" },
  gl_dnnl_version: { parameters: [], result: "pointer" },
  gl_batch_matmul: {
    parameters: [
      "i32", // batch
      "i32", // batch of a (1 = broadcast)
      "i32", // batch of b
      "i32", // transpose a
      "i32", // transpose b
      "i32", // m
      "i32", // n
      "i32", // k
      "buffer", // a
      "buffer", // b
      "buffer", // out
      "buffer", // bias or null
      "i32", // activation code
      "f32", // leaky-relu alpha
    ],
    result: "void",
  },
  gl_conv2d: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "i32", "f32"],
    result: "i32",
  },
  gl_conv2d_backprop_input: {
    parameters: ["buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  gl_conv2d_backprop_filter: {
    parameters: ["buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  ...ELEMENTWISE_SYMBOLS,
} as const;

export type NativeLibrary = Deno.DynamicLibrary<typeof NATIVE_SYMBOLS>["symbols"];

export interface NativeLoad {
  symbols: NativeLibrary;
  /** e.g. "OpenBLAS 0.3.21 … (2 threads) via /usr/lib/…/libopenblas.so.0". */
  description: string;
  openblas: string;
  /** openblas_get_config(): version, build options and the kernel picked for this CPU. */
  config: string;
  threads: number;
}

/** Why the native library is unavailable, phrased so the user knows what to install. */
export class NativeUnavailableError extends Error {}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

function exists(file: string): boolean {
  try {
    Deno.statSync(file);
    return true;
  } catch {
    return false;
  }
}

/** The OpenBLAS runtime to link against: $GENLAB_OPENBLAS, else the first standard path. */
export function findOpenBlas(): string | null {
  const fromEnv = Deno.env.get("GENLAB_OPENBLAS");
  if (fromEnv) return exists(fromEnv) ? fromEnv : null;
  return OPENBLAS_CANDIDATES.find(exists) ?? null;
}

function cacheDir(): string {
  const base = Deno.env.get("GENLAB_CACHE_DIR") ??
    (import.meta.url.startsWith("file:")
      ? fileURLToPath(new URL("../../../.cache", import.meta.url))
      : path.join(os.tmpdir(), "genlab-cache"));
  const dir = path.join(base, "native");
  Deno.mkdirSync(dir, { recursive: true });
  return dir;
}

/** oneDNN's header, if Debian's libdnnl-dev is installed: then convolutions use it. */
const DNNL_HEADER = "/usr/include/dnnl.h";

/** Compile the C sources unless a library built from the same sources and flags is cached:
 * with oneDNN when its header is installed (falling back to a build without it if that fails).
 * Returns the .so path. Atomic (temp file + rename), so concurrent processes are safe. */
export function buildNativeLibrary(openblas: string): string {
  const withDnnl = Deno.env.get("GENLAB_NATIVE_DNNL") !== "0" && exists(DNNL_HEADER);
  if (withDnnl) {
    try {
      return compile(openblas, true);
    } catch (e) {
      console.error(
        `genlab: building the native kernels with oneDNN failed (${
          (e as Error).message
        }); using im2col + OpenBLAS only`,
      );
    }
  }
  return compile(openblas, false);
}

function compile(openblas: string, withDnnl: boolean): string {
  const source = SOURCE_URLS.map((url) => Deno.readTextFileSync(url)).join("\n");
  const compiler = Deno.env.get("CC") ?? "cc";
  const flags = [
    "-O3",
    "-march=native",
    "-fopenmp",
    // sqrtf without an errno branch, so loops over it vectorise (no genlab code reads errno).
    "-fno-math-errno",
    "-fPIC",
    "-shared",
    "-Wall",
    "-Werror",
    ...(withDnnl ? ["-DGENLAB_DNNL"] : []),
  ];
  const libraries = [
    openblas,
    `-Wl,-rpath,${path.dirname(openblas)}`,
    ...(withDnnl ? ["-ldnnl"] : []),
    "-lm",
  ];
  const key = fnv1a(
    [source, compiler, flags.join(" "), libraries.join(" "), Deno.build.target].join("\n"),
  );
  const file = path.join(cacheDir(), `libgenlab_native-${key}.so`);
  if (exists(file)) return file;
  const tmp = `${file}.${Deno.pid}.tmp`;
  const args = [
    ...flags,
    "-o",
    tmp,
    ...SOURCE_URLS.map((url) => fileURLToPath(url)),
    ...libraries,
  ];
  let output: Deno.CommandOutput;
  try {
    output = new Deno.Command(compiler, { args, stdout: "piped", stderr: "piped" }).outputSync();
  } catch (e) {
    throw new NativeUnavailableError(
      `cannot run the C compiler '${compiler}' (${(e as Error).message.split("\n")[0]}): ` +
        "install gcc (apt-get install gcc) or use --backend wasm",
    );
  }
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(0, 3);
    throw new NativeUnavailableError(
      `compiling lib/backend/native/*.c failed: ${stderr.join(" | ")}`,
    );
  }
  Deno.renameSync(tmp, file);
  return file;
}

let loaded: NativeLoad | null = null;

/**
 * The OpenBLAS core type to force on a CPU with AVX-512 that OpenBLAS does not recognise, or null.
 * OpenBLAS' DYNAMIC_ARCH picks kernels by CPU model, and Debian's 0.3.21 predates AMD Zen 4/5: it
 * runs them with its Haswell (AVX2) kernels although they execute AVX-512. Measured on a 2-core
 * AMD EPYC with AVX-512: SGEMM 1024³ 10.7 ms (Haswell) → 6.1 ms (SkylakeX), the same for PyTorch
 * on the same OpenBLAS. SkylakeX/Cooperlake kernels need only the instruction sets tested here,
 * so forcing them is safe on any CPU that has them. Set OPENBLAS_CORETYPE yourself to override.
 */
export function avx512CoreType(): string | null {
  let flags: string[];
  try {
    const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
    flags = cpuinfo.match(/^flags\s*:\s*(.*)$/m)?.[1]?.split(" ") ?? [];
  } catch {
    return null;
  }
  const has = (...names: string[]) => names.every((name) => flags.includes(name));
  if (!has("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl")) return null;
  return has("avx512_bf16") ? "Cooperlake" : "SkylakeX";
}

/** Build (if needed) and open the native library with `threads` BLAS/OpenMP threads. Throws
 * NativeUnavailableError with the fix when OpenBLAS, a compiler or FFI permission is missing. */
export function loadNativeLibrary(threads: number): NativeLoad {
  if (loaded !== null) {
    if (threads !== loaded.threads) {
      loaded.threads = loaded.symbols.gl_init(threads);
      loaded.description = describe(loaded.config, loaded.threads, loaded.openblas);
    }
    return loaded;
  }
  const openblas = findOpenBlas();
  if (openblas === null) {
    throw new NativeUnavailableError(
      "OpenBLAS was not found: install it with 'apt-get install libopenblas0-pthread' " +
        "(or set GENLAB_OPENBLAS to a libopenblas.so.0)",
    );
  }
  // OpenMP threads that spin-wait after im2col would steal the cores OpenBLAS needs next.
  if (Deno.env.get("OMP_WAIT_POLICY") === undefined) Deno.env.set("OMP_WAIT_POLICY", "PASSIVE");
  // OpenBLAS' idle workers spin (sched_yield) for 2^28 cycles, ≈0.1 s, after every GEMM, taking a
  // core from the OpenMP threads of the next convolution: on 2 cores a U-Net step swung between
  // 90 and 160 ms with 30 % system time. 2^4 cycles: they sleep at once (denoising pass ≈93 ms,
  // steady; training step 434 → 330 ms; a 1024³ GEMM unchanged at 7.6 ms).
  if (Deno.env.get("OPENBLAS_THREAD_TIMEOUT") === undefined) {
    Deno.env.set("OPENBLAS_THREAD_TIMEOUT", "4");
  }
  // Must be set before OpenBLAS is loaded: it picks its kernels once, in its constructor.
  const coreType = avx512CoreType();
  if (Deno.env.get("OPENBLAS_CORETYPE") === undefined && coreType !== null) {
    Deno.env.set("OPENBLAS_CORETYPE", coreType);
  }
  const file = buildNativeLibrary(openblas);
  let library: Deno.DynamicLibrary<typeof NATIVE_SYMBOLS>;
  try {
    library = Deno.dlopen(file, NATIVE_SYMBOLS);
  } catch (e) {
    const message = (e as Error).message.split("\n")[0];
    throw new NativeUnavailableError(
      e instanceof Deno.errors.NotCapable || /ffi/i.test(message)
        ? `native kernels need FFI permission: run deno with -A or --allow-ffi (${message})`
        : `cannot open ${file}: ${message}`,
    );
  }
  const symbols = library.symbols;
  const got = symbols.gl_init(threads);
  const cString = (pointer: Deno.PointerValue) =>
    pointer === null ? "" : new Deno.UnsafePointerView(pointer).getCString();
  const dnnl = symbols.gl_set_conv_engine(1) === 1;
  const config = cString(symbols.gl_blas_config()) +
    (dnnl ? `; convolutions: ${cString(symbols.gl_dnnl_version())}` : "; convolutions: im2col");
  loaded = {
    symbols,
    openblas,
    config,
    threads: got,
    description: describe(config, got, openblas),
  };
  return loaded;
}

function describe(config: string, threads: number, openblas: string): string {
  return `${config.trim()}, ${threads} thread${threads === 1 ? "" : "s"}, via ${openblas}`;
}
