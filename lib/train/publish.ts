/**
 * Copy a finished run's small artifacts into results/<name>/ with their provenance, so every
 * committed number sits next to the command, seed, backend, wall time and commit that made it.
 */
import { exists, readJson, writeFileAtomic } from "../util/files.ts";
import { UserInputError } from "../util/errors.ts";
import { openRunDir } from "./run_dir.ts";

export async function publishRun(runDir: string, resultsDir: string): Promise<string[]> {
  const paths = await openRunDir(runDir);
  if (!(await exists(paths.summary))) {
    throw new UserInputError(
      `${runDir} has no summary.json: finish the run first (--resume ${runDir})`,
    );
  }
  await Deno.mkdir(resultsDir, { recursive: true });
  const copies: Array<[string, string]> = [
    [paths.config, "config.json"],
    [paths.summary, "summary.json"],
    [paths.metrics, "metrics.jsonl"],
    [`${paths.samples}/final.png`, "samples-final.png"],
    [`${paths.samples}/film.png`, "samples-film.png"], // 2-D point runs
    [`${paths.samples}/class-rows.png`, "samples-class-rows.png"], // conditional models
    [`${paths.root}/agreement.json`, "agreement.json"], // experiments/cgan_agreement.ts
    [`${paths.charts}/losses.png`, "losses.png"],
    [`${paths.charts}/losses.svg`, "losses.svg"],
    [`${paths.root}/metrics.json`, "eval-metrics.json"],
  ];
  const written: string[] = [];
  for (const [from, to] of copies) {
    if (!(await exists(from))) continue;
    await writeFileAtomic(`${resultsDir}/${to}`, await Deno.readFile(from));
    written.push(to);
  }
  const config = await readJson<Record<string, unknown>>(paths.config);
  const summary = await readJson<Record<string, unknown>>(paths.summary);
  const backend = summary.backend as { name?: string; threads?: number } | null;
  const lines = [
    `# ${runDir.split("/").pop()}`,
    "",
    "| field | value |",
    "|---|---|",
    `| command | \`${config.command}\` |`,
    `| seed | ${(config.spec as { seed: number }).seed} |`,
    `| backend | ${backend?.name} (${backend?.threads} thread(s)) |`,
    `| steps | ${summary.steps} |`,
    `| wall time | ${summary.wallSeconds} s |`,
    `| commit | ${config.commit} (run started), ${summary.commit} (run finished) |`,
    `| created | ${config.created} |`,
    "",
    `Files: ${written.join(", ")}.`,
    "",
  ];
  await writeFileAtomic(`${resultsDir}/README.md`, lines.join("\n"));
  return [...written, "README.md"];
}
