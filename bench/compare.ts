/**
 * `deno task bench:compare`: the side-by-side speed report of issue 3. In one sequence on this
 * machine it times (a) GEMM 1024³, (b) a DCGAN D+G step, (c) a DDPM U-Net training step and
 * (d) a U-Net denoising pass (bench/workloads.ts) on every genlab backend — cpu, wasm with 1 and
 * 2 threads, native, and webgpu when a real GPU adapter exists — and the same models in PyTorch
 * (bench/anchors/*.py, Debian python3-torch, 2 threads, with OpenBLAS and with the reference
 * BLAS). Every cell runs in a fresh process; it prints medians, GFLOP/s, the genlab / PyTorch
 * ratio and GEMM as a fraction of the machine's measured FP32 peak, and with --write saves
 * results/speed.md with date, machine, versions and command.
 */
import { Command } from "commander";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { avx512CoreType, loadNativeLibrary } from "../lib/backend/native/library.ts";
import { probeWebgpu } from "../lib/backend/webgpu.ts";
import { gitCommit, writeFileAtomic } from "../lib/util/files.ts";
import { isWorkload, type Workload, WORKLOAD_TITLES, WORKLOADS } from "./workloads.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread";
const ANCHOR_SCRIPTS: Record<Workload, string> = {
  gemm: "gemm.py",
  dcgan: "dcgan_step.py",
  "unet-train": "unet_train_step.py",
  "unet-denoise": "unet_denoise.py",
};

interface Config {
  id: string;
  label: string;
  kind: "genlab" | "torch";
  backend?: string;
  threads: number;
  /** PyTorch: run with OpenBLAS on the library path (else Debian's reference BLAS). */
  openblas?: boolean;
  /** Extra environment for the process. */
  env?: Record<string, string>;
}

/**
 * glibc settings that keep freed memory in the process (as jemalloc/tcmalloc do, which PyTorch's
 * performance guide recommends). Stock glibc hands PyTorch's large activation buffers back to the
 * kernel after every op and page-faults them in again; on this VM that made a no_grad U-Net pass
 * ≈2-3× slower (≈340 ms vs ≈105 ms). genlab's tensors live in the wasm heap, which never shrinks.
 */
const KEEP_MALLOC = {
  MALLOC_MMAP_THRESHOLD_: "4000000000",
  MALLOC_TRIM_THRESHOLD_: "4000000000",
  MALLOC_TOP_PAD_: "100000000",
};

const ALL_CONFIGS: Config[] = [
  { id: "cpu", label: "tfjs cpu", kind: "genlab", backend: "cpu", threads: 1 },
  { id: "wasm1", label: "wasm 1 thr", kind: "genlab", backend: "wasm", threads: 1 },
  { id: "wasm2", label: "wasm 2 thr", kind: "genlab", backend: "wasm", threads: 2 },
  { id: "native", label: "**native**", kind: "genlab", backend: "native", threads: 2 },
  { id: "webgpu", label: "webgpu", kind: "genlab", backend: "webgpu", threads: 2 },
  { id: "torch-ref", label: "PyTorch ref BLAS", kind: "torch", threads: 2, openblas: false },
  { id: "torch", label: "PyTorch + OpenBLAS", kind: "torch", threads: 2, openblas: true },
  {
    id: "torch-malloc",
    label: "PyTorch + OpenBLAS, memory kept",
    kind: "torch",
    threads: 2,
    openblas: true,
    env: KEEP_MALLOC,
  },
];

interface Cell {
  median_ms: number;
  all_ms: number[];
  counted_flops?: number;
  description?: string;
  torch?: string;
  blas?: string;
  error?: string;
  /** Set when the cell was stopped after this many seconds (warm-up + timed steps). */
  timeout_s?: number;
}

const program = new Command("bench:compare")
  .description("side-by-side speed report: genlab backends vs PyTorch on the same machine")
  .option("--works <list>", `comma-separated, of ${WORKLOADS.join(", ")}`, WORKLOADS.join(","))
  .option(
    "--configs <list>",
    `comma-separated, of ${ALL_CONFIGS.map((c) => c.id).join(", ")} ` +
      "(default: all; webgpu only with a real GPU adapter)",
  )
  .option("--repeats <n>", "timed steps per cell (median reported)", "5")
  .option("--warmup <n>", "untimed steps first", "2")
  .option("--cpu-repeats <n>", "timed steps for tfjs cpu (it is 100× slower)", "1")
  .option("--cpu-timeout <s>", "stop a tfjs cpu cell after this many seconds", "300")
  .option("--quick", "repeats 2, warm-up 1, no tfjs cpu: a smoke run")
  .option("--write <file>", "also write the report as markdown (e.g. results/speed.md)")
  .option(
    "--merge",
    "with --write: keep the cells of the existing report's .json that this run did not measure " +
      "(marked † with their commit), so a run of some rows or configs updates the full table",
  )
  .parse(["deno", "bench:compare", ...Deno.args]);
