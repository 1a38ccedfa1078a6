/**
 * Pool DDPM-vs-DDIM studies of one model taken at different sampling seeds: per cell, the
 * FID at every seed, its mean and its spread across seeds; the issue-9 comparisons on the
 * means, over the seeds both cells share. One seed's FID at n = 1,024 moves by more than a
 * 15 % margin on some samplers; this is the table that says whether a gap is real.
 *
 *   deno task exp:pool_seeds --out results/x/pooled results/x results/x/seed101 results/x/seed201
 *
 * Each argument is a study directory (its results.json, written by exp:ddpm_vs_ddim). They
 * must share model, dataset, n, batch and backend, and their seeds must not share noise
 * batches (batch b of a study uses seed + b, so seeds must be ≥ n/batch apart).
 */
import { Command } from "commander";
import type { CellResult } from "./ddpm_vs_ddim.ts";
import { writeFileAtomic, writeJsonAtomic } from "../lib/util/files.ts";
import { UserInputError } from "../lib/util/errors.ts";
import { runScript } from "../lib/cli/common.ts";
import { mean, std } from "../lib/sampling/stats.ts";
import { TIMESTEP_SPACINGS } from "../lib/models/diffusion/spacing.ts";

export interface StudyRecord {
  model: string;
  dataset: string;
  n: number;
  seed: number;
  batch: number;
  backend: string;
  commit: string;
  cells: CellResult[];
}

export interface PooledCell {
  cell: string;
  seeds: number[];
  fids: number[];
  mean_fid: number;
  /** Sample sd across seeds (n − 1); null with one seed. */
  sd_across_seeds: number | null;
  mean_sample_seconds: number;
}

export interface Comparison {
  name: string;
  cell: string;
  baseline: string;
  /** The seeds at which both cells were measured. */
  seeds: number[];
  per_seed_gaps: number[];
  /** mean FID(cell) / mean FID(baseline) − 1 over the shared seeds. */
  pooled_gap: number;
  /** Standard error of pooled_gap from the across-seed sds (delta method, the two cells' means
   * taken as independent): (ā/b̄)·√((s_a/ā)² + (s_b/b̄)²)/√k; null with one seed. */
  pooled_gap_se: number | null;
  target: number;
  met: boolean;
  /** Sampling-time ratio baseline / cell per seed (each seed's cells ran on one machine). */
  per_seed_speedups: number[];
  speedup: number;
}

/** Sample sd (n − 1), or null for a single value. */
const sd = (v: number[]) => v.length < 2 ? null : std(v);

/** Seeds closer than n/batch share start-noise batches (batch b of a study uses seed + b). */
export function checkSeedSpacing(seeds: number[], n: number, batch: number): void {
  const batches = Math.ceil(n / batch);
  const sorted = [...seeds].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] - sorted[i - 1] < batches) {
      throw new UserInputError(
        `seeds ${sorted[i - 1]} and ${
          sorted[i]
        } share start-noise batches (batch b uses seed + b, ` +
          `${batches} batches): use seeds at least ${batches} apart`,
      );
    }
  }
}

/** Check the studies belong together; one-line errors name what differs. */
export function checkStudies(studies: StudyRecord[]): void {
  if (studies.length < 2) throw new UserInputError("pool at least two studies (one per seed)");
  const first = studies[0];
  for (const s of studies.slice(1)) {
    for (const key of ["model", "dataset", "n", "batch", "backend"] as const) {
      if (String(s[key]) !== String(first[key])) {
        throw new UserInputError(
          `studies differ in ${key} ("${first[key]}" vs "${s[key]}"): pool one model at one n`,
        );
      }
    }
  }
  checkSeedSpacing(studies.map((s) => s.seed), first.n, first.batch);
}

export function poolCells(studies: StudyRecord[]): PooledCell[] {
  const names = [...new Set(studies.flatMap((s) => s.cells.map((c) => c.cell)))];
  return names.map((cell) => {
    const rows = studies.flatMap((s) =>
      s.cells.filter((c) => c.cell === cell).map((c) => ({ seed: s.seed, row: c }))
    ).sort((a, b) => a.seed - b.seed);
    const fids = rows.map((r) => r.row.classifier_fid);
    return {
      cell,
      seeds: rows.map((r) => r.seed),
      fids,
      mean_fid: mean(fids),
      sd_across_seeds: sd(fids),
      mean_sample_seconds: mean(rows.map((r) => r.row.sample_seconds)),
    };
  });
}

/** Issue 9's comparisons on FID means over the seeds both cells were measured at. DDIM-50 η = 0
 * is compared with DDPM-1000 at the sampler's default spacing and at every explicit spacing the
 * studies hold (a zero-terminal-SNR model is meant to be sampled with "trailing"). */
