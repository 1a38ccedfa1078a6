/**
 * The DDPM-vs-DDIM study: one trained `ddpm` model, many samplers, the same n and seeds for
 * every cell; wall time of sampling and classifier FID/KID/IS/precision/recall of the samples
 * against the test split (lib/metrics/evaluate.ts).
 *
 *   deno task exp:ddpm_vs_ddim --run runs/ddpm-fashion-mnist-… [--n 1024] [--cells ddpm-1000,ddim-50-eta0]
 *   deno task exp:ddpm_vs_ddim --quick --n 64       # trains a tiny model first (smoke test)
 *   deno task exp:ddpm_vs_ddim --run … --resume     # keep the cells <out>/results.json already has
 *
 * Cells: ddpm-<S> | ddim-<S>-eta<η> | dpmpp-2m-<S> | heun-<S> | euler-<S> (S = sampling steps;
 * Heun makes 2S − 1 network evaluations). Writes <out>/results.json (raw, rewritten after every
 * cell so a long run keeps what it measured), <out>/table.md, <out>/fid_vs_time.vl.json + .png
 * (vega-lite, FID against sampling wall time, log x) and a 8×8 grid per cell in <out>/grids/
 * (every cell's first batch starts from the same noise).
 */
import * as tf from "@tensorflow/tfjs";
import { Command } from "commander";
import { BACKEND_NAMES, type BackendName, setupBackend } from "../lib/backend/mod.ts";
import { loadRun, resolveSpec, train } from "../lib/train/trainer.ts";
import { evaluateSamples } from "../lib/metrics/evaluate.ts";
import { makeSchedule } from "../lib/models/diffusion/schedule.ts";
import { makeSampler, type SamplingMethod } from "../lib/models/diffusion/samplers.ts";
import { DPM_SPACINGS } from "../lib/models/diffusion/dpm_solver.ts";
import { TIMESTEP_SPACINGS } from "../lib/models/diffusion/spacing.ts";
import type { GenerativeModel } from "../lib/models/types.ts";
import { imageGridPng, renderChart, type VegaLiteSpec } from "../lib/viz/mod.ts";
import { gitCommit, writeFileAtomic, writeJsonAtomic } from "../lib/util/files.ts";
import { UserInputError } from "../lib/util/errors.ts";
import { positiveInt, runScript } from "../lib/cli/common.ts";

export const DEFAULT_CELLS = [
  "ddim-10-eta0",
  "ddim-20-eta0",
  "ddim-50-eta0",
  "ddim-100-eta0",
  "dpmpp-2m-10",
  "dpmpp-2m-20",
  "heun-10",
  "heun-20",
  "ddim-10-eta1",
  "ddim-20-eta1",
  "ddim-50-eta1",
  "ddim-100-eta1",
  "ddpm-1000",
  "ddim-1000-eta0",
  "ddim-1000-eta1",
];

/** "ddim-50-eta0" → { sampler: "ddim", steps: 50, eta: 0 }; a timestep spacing may follow
 * ("ddim-50-eta0-quadratic"; ddpm, ddim and dpmpp-2m; default the sampler's), then "-es<λ>" for
 * Epsilon Scaling ("ddim-50-eta0-es1.01" → epsilonScale 1.01). */
export function parseCell(cell: string): SamplingMethod {
  const m = cell.match(
    new RegExp(
      `^(ddpm|ddim|dpmpp-2m|heun|euler)-(\\d+)(?:-eta([0-9.]+))?` +
        `(?:-(${DPM_SPACINGS.join("|")}))?(?:-es([0-9]*\\.?[0-9]+))?$`,
    ),
  );
  const spacingOk = (sampler: string, spacing: string) =>
    spacing === "karras" ? sampler === "dpmpp-2m" : ["ddpm", "ddim", "dpmpp-2m"].includes(sampler);
  if (
    !m || (m[3] !== undefined && m[1] !== "ddim") ||
    (m[3] !== undefined && !(+m[3] >= 0 && +m[3] <= 1)) ||
    (m[4] !== undefined && !spacingOk(m[1], m[4])) || (m[5] !== undefined && !(+m[5] > 0))
  ) {
    throw new UserInputError(
      `bad cell "${cell}": use ddpm-<S>, ddim-<S>-eta<η> (0 ≤ η ≤ 1), dpmpp-2m-<S>, heun-<S> or euler-<S>, ` +
        `optionally followed by a spacing (${TIMESTEP_SPACINGS.join(", ")}; karras for dpmpp-2m) ` +
        `and -es<λ> (Epsilon Scaling, λ > 0)`,
    );
  }
  const method: SamplingMethod = {
    sampler: m[1] as SamplingMethod["sampler"],
    steps: Number(m[2]),
  };
  if (m[1] === "ddim") method.eta = Number(m[3] ?? 0);
  if (m[4] !== undefined) method.spacing = m[4] as SamplingMethod["spacing"];
  if (m[5] !== undefined) method.epsilonScale = Number(m[5]);
  return method;
}

