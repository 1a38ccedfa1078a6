/**
 * Post-hoc weight averaging of a run's stored EMA snapshots (lib/train/average.ts): writes a new
 * run dir that `sample` / `eval` / `exp:ddpm_vs_ddim --run` use like any other.
 *
 *   deno task train … --checkpoint-every 500 --keep-checkpoints 0 --out runs/r
 *   deno task exp:average_checkpoints --run runs/r --from 7500 --out runs/r-avg7500
 */
import { Command } from "commander";
import { setupBackend } from "../lib/backend/mod.ts";
import { averageCheckpoints } from "../lib/train/average.ts";
import { nonNegativeInt, runScript } from "../lib/cli/common.ts";

async function main(args: string[]): Promise<void> {
  const o = new Command("exp:average_checkpoints")
    .description("a new run dir whose EMA weights average a run's EMA snapshots from..to")
    .requiredOption("--run <dir>", "a run trained with --keep-checkpoints 0 (or several kept)")
    .requiredOption("--from <step>", "first checkpoint step averaged", nonNegativeInt("--from"))
    .option(
      "--to <step>",
      "last checkpoint step averaged (default: the newest)",
      nonNegativeInt("--to"),
    )
    .requiredOption("--out <dir>", "the new run dir")
    .exitOverride()
    .parse(args, { from: "user" })
    .opts<{ run: string; from: number; to?: number; out: string }>();
  await setupBackend({ backend: "cpu" }); // only tensor bookkeeping: no kernels run
  const { out, steps } = await averageCheckpoints(o.run, { from: o.from, to: o.to, out: o.out });
  console.log(`${out}: EMA weights = mean of the EMA snapshots at steps ${steps.join(", ")}`);
}

if (import.meta.main) await runScript(main);
