/**
 * genlab's command line: `deno task <command>` → `deno run -A lib/cli/main.ts <command>`.
 *
 *   train <model>      train a model into a run directory (or --resume one)
 *   sample <run-dir>   write a grid of samples from a run's latest checkpoint
 *   eval <run-dir>     classifier FID/KID/IS/precision/recall of a run's samples
 *   verify <run-dir>   check a run's checkpoints, config.json and metrics.jsonl
 *   info               versions, backends, threads
 *   demo               the README's main job: a self-conditioned GAN (DCGAN networks) on MNIST in ≤ 5 minutes
 *
 * main() is the one place errors end: a user's mistake (UserInputError, TrainingError, a
 * commander parse error) prints ONE line naming the fix and exits 2 (3 = a stopped run: a
 * NaN loss, or a checkpoint that could not be written — the previous one is intact and
 * --resume continues; 130 = interrupted); anything else is a bug: one line plus the path of the full trace
 * (<run-dir>/error.log, or .cache/genlab-error.log), exit 1. Never a bare stack trace.
 */
import { Command, CommanderError } from "commander";
import { BACKEND_NAMES, setupBackend } from "../backend/mod.ts";
import { MODELS } from "../models/registry.ts";
import { TrainingError } from "../train/trainer.ts";
import { errorContext, UserInputError } from "../util/errors.ts";
import {
  backendName,
  collectSetting,
  nonNegativeInt,
  positiveInt,
  positiveNumber,
} from "./common.ts";
import { runDemo, runInfo, runSample, runTrain, runVerify } from "./commands.ts";
import { publishRun } from "../train/publish.ts";
import { runEval } from "./eval.ts";
import { etaValue, SAMPLING_FLAG_HELP as SF, weightsValue } from "./sampling_flags.ts";

/** `--backend` help: every name, auto first (what each is: lib/backend/mod.ts, README). */
const BACKEND_HELP = `${BACKEND_NAMES.join(" | ")} (auto: webgpu on a GPU, else native, else wasm)`;

export function buildProgram(): Command {
  const program = new Command("genlab")
    .description("generative models on TensorFlow.js: train, sample, evaluate")
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ outputError: (text, write) => write(text.split("\n")[0] + "\n") });

  program.command("train")
    .description(`train a model (${Object.keys(MODELS).join(", ")}) into a run directory`)
    .argument("[model]", "model name (omit with --resume)")
    .option("--dataset <name>", "mnist | fashion-mnist (default: the model's)")
    .option("--steps <n>", "training steps", positiveInt("--steps"))
    .option("--batch <n>", "batch size", positiveInt("--batch"))
    .option("--lr <x>", "learning rate (sets the model's learningRate)", positiveNumber("--lr"))
    .option("--seed <n>", "random seed (data order, init, noise)", nonNegativeInt("--seed"), 0)
    .option("--backend <name>", BACKEND_HELP, backendName, "auto")
    .option("--threads <n>", "wasm threads (default 2)", positiveInt("--threads"))
    .option("--out <dir>", "run directory (default runs/<model>-<dataset>-<timestamp>)")
    .option("--resume <run-dir>", "continue a run from its latest checkpoint")
    .option("--quick", "tiny config and few steps (tests, CI, notebooks)")
    .option(
      "--sample-every <n>",
      "write a sample grid every n steps",
      positiveInt("--sample-every"),
    )
    .option(
      "--sample-count <n>",
      "images in each sample grid (default 64; fewer for slow pixel-by-pixel samplers)",
      positiveInt("--sample-count"),
    )
    .option(
      "--checkpoint-every <n>",
      "write a checkpoint every n steps",
      positiveInt("--checkpoint-every"),
    )
    .option(
      "--keep-checkpoints <k>",
      "checkpoints kept on disk, newest first (default 2; 0 = all, for post-hoc averaging)",
      nonNegativeInt("--keep-checkpoints"),
    )
    .option(
      "--set <key=value>",
      "override a model option (repeatable), e.g. --set latentDim=64; with --resume only the " +
        "model's resumable ones (e.g. ddpm's emaDecay)",
      collectSetting,
    )
    .option("--no-progress", "no progress output")
    .action(runTrain);

  program.command("sample")
    .description("write a grid of samples from a run's latest checkpoint")
    .argument("<run-dir>", "a run directory made by `train`")
    .option("-n, --n <count>", "number of samples", positiveInt("-n"), 64)
    .option("--seed <n>", "sampling seed", nonNegativeInt("--seed"), 0)
    .option("--out <file>", "PNG path (default <run-dir>/samples/sample[-<method>]-seed<seed>.png)")
    .option("--backend <name>", BACKEND_HELP, backendName, "auto")
    .option("--sampler <name>", SF.sampler)
    .option("--steps <n>", SF.steps, positiveInt("--steps"))
    .option("--eta <x>", SF.eta, etaValue)
    .option("--spacing <kind>", SF.spacing)
    .option("--variance <kind>", SF.variance)
    .option("--clip <kind>", SF.clip)
    .option("--epsilon-scale <λ>", SF.epsilonScale, positiveNumber("--epsilon-scale"))
    .option("--weights <which>", SF.weights, weightsValue)
    .action(runSample);

  program.command("eval")
    .description("classifier FID/KID/IS and precision/recall of a run's samples vs the test split")
    .argument("<run-dir>", "a run directory made by `train`")
    .option("--n <count>", "number of generated samples", positiveInt("--n"), 10000)
    .option("--seed <n>", "sampling seed", nonNegativeInt("--seed"), 0)
    .option("--backend <name>", BACKEND_HELP, backendName, "auto")
    .option("--sampler <name>", SF.sampler)
    .option("--steps <n>", SF.steps, positiveInt("--steps"))
    .option("--eta <x>", SF.eta, etaValue)
    .option("--spacing <kind>", SF.spacing)
    .option("--variance <kind>", SF.variance)
    .option("--clip <kind>", SF.clip)
    .option("--epsilon-scale <λ>", SF.epsilonScale, positiveNumber("--epsilon-scale"))
    .option("--weights <which>", SF.weights, weightsValue)
    .option("--out <file>", "metrics JSON path (default <run-dir>/metrics.json)")
    .option(
      "--iwae-k <k>",
      "likelihood models: test NLL by the IWAE bound with k samples",
      positiveInt("--iwae-k"),
    )
    .option(
      "--nll-n <count>",
      "images scored for the NLL (default: the whole test split)",
      positiveInt("--nll-n"),
    )
    .option(
      "--nll-train-n <count>",
      "training images scored for the train/test gap (default: as many as test)",
      positiveInt("--nll-train-n"),
    )
    .option("--no-fid", "skip the sample metrics (FID/KID/IS, precision/recall)")
    .action(runEval);

  program.command("verify")
    .description(
      "check a run's checkpoints, config.json and metrics.jsonl; exit 2 if any is damaged",
    )
    .argument("<run-dir>", "a run directory made by `train`")
    .action(runVerify);

  program.command("publish")
    .description("copy a finished run's grid, chart, metrics and provenance into results/<name>/")
    .argument("<run-dir>", "a finished run directory")
    .argument("<results-dir>", "e.g. results/dcgan-mnist")
    .action(async (runDir: string, resultsDir: string) => {
      const files = await publishRun(runDir, resultsDir);
      console.log(`${resultsDir}: ${files.join(", ")}`);
    });

  program.command("info")
    .description("versions, available backends, chosen backend and thread count")
    .option("--backend <name>", BACKEND_HELP, backendName, "auto")
    .action(runInfo);

  program.command("demo")
    .description(
      "train a self-conditioned GAN (DCGAN networks on k-means clusters, no labels) on MNIST (≤ 5 min on 2 cores) and print where the results are",
    )
    .option(
      "--steps <n>",
      "train exactly n steps (default: a wall-clock budget)",
      positiveInt("--steps"),
    )
    .option("--seed <n>", "random seed", nonNegativeInt("--seed"), 0)
    .option("--backend <name>", BACKEND_HELP, backendName, "auto")
    .option("--out <dir>", "run directory")
    .action(runDemo);

  return program;
}

