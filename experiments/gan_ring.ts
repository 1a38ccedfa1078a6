/**
 * Mode coverage on the 8-gaussian ring (or the 25-gaussian grid): GAN vs WGAN vs WGAN-GP over
 * seeds, each trained with the one trainer at the same number of trainer steps (= D/critic steps).
 *
 *   deno run -A experiments/gan_ring.ts --models gan,wgan-gp --seeds 0,1,2 --steps 3000 \
 *     --out results/gan-ring
 *
 * Writes <out>/coverage.json (one row per run: modes covered, % high quality, KL to uniform, wall
 * time), <out>/coverage.md (the table), and each run's film strip as <out>/<model>-seed<k>.png.
 */
import { Command } from "commander";
import { backendInfo, setupBackend } from "../lib/backend/mod.ts";
import { sampleToy2d, toy2dModes, toyName } from "../lib/data/toy2d.ts";
import { modeCoverage } from "../lib/models/gan/diagnostics.ts";
import { resolveSpec, train } from "../lib/train/trainer.ts";
import { gitCommit, writeFileAtomic, writeJsonAtomic } from "../lib/util/files.ts";
import { Rng } from "../lib/util/rng.ts";

/** Train one model on a toy mixture and measure its mode coverage on `samples` points. */
export async function ringRun(options: {
  model: string;
  seed: number;
  steps: number;
  batch?: number;
  dataset?: string;
  samples?: number;
  out: string;
  modelConfig?: Record<string, unknown>;
  /** Frames of the film strip (scatter previews during training). */
  frames?: number;
}) {
  const dataset = options.dataset ?? "toy:8gaussians";
  const spec = resolveSpec(options.model, {
    dataset,
    steps: options.steps,
    batch: options.batch ?? 256,
    seed: options.seed,
    sampleEvery: Math.max(1, Math.floor(options.steps / (options.frames ?? 6))),
    checkpointEvery: options.steps,
    modelConfig: { latentDim: 2, ...options.modelConfig },
  });
  const result = await train(spec, { out: options.out, progress: false });
  const images = await result.model.sample(options.samples ?? 2500, { seed: 12345 });
  const points = await images.data();
  images.dispose();
  result.model.dispose();
  const { centers, sigma } = toy2dModes(toyName(dataset));
  const coverage = modeCoverage(points, centers, sigma);
  return {
    model: options.model,
    seed: options.seed,
    steps: result.step,
    ...coverage,
    wallSeconds: result.wallSeconds,
    runDir: result.runDir,
  };
}

if (import.meta.main) {
  const program = new Command()
    .option("--models <list>", "comma-separated models", "gan,wgan,wgan-gp")
    .option("--seeds <list>", "comma-separated seeds", "0,1,2")
    .option("--steps <n>", "trainer steps (D/critic steps) per run", "3000")
    .option("--batch <n>", "batch size", "256")
    .option("--dataset <name>", "toy:8gaussians or toy:25gaussians", "toy:8gaussians")
    .option("--backend <name>", "backend", "native")
    .option("--out <dir>", "results directory", "results/gan-ring")
    .option("--set <json>", "model config overrides for every model, as JSON", "{}")
    .parse(Deno.args, { from: "user" });
  const flags = program.opts();
  const info = await setupBackend({ backend: flags.backend });
  const started = performance.now();
  const rows = [];
  for (const model of String(flags.models).split(",")) {
    for (const seed of String(flags.seeds).split(",").map(Number)) {
      const runDir = `runs/ring-${toyName(flags.dataset)}-${model}-seed${seed}-${Date.now()}`;
      const row = await ringRun({
        model,
        seed,
        steps: Number(flags.steps),
        batch: Number(flags.batch),
        dataset: flags.dataset,
        out: runDir,
        modelConfig: JSON.parse(flags.set),
      });
      console.log(
        `${model} seed ${seed}: ${row.modesCovered}/${row.modes} modes, ` +
          `${(100 * row.highQualityFraction).toFixed(1)} % high quality, KL ${
            row.klToUniform.toFixed(3)
          } ` +
          `(${row.wallSeconds.toFixed(1)} s)`,
      );
      await Deno.mkdir(flags.out, { recursive: true });
      await Deno.copyFile(`${runDir}/samples/film.png`, `${flags.out}/${model}-seed${seed}.png`);
      rows.push(row);
    }
  }
  // A reference row: the true distribution, same sample size.
  const { centers, sigma } = toy2dModes(toyName(flags.dataset));
  const truth = modeCoverage(sampleToy2d(toyName(flags.dataset), 2500, new Rng(1)), centers, sigma);
  const command = ["deno", "run", "-A", "experiments/gan_ring.ts", ...Deno.args].join(" ");
  await writeJsonAtomic(`${flags.out}/coverage.json`, {
    command,
    commit: gitCommit(),
    backend: info,
    dataset: flags.dataset,
    samplesPerRun: 2500,
    rule:
      "high quality = within 3σ of the nearest mode; covered = ≥ 1 % of samples high quality there",
    truth,
    rows,
    wallSeconds: (performance.now() - started) / 1000,
    created: new Date().toISOString(),
  });
  const table = [
    "| model | seed | trainer steps | modes covered | high quality | KL(hist ‖ uniform) | wall s |",
    "|---|---|---|---|---|---|---|",
    ...rows.map((r) =>
      `| ${r.model} | ${r.seed} | ${r.steps} | ${r.modesCovered}/${r.modes} | ${
        (100 * r.highQualityFraction).toFixed(1)
      } % | ${r.klToUniform.toFixed(3)} | ${r.wallSeconds.toFixed(1)} |`
    ),
    `| true distribution | – | – | ${truth.modesCovered}/${truth.modes} | ${
      (100 * truth.highQualityFraction).toFixed(1)
    } % | ${truth.klToUniform.toFixed(3)} | – |`,
  ].join("\n");
  await writeFileAtomic(`${flags.out}/coverage.md`, table + "\n");
  console.log(table);
  console.log(
    `backend ${backendInfo()?.name}; ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
