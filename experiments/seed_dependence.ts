/**
 * Are the samples of one sampling seed independent draws? The classifier FID of each seed's n
 * samples (drawn as the DDPM-vs-DDIM study draws them: batch b from seed + b) against the FID
 * of random n-subsets of all seeds' samples pooled. Independent samples give both the same
 * spread; a larger spread across seeds than across pooled subsets means the samples of one
 * seed share something (noise, batch effects), and a single seed's FID is less than n draws.
 * Real training images at random give the FID's own spread at this n for comparison.
 *
 *   deno task exp:seed_dependence --run <ddpm run> --cell ddim-50-eta1 --seeds 301,401,… --n 1024
 */
import * as tf from "@tensorflow/tfjs";
import { Command, InvalidArgumentError } from "commander";
import { setupBackend } from "../lib/backend/mod.ts";
import { loadRun } from "../lib/train/trainer.ts";
import { loadImageDataset } from "../lib/data/mod.ts";
import {
  datasetFeatures,
  frechetDistance,
  type GaussianMoments,
  GaussianStats,
  loadFeatureExtractor,
  referenceFeatures,
} from "../lib/metrics/mod.ts";
import { Rng } from "../lib/util/rng.ts";
import { gitCommit, writeFileAtomic, writeJsonAtomic } from "../lib/util/files.ts";
import { positiveInt, runScript } from "../lib/cli/common.ts";
import { mean, std as sd } from "../lib/sampling/stats.ts";
import { parseCell } from "./ddpm_vs_ddim.ts";
import { checkSeedSpacing } from "./pool_seeds.ts";

/** FID of rows `picked` (indices into a pooled n_all × dim feature matrix). */
export function fidOfRows(
  pool: Float32Array,
  dim: number,
  picked: ArrayLike<number>,
  reference: GaussianMoments,
): number {
  const rows = new Float32Array(picked.length * dim);
  for (let i = 0; i < picked.length; i++) {
    rows.set(pool.subarray(picked[i] * dim, (picked[i] + 1) * dim), i * dim);
  }
  return frechetDistance(GaussianStats.fromRows(rows, picked.length, dim).moments(), reference);
}

