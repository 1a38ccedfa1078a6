/**
 * The one run-directory convention, used by every model:
 *
 *   runs/<model>-<dataset>-<YYYYMMDD-HHMMSS>/
 *     config.json        full resolved config, seed, backend, versions, git commit, command
 *     metrics.jsonl      one JSON row per logged step: { step, <losses…>, time }
 *     samples/step-XXXXXX.png   sample grids (fixed noise, so grids are comparable over time)
 *     charts/losses.svg + .png  vega-lite loss curves
 *     checkpoints/step-XXXXXXXX.ckpt   model + optimizer + step + RNG state (atomic)
 *     summary.json       written at the end: steps, wall time, final losses, artifact paths
 *     train.lock         while a trainer runs: its pid, host, start time (lib/train/lock.ts)
 */
import { UserInputError } from "../util/errors.ts";
import { checkSpec, type TrainSpec } from "./spec.ts";
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from "../util/files.ts";

export interface RunPaths {
  root: string;
  config: string;
  metrics: string;
  samples: string;
  charts: string;
  checkpoints: string;
  summary: string;
}

export function runPaths(root: string): RunPaths {
  return {
    root,
    config: `${root}/config.json`,
    metrics: `${root}/metrics.jsonl`,
    samples: `${root}/samples`,
    charts: `${root}/charts`,
    checkpoints: `${root}/checkpoints`,
    summary: `${root}/summary.json`,
  };
}

export function timestamp(date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-` +
    `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

export function defaultRunDir(model: string, dataset: string): string {
  return `runs/${model}-${dataset}-${timestamp()}`;
}

export async function createRunDir(root: string): Promise<RunPaths> {
  const paths = runPaths(root);
  if (await exists(paths.config)) {
    throw new UserInputError(
      `${root} already holds a run: pass --resume ${root} to continue it, or choose another --out`,
    );
  }
  for (const dir of [paths.root, paths.samples, paths.charts, paths.checkpoints]) {
    await Deno.mkdir(dir, { recursive: true });
  }
  return paths;
}

export async function openRunDir(root: string): Promise<RunPaths> {
  const paths = runPaths(root.replace(/\/+$/, ""));
  if (!(await exists(paths.config))) {
    throw new UserInputError(
      `${root} is not a run directory (no config.json): check the path, e.g. ls runs/`,
    );
  }
  return paths;
}

/** config.json, parsed and validated (spec + the model's own config schema); a damaged file
 * gives a one-line UserInputError naming it. */
export async function readRunConfig(
  paths: RunPaths,
): Promise<{ config: Record<string, unknown>; spec: TrainSpec }> {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await Deno.readTextFile(paths.config));
  } catch (error) {
    const why = error instanceof SyntaxError ? "not valid JSON" : (error as Error).message;
    throw new UserInputError(
      `${paths.config} is damaged (${why}): restore it, or start a new run with --out`,
    );
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new UserInputError(
      `${paths.config} is damaged (not a JSON object): restore it, or start a new run with --out`,
    );
  }
  return { config, spec: checkSpec(config.spec, paths.config) };
}

export type MetricsRow = Record<string, number>;

export interface MetricsCheck {
  /** The trustworthy rows: steps 1, 2, …, k in order. */
  rows: MetricsRow[];
  /** What is wrong after them (a bad line, a gap, a duplicate), or null. */
  problem: string | null;
  /** The last line was cut short with nothing after it — what a kill -9 mid-write leaves; it is
   * dropped on resume and not counted as damage. */
  partialLastLine: boolean;
}

/** Read metrics.jsonl strictly: every line one JSON object, steps 1, 2, 3, … without gap. */
export async function checkMetrics(path: string): Promise<MetricsCheck> {
  if (!(await exists(path))) return { rows: [], problem: null, partialLastLine: false };
  const text = await Deno.readTextFile(path);
  const lines = text.split("\n");
  const endsWithNewline = text.endsWith("\n");
  if (endsWithNewline) lines.pop();
  const rows: MetricsRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    let row: MetricsRow | null = null;
    try {
      row = JSON.parse(lines[i]);
    } catch {
      // handled below
    }
    const last = i === lines.length - 1;
    if (!row || typeof row !== "object" || typeof row.step !== "number") {
      if (last && !endsWithNewline) return { rows, problem: null, partialLastLine: true };
      return {
        rows,
        problem: `line ${i + 1} is ${row ? "not a metrics row" : "not valid JSON"}`,
        partialLastLine: false,
      };
    }
    if (row.step !== rows.length + 1) {
      const kind = row.step <= rows.length ? "a duplicate" : "a gap";
      return {
        rows,
        problem: `line ${i + 1} has step ${row.step} after step ${rows.length} (${kind})`,
        partialLastLine: false,
      };
    }
    rows.push(row);
  }
  return { rows, problem: null, partialLastLine: false };
}

export async function readMetrics(path: string): Promise<MetricsRow[]> {
  if (!(await exists(path))) return [];
  const text = await Deno.readTextFile(path);
  const rows: MetricsRow[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line));
    } catch {
      // A line cut short by a kill -9 mid-write: everything after it is untrusted.
      break;
    }
  }
  return rows;
}

/** Keep only rows with step ≤ lastStep (used on resume so no step is logged twice). */
export async function truncateMetrics(path: string, lastStep: number): Promise<MetricsRow[]> {
  const rows = (await checkMetrics(path)).rows.filter((r) => r.step <= lastStep);
  await writeFileAtomic(path, rows.map((r) => JSON.stringify(r) + "\n").join(""));
  return rows;
}

export class MetricsWriter {
  #file: Deno.FsFile;
  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }
  static async open(path: string): Promise<MetricsWriter> {
    return new MetricsWriter(await Deno.open(path, { append: true, create: true }));
  }
  /** One complete line per write call, so a kill leaves at most one partial final line. */
  append(row: MetricsRow): void {
    this.#file.writeSync(new TextEncoder().encode(JSON.stringify(row) + "\n"));
  }
  close(): void {
    this.#file.close();
  }
}

export { readJson, writeJsonAtomic };