export interface CellResult {
  cell: string;
  /** Commit and start time of the sitting that measured this cell (a study may span sittings). */
  commit?: string;
  measured_at?: string;
  sampler: string;
  steps: number;
  eta: number | null;
  nfe: number;
  n: number;
  sample_seconds: number;
  images_per_second: number;
  eval_seconds: number;
  classifier_fid: number;
  classifier_kid_mean: number;
  classifier_kid_std: number;
  classifier_is_mean: number | null;
  precision: number;
  recall: number;
}

const fmt = (v: number | null, digits: number) => v === null ? "–" : v.toFixed(digits);

export function markdownTable(rows: CellResult[]): string {
  const head =
    "| cell | NFE | sampling wall time (s) | images/s | classifier FID | KID ×10³ | IS | precision | recall |\n" +
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  return head +
    rows.map((r) =>
      `| ${r.cell} | ${r.nfe} | ${fmt(r.sample_seconds, 1)} | ${fmt(r.images_per_second, 2)} | ` +
      `${fmt(r.classifier_fid, 2)} | ${fmt(r.classifier_kid_mean * 1e3, 2)} ± ` +
      `${fmt(r.classifier_kid_std * 1e3, 2)} | ${fmt(r.classifier_is_mean, 2)} | ` +
      `${fmt(r.precision, 3)} | ${fmt(r.recall, 3)} |`
    ).join("\n") + "\n";
}

export function chartSpec(rows: CellResult[], title: string): VegaLiteSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title,
    width: 520,
    height: 300,
    data: {
      values: rows.map((r) => ({
        ...r,
        family: r.sampler === "ddim" ? `ddim η=${r.eta}` : r.sampler,
      })),
    },
    layer: [
      {
        mark: { type: "line", point: true, strokeWidth: 1.5 },
        encoding: {
          x: {
            field: "sample_seconds",
            type: "quantitative",
            scale: { type: "log" },
            title: `sampling wall time for n images (s, log scale)`,
          },
          y: {
            field: "classifier_fid",
            type: "quantitative",
            title: "classifier FID (lower is better)",
          },
          color: { field: "family", type: "nominal", title: "sampler" },
          order: { field: "nfe" },
        },
      },
      {
        mark: { type: "text", dx: 6, dy: -7, fontSize: 9, align: "left" },
        encoding: {
          x: { field: "sample_seconds", type: "quantitative", scale: { type: "log" } },
          y: { field: "classifier_fid", type: "quantitative" },
          text: { field: "nfe", type: "quantitative" },
        },
      },
    ],
  };
}

/** The README of the results directory: provenance, the table, dropped cells, and the
 * acceptance comparisons of issue 9 where their cells were run. */