/** `train <model> --help`: the train command's flags, then the model's own options (from its
 * config schema: defaults, ranges, allowed values). */
function modelHelp(program: Command, args: string[]): string | null {
  if (args[0] !== "train" || !args.some((a) => a === "--help" || a === "-h")) return null;
  const name = args.slice(1).find((a) => !a.startsWith("-"));
  const entry = name ? MODELS[name] : undefined;
  if (!entry) return null;
  const train = program.commands.find((c) => c.name() === "train")!;
  return `${train.helpInformation()}\n${entry.description}\n${entry.config.help()}\n`;
}

export async function main(args: string[]): Promise<number> {
  const program = buildProgram();
  const help = modelHelp(program, args);
  if (help) {
    console.log(help);
    return 0;
  }
  try {
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; commander already printed the one-line error otherwise.
      return error.exitCode === 0 ? 0 : 2;
    }
    return reportError(error);
  }
}

/** Print one line for `error` and return the exit code (see the module comment). */
export function reportError(error: unknown): number {
  if (error instanceof UserInputError || error instanceof TrainingError) {
    console.error(`error: ${oneLine(error.message)}`);
    return error.exitCode;
  }
  const log = errorContext.runDir && existsDir(errorContext.runDir)
    ? `${errorContext.runDir}/error.log`
    : ".cache/genlab-error.log";
  const trace = error instanceof Error ? (error.stack ?? String(error)) : String(error);
  let where = log;
  try {
    if (log.startsWith(".cache/")) Deno.mkdirSync(".cache", { recursive: true });
    Deno.writeTextFileSync(
      log,
      `${new Date().toISOString()} genlab ${Deno.args.join(" ")}\n${trace}\n\n`,
      { append: true },
    );
  } catch {
    where = "(could not write a log file)";
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(
    `error: internal error — ${oneLine(message).slice(0, 300)}; full trace in ${where} ` +
      `(please report it with that file)`,
  );
  return 1;
}

function oneLine(text: string): string {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).join(" ");
}

function existsDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

export { setupBackend };

if (import.meta.main) {
  // Errors that escape every await (a rejected promise nobody awaited): the same one line.
  const escaped = (event: Event & { reason?: unknown; error?: unknown }) => {
    event.preventDefault();
    Deno.exit(reportError(event.reason ?? event.error));
  };
  globalThis.addEventListener("unhandledrejection", escaped);
  globalThis.addEventListener("error", escaped);
  Deno.exit(await main(Deno.args));
}
