/**
 * `deno task verify <run-dir>`: check every file a resume, sample or eval would trust —
 * config.json (spec and the model's config schema), each checkpoint (checksum, structure),
 * metrics.jsonl (one row per step, no gap or duplicate, covering the newest checkpoint),
 * summary.json — and the lock. Reads only; never takes the lock.
 */
import { DamagedCheckpointError, listCheckpoints, verifyCheckpoint } from "./checkpoint.ts";
import { LOCK_FILE } from "./lock.ts";
import { checkMetrics, openRunDir, readRunConfig } from "./run_dir.ts";
import { exists } from "../util/files.ts";

export interface VerifiedFile {
  /** Path relative to the run dir. */
  file: string;
  ok: boolean;
  /** What is wrong (when !ok), or a remark (e.g. "step 40"). */
  note: string;
}

export async function verifyRun(runDir: string): Promise<VerifiedFile[]> {
  const paths = await openRunDir(runDir);
  const rel = (path: string) => path.slice(paths.root.length + 1);
  const report: VerifiedFile[] = [];
  const message = (error: unknown) => (error as Error).message;

  try {
    const { spec } = await readRunConfig(paths);
    report.push({ file: "config.json", ok: true, note: `${spec.model} on ${spec.dataset}` });
  } catch (error) {
    report.push({ file: "config.json", ok: false, note: message(error) });
  }

  let newestIntact = 0;
  for (const checkpoint of await listCheckpoints(paths.checkpoints)) {
    try {
      const extra = await verifyCheckpoint<{ step?: number }>(checkpoint.path);
      if (extra?.step !== checkpoint.step) {
        throw new DamagedCheckpointError(
          checkpoint.path,
          `holds step ${extra?.step}, its name says ${checkpoint.step}`,
        );
      }
      newestIntact = checkpoint.step;
      report.push({ file: rel(checkpoint.path), ok: true, note: `step ${checkpoint.step}` });
    } catch (error) {
      const problem = error instanceof DamagedCheckpointError ? error.problem : message(error);
      report.push({ file: rel(checkpoint.path), ok: false, note: problem });
    }
  }

  const metrics = await checkMetrics(paths.metrics);
  if (metrics.problem) {
    report.push({ file: "metrics.jsonl", ok: false, note: metrics.problem });
  } else if (metrics.rows.length < newestIntact) {
    report.push({
      file: "metrics.jsonl",
      ok: false,
      note: `covers steps 1–${metrics.rows.length}, the newest checkpoint is step ${newestIntact}`,
    });
  } else {
    report.push({
      file: "metrics.jsonl",
      ok: true,
      note: `steps 1–${metrics.rows.length}${
        metrics.partialLastLine ? " (last line cut short by a kill; dropped on resume)" : ""
      }`,
    });
  }

  if (await exists(paths.summary)) {
    try {
      JSON.parse(await Deno.readTextFile(paths.summary));
      report.push({ file: "summary.json", ok: true, note: "finished run" });
    } catch {
      report.push({ file: "summary.json", ok: false, note: "not valid JSON" });
    }
  }
  const lock = `${paths.root}/${LOCK_FILE}`;
  if (await exists(lock)) {
    const text = await Deno.readTextFile(lock).catch(() => "?");
    report.push({ file: LOCK_FILE, ok: true, note: `a trainer holds the run: ${text.trim()}` });
  }
  return report;
}