const opts = program.opts();

function fail(message: string): never {
  console.error(`bench:compare: ${message}`);
  Deno.exit(2);
}

const works = String(opts.works).split(",").map((w) => w.trim());
for (const w of works) if (!isWorkload(w)) fail(`unknown workload '${w}': use ${WORKLOADS}`);
const webgpu = await probeWebgpu();
let configs = ALL_CONFIGS.filter((c) => c.id !== "webgpu" || (webgpu.ok && !webgpu.isFallback));
if (opts.configs) {
  const ids = String(opts.configs).split(",").map((c) => c.trim());
  for (const id of ids) {
    if (!ALL_CONFIGS.some((c) => c.id === id)) fail(`unknown config '${id}'`);
  }
  configs = ALL_CONFIGS.filter((c) => ids.includes(c.id));
}
if (opts.quick) configs = configs.filter((c) => c.id !== "cpu");
const repeats = opts.quick ? 2 : Number(opts.repeats);
const warmup = opts.quick ? 1 : Number(opts.warmup);
const python = "/usr/bin/python3";
const coreTypeFromEnv = Deno.env.get("OPENBLAS_CORETYPE");
const openblasCoreType = coreTypeFromEnv ?? avx512CoreType();

async function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  timeoutSeconds = Infinity,
): Promise<Cell> {
  const child = new Deno.Command(cmd, {
    args,
    env,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = Number.isFinite(timeoutSeconds)
    ? setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutSeconds * 1000)
    : undefined;
  const out = await child.output();
  clearTimeout(timer);
  if (timedOut) {
    return { median_ms: NaN, all_ms: [], error: `timeout`, timeout_s: timeoutSeconds };
  }
  const stdout = new TextDecoder().decode(out.stdout).trim().split("\n");
  const last = stdout[stdout.length - 1] ?? "";
  if (!out.success || !last.startsWith("{")) {
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n");
    return {
      median_ms: NaN,
      all_ms: [],
      error: stderr.slice(-2).join(" | ") || `exit ${out.code}`,
    };
  }
  return JSON.parse(last) as Cell;
}

function runCell(config: Config, work: Workload): Promise<Cell> {
  const cellRepeats = config.id === "cpu" ? Number(opts.cpuRepeats) : repeats;
  // tfjs cpu: no warm-up (it has no kernels to prepare; a step can take minutes), and a timeout.
  const cellWarmup = config.id === "cpu" ? 0 : warmup;
  const timeout = config.id === "cpu" ? Number(opts.cpuTimeout) : Infinity;
  // The flags the genlab worker and the PyTorch anchors share.
  const timing = [
    ...["--threads", String(config.threads)],
    ...["--warmup", String(cellWarmup), "--repeats", String(cellRepeats)],
  ];
  if (config.kind === "genlab") {
    return run(
      Deno.execPath(),
      [
        "run",
        "-A",
        "bench/compare_worker.ts",
        "--work",
        work,
        "--backend",
        config.backend!,
        ...timing,
      ],
      { GENLAB_WASM_THREADS: String(config.threads) },
      timeout,
    );
  }
  // --blas makes the anchor re-execute itself with LD_LIBRARY_PATH on that BLAS: Debian's
  // libblas.so.3 alternative is OpenBLAS here, so "reference" must be asked for explicitly.
  // PyTorch gets the OpenBLAS core type genlab's native library uses, so both run the same
  // GEMM kernels (lib/backend/native/library.ts: avx512CoreType).
  const env: Record<string, string> = { OMP_NUM_THREADS: String(config.threads), ...config.env };
  if (openblasCoreType !== null) env.OPENBLAS_CORETYPE = openblasCoreType;
  return run(python, [
    path.join("bench", "anchors", ANCHOR_SCRIPTS[work]),
    "--json",
    "--blas",
    config.openblas ? "openblas" : "reference",
    ...timing,
  ], env);
}

// ── the machine ──
const started = performance.now();
/** 1-, 5-, 15-minute load averages: other processes on a shared machine show up here. */
const loadAverage = () => {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
};
const loadBefore = loadAverage();
const cpuModel = (() => {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    return info.match(/model name\s*:\s*(.*)/)?.[1]?.trim() ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
})();
const flags = (() => {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    const f = info.match(/flags\s*:\s*(.*)/)?.[1]?.split(" ") ?? [];
    return ["avx512f", "avx2", "fma"].filter((x) => f.includes(x)).join(", ");
  } catch {
    return "";
  }
})();
let peak = NaN;
let blasConfig = "native library unavailable";
try {
  const native = loadNativeLibrary(2);
  blasConfig = native.config;
  peak = Math.max(...[0, 1, 2].map(() => native.symbols.gl_peak_gflops(2, 30_000_000)));
} catch (e) {
  console.error(`bench:compare: no FP32 peak measurement (${(e as Error).message})`);
}
console.error(
  `machine: ${cpuModel} (${navigator.hardwareConcurrency} cores; ${flags}); ` +
    `measured FP32 peak ${peak.toFixed(0)} GFLOP/s on 2 threads`,
);
console.error(
  `webgpu: ${webgpu.ok ? webgpu.description : webgpu.reason}` +
    (webgpu.ok && webgpu.isFallback ? " — software adapter, left out of the timing" : ""),
);

