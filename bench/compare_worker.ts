/**
 * One cell of the speed report: time one workload (bench/workloads.ts) on one backend in a fresh
 * process and print one JSON line. Run by bench/compare.ts; by hand:
 *   deno run -A bench/compare_worker.ts --work unet-train --backend native --repeats 5
 */
import { Command } from "commander";
import { type BackendName, isBackendName, setupBackend } from "../lib/backend/mod.ts";
import { nativeCounters } from "../lib/backend/native/mod.ts";
import { isWorkload, prepare } from "./workloads.ts";

const opts = new Command("compare_worker")
  .requiredOption("--work <name>", "gemm | dcgan | unet-train | unet-denoise")
  .option("--backend <name>", "cpu | wasm | native | webgpu", "wasm")
  .option("--threads <n>", "wasm / BLAS threads", "2")
  .option("--warmup <n>", "untimed steps first", "2")
  .option("--repeats <n>", "timed steps", "5")
  .parse(["deno", "compare_worker", ...Deno.args])
  .opts();

if (!isWorkload(opts.work)) throw new Error(`unknown workload '${opts.work}'`);
if (!isBackendName(opts.backend)) throw new Error(`unknown backend '${opts.backend}'`);
const info = await setupBackend({
  backend: opts.backend as BackendName,
  threads: Number(opts.threads),
});
const work = prepare(opts.work);
for (let i = 0; i < Number(opts.warmup); i++) await work.step();
const flopsBefore = nativeCounters.flops;
const times: number[] = [];
for (let i = 0; i < Number(opts.repeats); i++) {
  const start = performance.now();
  await work.step();
  times.push(performance.now() - start);
}
work.dispose();
const sorted = [...times].sort((a, b) => a - b);
const median = sorted.length % 2
  ? sorted[(sorted.length - 1) / 2]
  : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
const counted = (nativeCounters.flops - flopsBefore) / times.length;
console.log(JSON.stringify({
  work: opts.work,
  backend: info.name,
  threads: info.threads,
  description: info.available[info.name] ?? info.reason,
  median_ms: median,
  all_ms: times,
  // GEMM/conv FLOPs per step as counted by the native kernels (0 elsewhere).
  counted_flops: counted,
}));