export function compare(studies: StudyRecord[]): Comparison[] {
  const spacings = TIMESTEP_SPACINGS.filter((spacing) =>
    studies.some((s) => s.cells.some((c) => c.cell === `ddim-50-eta0-${spacing}`))
  );
  const pairs = [
    {
      name: "DDIM-50 (η = 0) vs DDPM-1000",
      cell: "ddim-50-eta0",
      baseline: "ddpm-1000",
      target: 0.15,
    },
    ...spacings.map((spacing) => ({
      name: `DDIM-50 (η = 0, ${spacing} spacing) vs DDPM-1000`,
      cell: `ddim-50-eta0-${spacing}`,
      baseline: "ddpm-1000",
      target: 0.15,
    })),
    {
      name: "DPM-Solver++(2M)-20 vs DDIM-50",
      cell: "dpmpp-2m-20",
      baseline: "ddim-50-eta0",
      target: 0.1,
    },
  ];
  const out: Comparison[] = [];
  for (const p of pairs) {
    const shared = studies.flatMap((s) => {
      const a = s.cells.find((c) => c.cell === p.cell);
      const b = s.cells.find((c) => c.cell === p.baseline);
      return a && b ? [{ seed: s.seed, a, b }] : [];
    }).sort((x, y) => x.seed - y.seed);
    if (shared.length === 0) continue;
    const a = shared.map((s) => s.a.classifier_fid), b = shared.map((s) => s.b.classifier_fid);
    const gap = mean(a) / mean(b) - 1;
    const sdA = sd(a), sdB = sd(b);
    const se = sdA === null || sdB === null ? null : (gap + 1) *
      Math.hypot(sdA / mean(a), sdB / mean(b)) / Math.sqrt(shared.length);
    out.push({
      ...p,
      seeds: shared.map((s) => s.seed),
      per_seed_gaps: shared.map((s) => s.a.classifier_fid / s.b.classifier_fid - 1),
      pooled_gap: gap,
      pooled_gap_se: se,
      met: gap <= p.target,
      per_seed_speedups: shared.map((s) => s.b.sample_seconds / s.a.sample_seconds),
      speedup: mean(shared.map((s) => s.b.sample_seconds)) /
        mean(shared.map((s) => s.a.sample_seconds)),
    });
  }
  return out;
}

const pct = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)} %`;

export function pooledMarkdown(
  studies: StudyRecord[],
  cells: PooledCell[],
  comparisons: Comparison[],
  command: string,
): string {
  const s0 = studies[0];
  const lines = [
    "# DDPM-vs-DDIM studies pooled over sampling seeds",
    "",
    `- command: \`${command}\``,
    `- model: ${s0.model}; dataset: ${s0.dataset}; n = ${s0.n} per cell and seed, sampling batch ${s0.batch}; backend ${s0.backend}`,
    `- studies: ${
      studies.map((s) => `seed ${s.seed} (commit ${s.commit})`).join(", ")
    } — each cell's FID per seed as its study recorded it; mean and sample sd across seeds`,
    "",
    "| cell | seeds | FID per seed | mean FID | sd across seeds | mean sampling time (s) |",
    "|---|---|---|---:|---:|---:|",
    ...cells.map((c) =>
      `| ${c.cell} | ${c.seeds.join(", ")} | ${c.fids.map((f) => f.toFixed(2)).join(" / ")} | ` +
      `${c.mean_fid.toFixed(2)} | ${
        c.sd_across_seeds === null ? "–" : c.sd_across_seeds.toFixed(2)
      } | ` +
      `${c.mean_sample_seconds.toFixed(1)} |`
    ),
    "",
  ];
  if (comparisons.length > 0) {
    lines.push("Issue 9's comparisons on the mean FIDs over the seeds both cells share:", "");
    for (const c of comparisons) {
      lines.push(
        `- ${c.name}: seeds ${c.seeds.join(", ")}; per seed ${
          c.per_seed_gaps.map(pct).join(" / ")
        }; ` +
          `pooled **${pct(c.pooled_gap)}**${
            c.pooled_gap_se === null
              ? ""
              : ` ± ${(100 * c.pooled_gap_se).toFixed(1)} % (standard error)`
          } (target within ${100 * c.target} %: ` +
          `${c.met ? "met" : "missed"}); ${
            c.per_seed_speedups.map((x) => x.toFixed(1)).join(" / ")
          }× faster per seed (${c.speedup.toFixed(1)}× in mean sampling time)`,
      );
    }
    lines.push("");
  }
  return lines.join("\n");
}

async function main(args: string[]): Promise<void> {
  const program = new Command("exp:pool_seeds")
    .description("pool exp:ddpm_vs_ddim studies of one model taken at different sampling seeds")
    .argument("<study-dirs...>", "study directories, each with a results.json")
    .requiredOption("--out <dir>", "where to write pooled.json and README.md")
    .exitOverride();
  program.parse(args, { from: "user" });
  const dirs = program.args;
  const { out } = program.opts<{ out: string }>();
  const studies: StudyRecord[] = [];
  for (const dir of dirs) {
    try {
      studies.push(JSON.parse(await Deno.readTextFile(`${dir}/results.json`)));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new UserInputError(
          `${dir}/results.json not found: pass study directories of exp:ddpm_vs_ddim`,
        );
      }
      throw e;
    }
  }
  checkStudies(studies);
  studies.sort((a, b) => a.seed - b.seed);
  const cells = poolCells(studies);
  const comparisons = compare(studies);
  const command = `deno task exp:pool_seeds ${args.join(" ")}`;
  await Deno.mkdir(out, { recursive: true });
  await writeJsonAtomic(`${out}/pooled.json`, {
    command,
    studies: dirs,
    seeds: studies.map((s) => s.seed),
    cells,
    comparisons,
  });
  const markdown = pooledMarkdown(studies, cells, comparisons, command);
  await writeFileAtomic(`${out}/README.md`, markdown);
  console.log(markdown);
}

if (import.meta.main) await runScript(main);