// ── the sequence ──
const results: Record<string, Record<string, Cell>> = {};
for (const work of works as Workload[]) {
  results[work] = {};
  for (const config of configs) {
    const t0 = performance.now();
    const cell = await runCell(config, work);
    results[work][config.id] = cell;
    const took = ((performance.now() - t0) / 1000).toFixed(0);
    console.error(
      `${work.padEnd(13)} ${config.id.padEnd(10)} ` +
        (cell.error ? `failed: ${cell.error}` : `${cell.median_ms.toFixed(1)} ms`) + ` (${took} s)`,
    );
  }
}

// ── cells carried over from the previous report (--merge) ──
interface Carried extends Cell {
  carried?: { commit: string; date: string };
}
let carriedFrom: { commit: string; date: string } | null = null;
let tableWorks = works as Workload[];
let tableConfigs = configs;
if (opts.merge && opts.write) {
  const raw = path.resolve(ROOT, String(opts.write)).replace(/\.md$/, "") + ".json";
  try {
    const previous = JSON.parse(Deno.readTextFileSync(raw));
    carriedFrom = { commit: String(previous.commit).slice(0, 12), date: previous.date };
    for (const [work, cells] of Object.entries(previous.results as typeof results)) {
      results[work] ??= {};
      for (const [id, cell] of Object.entries(cells)) {
        const old = cell as Carried;
        if (results[work][id] === undefined) {
          results[work][id] = { ...old, carried: old.carried ?? carriedFrom } as Carried;
        }
      }
    }
    tableWorks = WORKLOADS.filter((w) => results[w] !== undefined);
    tableConfigs = ALL_CONFIGS.filter((c) => tableWorks.some((w) => results[w][c.id]));
  } catch (e) {
    fail(`--merge: cannot read ${raw} (${(e as Error).message})`);
  }
}

// ── the report ──
/** FLOPs per step: GEMM by definition, models as counted by the native kernels. */
function flopsOf(work: Workload): number {
  if (work === "gemm") return 2 * 1024 ** 3;
  return results[work].native?.counted_flops ?? NaN;
}
const fmt = (cell: Cell | undefined, flops: number) => {
  if (cell === undefined) return "–";
  const mark = (cell as Carried).carried ? " †" : "";
  if (cell.timeout_s !== undefined) return `> ${cell.timeout_s} s (stopped)${mark}`;
  if (cell.error) return "failed";
  const ms = cell.median_ms;
  const text = ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
  return (Number.isFinite(flops) ? `${text} (${(flops / ms / 1e6).toFixed(0)})` : text) + mark;
};
const ratio = (a?: Cell, b?: Cell) =>
  a && b && !a.error && !b.error ? `${(a.median_ms / b.median_ms).toFixed(2)}×` : "–";
const best = (cells: (Cell | undefined)[]) =>
  cells.filter((c): c is Cell => c !== undefined && !c.error)
    .sort((a, b) => a.median_ms - b.median_ms)[0];

const lines: string[] = [];
lines.push(
  `| work | ${tableConfigs.map((c) => c.label).join(" | ")} | native / PyTorch+OpenBLAS | ` +
    "native / fastest PyTorch | best wasm / PyTorch+OpenBLAS |",
);
lines.push(`|---|${tableConfigs.map(() => "---:").join("|")}|---:|---:|---:|`);
for (const work of tableWorks) {
  const row = results[work];
  const flops = flopsOf(work);
  lines.push(
    `| ${WORKLOAD_TITLES[work]} | ${
      tableConfigs.map((c) => fmt(row[c.id], flops)).join(" | ")
    } | ` +
      `${ratio(row.native, row.torch)} | ` +
      `${ratio(row.native, best([row.torch, row["torch-malloc"], row["torch-ref"]]))} | ` +
      `${ratio(best([row.wasm1, row.wasm2]), row.torch)} |`,
  );
}
const gemmNative = results.gemm?.native;
const gemmTorch = results.gemm?.torch;
const pct = (cell?: Cell) =>
  cell && !cell.error && Number.isFinite(peak)
    ? `${((2 * 1024 ** 3 / cell.median_ms / 1e6) / peak * 100).toFixed(0)} %`
    : "–";