async function main(args: string[]): Promise<void> {
  const seedList = (value: string) => {
    const seeds = value.split(",").map(Number);
    if (seeds.length < 3 || seeds.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new InvalidArgumentError(
        "--seeds takes at least three positive integers, e.g. 301,401,501",
      );
    }
    return seeds;
  };
  const o = new Command("exp:seed_dependence")
    .description("FID spread across sampling seeds vs across random subsets of the pooled samples")
    .requiredOption("--run <dir>", "a trained ddpm run")
    .requiredOption("--cell <cell>", "sampler cell as in exp:ddpm_vs_ddim, e.g. ddim-50-eta1")
    .requiredOption("--seeds <list>", "sampling seeds (≥ n/batch apart)", seedList)
    .option("--n <n>", "samples per seed", positiveInt("--n"), 1024)
    .option("--batch <b>", "sampling batch size", positiveInt("--batch"), 256)
    .option(
      "--subsets <k>",
      "random pooled subsets (and real-image subsets)",
      (value: string) => {
        const k = positiveInt("--subsets")(value);
        if (k < 2) {
          throw new InvalidArgumentError("--subsets must be ≥ 2 (a spread needs two values)");
        }
        return k;
      },
      40,
    )
    .requiredOption("--out <dir>", "output directory")
    .exitOverride()
    .parse(args, { from: "user" })
    .opts<
      {
        run: string;
        cell: string;
        seeds: number[];
        n: number;
        batch: number;
        subsets: number;
        out: string;
      }
    >();
  checkSeedSpacing(o.seeds, o.n, o.batch);
  const batches = Math.ceil(o.n / o.batch);
  const method = parseCell(o.cell);
  const started = performance.now();
  const backend = await setupBackend({});
  const { model, spec, step, weights } = await loadRun(o.run, "ema");
  const extractor = await loadFeatureExtractor({ dataset: spec.dataset });
  const ref = await referenceFeatures(extractor, spec.dataset, "test");
  const reference = GaussianStats.fromRows(ref.features, ref.n, ref.dim).moments();
  const dim = ref.dim;
  const pool = new Float32Array(o.seeds.length * o.n * dim);
  const perSeed: number[] = [];
  for (const [k, seed] of o.seeds.entries()) {
    for (let b = 0; b < batches; b++) {
      const want = Math.min(o.batch, o.n - b * o.batch);
      const x = await model.sample(want, {
        seed: seed + b,
        method: method as unknown as Record<string, string | number>,
      });
      const clipped = tf.tidy(() => x.clipByValue(-1, 1) as tf.Tensor4D);
      x.dispose();
      const f = await extractor.extract(clipped);
      clipped.dispose();
      pool.set(f.features, (k * o.n + b * o.batch) * dim);
    }
    const rows = Array.from({ length: o.n }, (_, i) => k * o.n + i);
    perSeed.push(fidOfRows(pool, dim, rows, reference));
    console.log(`seed ${seed}: FID ${perSeed.at(-1)!.toFixed(2)}`);
  }
  model.dispose();
  const rng = new Rng(0);
  const total = o.seeds.length * o.n;
  const pooled = Array.from(
    { length: o.subsets },
    () => fidOfRows(pool, dim, rng.permutation(total).subarray(0, o.n), reference),
  );
  const train = await loadImageDataset(spec.dataset, "train");
  const real: number[] = [];
  for (let k = 0; k < o.subsets; k++) {
    const f = await datasetFeatures(
      extractor,
      train,
      rng.permutation(train.count).subarray(0, o.n),
    );
    real.push(frechetDistance(GaussianStats.fromRows(f.features, f.n, dim).moments(), reference));
  }
  extractor.dispose();
  const result = {
    command: `deno task exp:seed_dependence ${args.join(" ")}`,
    commit: gitCommit(),
    model: `${o.run} (step ${step}, ${weights} weights)`,
    dataset: spec.dataset,
    cell: o.cell,
    n: o.n,
    batch: o.batch,
    backend: `${backend.name} (${backend.threads} threads)`,
    wall_seconds: (performance.now() - started) / 1000,
    seeds: o.seeds,
    fid_per_seed: perSeed,
    fid_per_seed_mean: mean(perSeed),
    fid_per_seed_sd: sd(perSeed),
    pooled_subset_fids: pooled,
    pooled_subset_mean: mean(pooled),
    pooled_subset_sd: sd(pooled),
    real_subset_fids: real,
    real_subset_mean: mean(real),
    real_subset_sd: sd(real),
  };
  await Deno.mkdir(o.out, { recursive: true });
  await writeJsonAtomic(`${o.out}/${o.cell}.json`, result);
  const f2 = (x: number) => x.toFixed(2);
  const text = [
    `# ${o.cell}: FID spread across sampling seeds vs across pooled subsets (n = ${o.n})`,
    "",
    `- command: \`${result.command}\`; commit ${result.commit}; model ${result.model}; backend ${result.backend}; ${
      result.wall_seconds.toFixed(0)
    } s`,
    `- per seed (${o.seeds.join(", ")}): ${perSeed.map(f2).join(" / ")} — mean ${
      f2(result.fid_per_seed_mean)
    }, sd **${f2(result.fid_per_seed_sd)}**`,
    `- ${o.subsets} random ${o.n}-subsets of the ${total} pooled samples: mean ${
      f2(result.pooled_subset_mean)
    }, sd **${f2(result.pooled_subset_sd)}**`,
    `- ${o.subsets} random ${o.n}-subsets of real training images: mean ${
      f2(result.real_subset_mean)
    }, sd **${f2(result.real_subset_sd)}**`,
    "",
  ].join("\n");
  await writeFileAtomic(`${o.out}/${o.cell}.md`, text);
  console.log(text);
}

if (import.meta.main) await runScript(main);