export function readme(
  meta: Record<string, unknown>,
  rows: CellResult[],
  skipped: Array<{ cell: string; nfe: number; predicted_seconds: number; reason: string }>,
  wallSeconds: number,
  finished: boolean,
): string {
  const by = (cell: string) => rows.find((r) => r.cell === cell);
  const lines = [
    "# DDPM vs DDIM (and DPM-Solver++, Heun) on one trained DDPM",
    "",
    finished ? "" : "**Partial: the run was still going when this file was written.**\n",
    `- command: \`${meta.command}\``,
    `- commit: ${meta.commit}; model: ${meta.model}; dataset: ${meta.dataset}`,
    `- n = ${meta.n} samples per cell, seed ${meta.seed} (batch b of every cell starts from the noise of seed + b; seeds fewer than n/batch apart share batches), ` +
    `sampling batch ${meta.batch}; backend ${meta.backend}; started ${meta.started}`,
    `- total wall time ${
      wallSeconds.toFixed(0)
    } s (sampling + scoring; each cell's sampling time is in the table)`,
    "- metrics: classifier FID / KID / IS / precision / recall of the samples against the test split " +
    "(lib/metrics/evaluate.ts; FID is biased at finite n, so only equal-n cells compare)",
    "",
    markdownTable(rows),
  ];
  // A cell kept by --resume was measured before this run started (ISO times compare as
  // strings), even when the commit is the same.
  const keptEarlier = rows.some((r) =>
    r.measured_at !== undefined && meta.started !== undefined &&
    r.measured_at < String(meta.started)
  );
  if (keptEarlier || new Set(rows.map((r) => r.commit)).size > 1) {
    lines.push(
      "Cells were measured in more than one sitting (`--resume`; same model, n, seeds, backend):",
      "",
      ...rows.map((r) => `- ${r.cell}: commit ${r.commit}, measured ${r.measured_at}`),
      "",
    );
  } else if (rows.length > 0) lines.push(`All cells measured in one sitting.`, "");
  if (skipped.length > 0) {
    lines.push(
      "Cells not run (predicted from the measured time per network evaluation to exceed the budget):",
      "",
      ...skipped.map((s) =>
        `- ${s.cell} (NFE ${s.nfe}): predicted ${s.predicted_seconds.toFixed(0)} s`
      ),
      "",
    );
  }
  const ddpm = by("ddpm-1000"), ddim50 = by("ddim-50-eta0"), dpm20 = by("dpmpp-2m-20");
  const checks: string[] = [];
  // DDIM-50 at the sampler's default spacing, then at every explicit spacing the study ran
  // (as exp:pool_seeds compares them; a zero-terminal-SNR model is sampled "trailing").
  const ddimCells = [
    { label: "DDIM-50 (η = 0)", row: ddim50 },
    ...TIMESTEP_SPACINGS.map((spacing) => ({
      label: `DDIM-50 (η = 0, ${spacing} spacing)`,
      row: by(`ddim-50-eta0-${spacing}`),
    })),
  ];
  for (const { label, row } of ddimCells) {
    if (!ddpm || !row) continue;
    const speed = ddpm.sample_seconds / row.sample_seconds;
    const fid = row.classifier_fid / ddpm.classifier_fid - 1;
    checks.push(
      `- ${label} vs DDPM-1000: ${speed.toFixed(1)}× faster in sampling wall time ` +
        `(target ≥ 19×: ${speed >= 19 ? "met" : "missed"}); FID ${
          row.classifier_fid.toFixed(2)
        } vs ` +
        `${ddpm.classifier_fid.toFixed(2)}, ${(100 * fid).toFixed(1)} % ` +
        `(target within 15 %: ${Math.abs(fid) <= 0.15 || fid < 0 ? "met" : "missed"})`,
    );
  }
  if (ddim50 && dpm20) {
    const fid = dpm20.classifier_fid / ddim50.classifier_fid - 1;
    checks.push(
      `- DPM-Solver++(2M)-20 vs DDIM-50: FID ${dpm20.classifier_fid.toFixed(2)} vs ` +
        `${ddim50.classifier_fid.toFixed(2)}, ${(100 * fid).toFixed(1)} % ` +
        `(target within 10 %: ${Math.abs(fid) <= 0.1 || fid < 0 ? "met" : "missed"})`,
    );
  }
  if (checks.length > 0) lines.push("Acceptance comparisons (issue 9):", "", ...checks, "");
  lines.push(
    "Files: results.json (raw, with the cells not run), table.md, fid_vs_time.vl.json / .png " +
      "(FID against sampling wall time, log x), grids/<cell>.png (first 64 samples; same start noise in every cell).",
    "",
  );
  return lines.join("\n");
}

/** What must be equal for cells of two sittings to share one table: the same weights (run dir,
 * step, EMA or live), the same n, noise seeds, batch, dataset and backend. */
const SITTING_KEYS = ["model", "dataset", "n", "seed", "batch", "backend"] as const;

/** Cells of an earlier sitting that may be kept (`--resume`), or a one-line error naming what
 * differs. Wall times stay comparable only on the same machine: the README lists each cell's
 * sitting. */
export function resumableCells(
  previous: Record<string, unknown>,
  meta: Record<string, unknown>,
): CellResult[] {
  for (const key of SITTING_KEYS) {
    if (String(previous[key]) !== String(meta[key])) {
      throw new UserInputError(
        `cannot --resume: the earlier sitting's ${key} was "${previous[key]}", this one's is ` +
          `"${meta[key]}"; use the same settings or a new --out`,
      );
    }
  }
  const rows = (previous.cells ?? []) as CellResult[];
  return rows.map((r) => ({
    ...r,
    commit: r.commit ?? String(previous.commit),
    measured_at: r.measured_at ?? String(previous.started),
  }));
}

