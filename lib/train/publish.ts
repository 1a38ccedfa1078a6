/**
 * Copy a finished run's small artifacts into results/<name>/ with their provenance, so every
 * committed number sits next to the command, seed, backend, wall time and commit that made it.
 */
import { exists, readJson, writeFileAtomic } from "../util/files.ts";
import { UserInputError } from "../util/errors.ts";
import { openRunDir, readRunConfig } from "./run_dir.ts";

export async function publishRun(runDir: string, resultsDir: string): Promise<string[]> {
  const paths = await openRunDir(runDir);
  if (!(await exists(paths.summary))) {
    throw new UserInputError(
      `${runDir} has no summary.json: finish the run first (--resume ${runDir})`,
    );
  }
  // Check both files before writing anything (a damaged one is a one-line error).
  const { config } = await readRunConfig(paths);
  const summary = await readJson<Record<string, unknown>>(paths.summary).catch(() => {
    throw new UserInputError(
      `${paths.summary} is damaged (not valid JSON): finish the run again (--resume ${runDir})`,
    );
  });
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
  // The model's own grids (GenerativeModel.artifacts: reconstructions, interpolations, …) and
  // any extra report JSON an experiment wrote into the run dir.
  for await (const entry of Deno.readDir(paths.samples)) {
    if (entry.name.endsWith(".png") && !/^(step-|final)/.test(entry.name)) {
      copies.push([`${paths.samples}/${entry.name}`, `samples-${entry.name}`]);
    }
  }
  for await (const entry of Deno.readDir(paths.root)) {
    if (
      entry.isFile && entry.name.endsWith(".json") &&
      !["config.json", "summary.json", "metrics.json"].includes(entry.name)
    ) {
      copies.push([`${paths.root}/${entry.name}`, entry.name]);
    }
  }
  const written: string[] = [];
  for (const [from, to] of copies) {
    if (!(await exists(from))) continue;
    await writeFileAtomic(`${resultsDir}/${to}`, await Deno.readFile(from));
    written.push(to);
  }
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