const torchInfo = Object.values(results).flatMap((r) => r.torch ? [r.torch] : [])[0];
const wall = (performance.now() - started) / 1000;
const commit = gitCommit();
const command = `deno task bench:compare ${Deno.args.join(" ")}`.trim();
const report = [
  "# Speed: genlab backends side by side with PyTorch",
  "",
  `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC by \`${command}\` ` +
  `at commit ${commit.slice(0, 12)} (${(wall / 60).toFixed(1)} min in all).`,
  "",
  `- Machine: ${cpuModel}, ${navigator.hardwareConcurrency} cores (${flags}), no GPU. ` +
  `Measured FP32 peak (FMA loop, 2 threads): **${peak.toFixed(0)} GFLOP/s**.`,
  `- genlab: Deno ${Deno.version.deno}, tfjs 4.22.0; native = ${blasConfig.trim()}.`,
  `- PyTorch: ${torchInfo?.torch ?? "?"} (Debian python3-torch), 2 threads; "+ OpenBLAS" runs ` +
  `with LD_LIBRARY_PATH=${OPENBLAS_DIR} (${results.gemm?.torch?.blas ?? "?"}), "ref BLAS" with ` +
  `Debian's reference BLAS (${results.gemm?.["torch-ref"]?.blas ?? "?"}); convolutions go ` +
  'through PyTorch\'s bundled oneDNN either way. "memory kept" is the same with glibc told to ' +
  `keep freed memory (${Object.entries(KEEP_MALLOC).map(([k, v]) => `${k}=${v}`).join(" ")}), ` +
  "as PyTorch's tuning guide gets with jemalloc/tcmalloc: stock glibc returns big activation " +
  "buffers to the kernel after each op and page-faults them back, which is slow on this VM." +
  (openblasCoreType === null ? "" : ` OPENBLAS_CORETYPE=${openblasCoreType} for genlab and ` +
    `PyTorch alike (${
      coreTypeFromEnv !== undefined
        ? "set in the environment"
        : "genlab's choice: OpenBLAS 0.3.21 does not recognise this CPU's AVX-512"
    }).`),
  `- webgpu: ${webgpu.ok ? webgpu.description : webgpu.reason}` +
  (webgpu.ok && webgpu.isFallback
    ? " — a software adapter, so it is tested for correctness, not timed here."
    : "."),
  `- Method: each cell is a fresh process; median of ${repeats} steps after ${warmup} warm-up ` +
  `(tfjs cpu: ${opts.cpuRepeats}, no warm-up, stopped after ${opts.cpuTimeout} s). Cells ran ` +
  "one after another in the order of the table; every step's time is in the .json next to this " +
  "file (this VM is noisy: steps of one cell often vary by ±20 %). Load average (1/5/15 min) " +
  `${loadBefore} before the run, ${loadAverage()} after it.`,
  "",
  "Milliseconds per step (GFLOP/s in brackets; model FLOPs are the conv/matmul FLOPs counted by " +
  "the native kernels in one step).",
  "",
  ...lines,
  ...(carriedFrom === null ? [] : [
    "",
    `† carried over unchanged from the earlier report (--merge): measured at commit ` +
    `${carriedFrom.commit}, ${carriedFrom.date.slice(0, 16).replace("T", " ")} UTC (or as ` +
    "noted in the .json); the other cells are this run's.",
  ]),
  "",
  (gemmNative as Carried | undefined)?.carried || (gemmTorch as Carried | undefined)?.carried
    ? "GEMM 1024³ against the measured peak: not recomputed (the GEMM cells are carried over, " +
      "this run's peak is not theirs)."
    : `GEMM 1024³ against the measured peak: native ${pct(gemmNative)}, PyTorch + OpenBLAS ` +
      `${pct(gemmTorch)}. (The peak is an FMA loop with no memory traffic; it varies by a few % ` +
      "between runs.)",
  "",
];
const text = report.join("\n");
console.log(text);
if (opts.write) {
  const file = path.resolve(ROOT, String(opts.write));
  await writeFileAtomic(file, text);
  // Every timed step of every cell, for anyone who wants more than the medians.
  const raw = file.replace(/\.md$/, "") + ".json";
  await writeFileAtomic(
    raw,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        command,
        commit,
        machine: { cpu: cpuModel, cores: navigator.hardwareConcurrency, flags, peakGflops: peak },
        openblasCoreType,
        repeats,
        warmup,
        results,
      },
      null,
      1,
    ) + "\n",
  );
  console.error(`bench:compare: wrote ${opts.write} and ${path.relative(ROOT, raw)}`);
}