async function getModel(
  o: Options,
): Promise<{ model: GenerativeModel; source: string; dataset: string; T: number }> {
  if (o.run) {
    const { model, spec, step, weights } = await loadRun(o.run, "ema");
    if (spec.model !== "ddpm") {
      throw new UserInputError(`${o.run} is a ${spec.model} run; the study needs a ddpm run`);
    }
    return {
      model,
      source: `${o.run} (step ${step}, ${weights} weights)`,
      dataset: spec.dataset,
      T: Number(spec.modelConfig.timesteps),
    };
  }
  const spec = resolveSpec("ddpm", {
    quick: o.quick,
    steps: o.trainSteps,
    seed: o.seed,
    dataset: o.dataset,
  });
  const result = await train(spec, { progress: true });
  return {
    model: result.model,
    source: `${result.runDir} (trained here: ${spec.steps} steps${o.quick ? ", --quick" : ""})`,
    dataset: spec.dataset,
    T: Number(spec.modelConfig.timesteps),
  };
}

interface Options {
  run?: string;
  n: number;
  seed: number;
  cells: string;
  batch: number;
  out: string;
  backend: BackendName;
  quick: boolean;
  budgetSeconds?: number;
  resume: boolean;
  trainSteps?: number;
  dataset?: string;
}

async function main(args: string[]): Promise<void> {
  const program = new Command("exp:ddpm_vs_ddim")
    .description("DDPM vs DDIM / DPM-Solver++ / Heun on one trained ddpm model")
    .option("--run <dir>", "a trained ddpm run (otherwise one is trained first)")
    .option("--n <n>", "samples per cell (same for every cell)", positiveInt("--n"), 1024)
    .option(
      "--seed <seed>",
      "noise seed (batch b uses seed + b in every cell, so seeds fewer than n/batch apart share batches)",
      positiveInt("--seed"),
      1,
    )
    .option("--cells <list>", "comma-separated cells", DEFAULT_CELLS.join(","))
    .option("--batch <b>", "sampling batch size", positiveInt("--batch"), 256)
    .option("--out <dir>", "output directory", "results/ddpm-vs-ddim")
    .option("--backend <name>", `tfjs backend: ${BACKEND_NAMES.join(", ")}`, "auto")
    .option("--quick", "train a tiny model (without --run)", false)
    .option(
      "--budget-seconds <s>",
      "skip cells whose predicted time (from the cells run so far) would exceed this wall time",
      positiveInt("--budget-seconds"),
    )
    .option(
      "--resume",
      "keep the cells <out>/results.json already has (same model, n, seed)",
      false,
    )
    .option("--train-steps <n>", "training steps (without --run)", positiveInt("--train-steps"))
    .option("--dataset <name>", "dataset to train on (without --run)")
    .exitOverride();
  program.parse(args, { from: "user" });
  const o = program.opts<Options>();
  const cells = o.cells.split(",").map((c) => c.trim()).filter(Boolean);
  const methods = cells.map(parseCell);

  const started = performance.now();
  const backend = await setupBackend({ backend: o.backend });
  const { model, source, dataset, T } = await getModel(o);
  const schedule = makeSchedule({ timesteps: T });
  await Deno.mkdir(`${o.out}/grids`, { recursive: true });
  const meta = {
    command: `deno task exp:ddpm_vs_ddim ${args.join(" ")}`,
    commit: gitCommit(),
    model: source,
    dataset,
    n: o.n,
    seed: o.seed,
    batch: o.batch,
    backend: `${backend.name} (${backend.threads} threads)`,
    started: new Date().toISOString(),
  };
  const elapsed = () => (performance.now() - started) / 1000;
  const rows: CellResult[] = [];
  if (o.resume) {
    let previous: Record<string, unknown> | undefined;
    try {
      previous = JSON.parse(await Deno.readTextFile(`${o.out}/results.json`));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (previous) {
      rows.push(...resumableCells(previous, meta).filter((r) => cells.includes(r.cell)));
      console.log(`--resume: kept ${rows.map((r) => r.cell).join(", ") || "no cells"}`);
    }
  }
  const skipped: Array<{ cell: string; nfe: number; predicted_seconds: number; reason: string }> =
    [];
  const save = async (finished: boolean) => {
    rows.sort((a, b) => cells.indexOf(a.cell) - cells.indexOf(b.cell));
    await writeJsonAtomic(`${o.out}/results.json`, {
      ...meta,
      budget_seconds: o.budgetSeconds ?? null,
      finished,
      wall_seconds: (performance.now() - started) / 1000,
      cells: rows,
      skipped,
    });
    await writeFileAtomic(`${o.out}/table.md`, markdownTable(rows));
    await writeFileAtomic(`${o.out}/README.md`, readme(meta, rows, skipped, elapsed(), finished));
  };

  for (const [i, cell] of cells.entries()) {
    const method = methods[i];
    if (rows.some((r) => r.cell === cell)) continue; // measured in an earlier sitting

    const nfe = makeSampler(schedule, method).points.length;
    if (o.budgetSeconds !== undefined && rows.length > 0) {
      // Sampling time is proportional to NFE·n; evaluation is a fixed cost per cell.
      const perNfe = rows.reduce((a, r) => a + r.sample_seconds, 0) /
        rows.reduce((a, r) => a + r.nfe, 0);
      const evalCost = rows.reduce((a, r) => a + r.eval_seconds, 0) / rows.length;
      const predicted = nfe * perNfe + evalCost;
      if (elapsed() + predicted > o.budgetSeconds) {
        skipped.push({
          cell,
          nfe,
          predicted_seconds: predicted,
          reason: `would end at ${
            (elapsed() + predicted).toFixed(0)
          } s > budget ${o.budgetSeconds} s`,
        });
        console.log(`${cell}: skipped (predicted ${predicted.toFixed(0)} s, over the budget)`);
        await save(false);
        continue;
      }
    }
    let sampleSeconds = 0, batchIndex = 0;
    const t0 = performance.now();
    const scores = await evaluateSamples({
      n: o.n,
      dataset,
      batchSize: o.batch,
      sample: async (want) => {
        const s0 = performance.now();
        const x = await model.sample(want, {
          seed: o.seed + batchIndex,
          method: method as unknown as Record<string, string | number>,
        });
        await x.data(); // computed, on the host: timed to completion on every backend
        sampleSeconds += (performance.now() - s0) / 1000;
        if (batchIndex === 0) {
          const grid = tf.tidy(() => x.slice([0, 0, 0, 0], [Math.min(64, want), -1, -1, -1]));
          await writeFileAtomic(
            `${o.out}/grids/${cell}.png`,
            await imageGridPng(grid as tf.Tensor4D),
          );
          grid.dispose();
        }
        batchIndex++;
        return x;
      },
      onProgress: (done, total) =>
        console.log(`  ${cell}: ${done}/${total} (${sampleSeconds.toFixed(1)} s sampling)`),
    });
    const row: CellResult = {
      cell,
      commit: meta.commit,
      measured_at: new Date().toISOString(),
      sampler: method.sampler,
      steps: method.steps!,
      eta: method.eta ?? null,
      nfe,
      n: o.n,
      sample_seconds: sampleSeconds,
      images_per_second: o.n / sampleSeconds,
      eval_seconds: (performance.now() - t0) / 1000 - sampleSeconds,
      classifier_fid: scores.classifier_fid,
      classifier_kid_mean: scores.classifier_kid_mean,
      classifier_kid_std: scores.classifier_kid_std,
      classifier_is_mean: scores.classifier_is_mean,
      precision: scores.precision,
      recall: scores.recall,
    };
    rows.push(row);
    console.log(
      `${cell}: NFE ${nfe}, ${sampleSeconds.toFixed(1)} s, FID ${scores.classifier_fid.toFixed(2)}`,
    );
    await save(false);
  }
  await save(true);
  const spec = chartSpec(rows, `${dataset}: classifier FID vs sampling time (n = ${o.n})`);
  await writeJsonAtomic(`${o.out}/fid_vs_time.vl.json`, spec);
  await writeFileAtomic(`${o.out}/fid_vs_time.png`, (await renderChart(spec)).png);
  model.dispose();
  console.log(markdownTable(rows));
  console.log(`wall time ${((performance.now() - started) / 1000).toFixed(0)} s → ${o.out}`);
}

if (import.meta.main) await runScript(main);
