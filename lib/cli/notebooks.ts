/**
 * `deno task notebooks [names…] [--quick] [--inplace] [--backend webgpu]`: execute
 * notebooks/*.ipynb headless with the Deno kernel, after type-checking their code (the kernel
 * itself does not type-check, so a type error would otherwise pass silently).
 *
 * Executed copies go to runs/notebooks/ (or back into notebooks/ with --inplace). --quick sets
 * GENLAB_QUICK=1 in the kernel: notebooks then train for a few steps only (tests use it).
 * --backend sets GENLAB_BACKEND, which every notebook's first cell (setupNotebook) reads.
 */
import { Command, CommanderError } from "commander";
import { fileURLToPath } from "node:url";
import { BACKEND_NAMES, isBackendName } from "../backend/mod.ts";

const root = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** Where the project-local kernelspec lives: use it as JUPYTER_PATH. */
export const JUPYTER_PATH = `${root}/.cache/jupyter`;

/** A project-local kernelspec named "deno" pointing at this checkout's deno, under
 * `<dataDir>/kernels/deno` (default: .cache/jupyter, so no ~/.local writes are needed; Jupyter
 * finds it through JUPYTER_PATH). Returns the data dir. */
export async function writeKernelSpec(dataDir = JUPYTER_PATH): Promise<string> {
  const dir = `${dataDir}/kernels/deno`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/kernel.json`,
    JSON.stringify({
      argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
      display_name: "Deno",
      language: "typescript",
    }),
  );
  return dataDir;
}

/** Concatenate a notebook's code cells into one module and `deno check` it. */
async function typeCheck(notebookPath: string, name: string): Promise<string | null> {
  const nb = JSON.parse(await Deno.readTextFile(notebookPath));
  const cells = (nb.cells as Array<{ cell_type: string; source: string | string[] }>)
    .filter((c) => c.cell_type === "code")
    .map((c, i) => `// --- cell ${i}\n${Array.isArray(c.source) ? c.source.join("") : c.source}`);
  const dir = `${root}/.nbcheck`;
  await Deno.mkdir(dir, { recursive: true });
  const file = `${dir}/${name}.ts`;
  // Same depth as notebooks/, so relative imports like "../lib/mod.ts" resolve identically.
  await Deno.writeTextFile(file, cells.join("\n\n") + "\nexport {};\n");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", file],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return null;
  return new TextDecoder().decode(out.stderr).trim();
}

async function main(args: string[]): Promise<number> {
  const program = new Command("notebooks")
    .description("execute notebooks/*.ipynb headless with the Deno kernel")
    .argument("[names...]", "notebook names (default: all)")
    .option("--quick", "set GENLAB_QUICK=1: short training, for tests and CI")
    .option("--inplace", "write outputs back into notebooks/ instead of runs/notebooks/")
    .option("--timeout <seconds>", "per-cell timeout", "1800")
    .option(
      "--backend <name>",
      `tfjs backend of the notebooks (sets GENLAB_BACKEND): ${BACKEND_NAMES.join(", ")}`,
    )
    .exitOverride();
  try {
    program.parse(args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  const options = program.opts<
    { quick?: boolean; inplace?: boolean; timeout: string; backend?: string }
  >();
  if (options.backend !== undefined && !isBackendName(options.backend)) {
    console.error(
      `error: unknown backend '${options.backend}': use one of ${BACKEND_NAMES.join(", ")}`,
    );
    return 2;
  }
  const all: string[] = [];
  for await (const entry of Deno.readDir(`${root}/notebooks`)) {
    if (entry.name.endsWith(".ipynb")) all.push(entry.name.replace(/\.ipynb$/, ""));
  }
  all.sort();
  const names = program.args.length ? program.args.map((n) => n.replace(/\.ipynb$/, "")) : all;
  for (const name of names) {
    if (!all.includes(name)) {
      console.error(`error: no notebook '${name}' in notebooks/: choose from ${all.join(", ")}`);
      return 2;
    }
  }
  const python = "/usr/bin/python3";
  try {
    Deno.statSync(python);
  } catch {
    console.error("error: /usr/bin/python3 not found: run 'sudo apt-get install python3-nbclient'");
    return 2;
  }
  const jupyterPath = await writeKernelSpec();
  const outDir = options.inplace ? `${root}/notebooks` : `${root}/runs/notebooks`;
  await Deno.mkdir(outDir, { recursive: true });
  let failures = 0;
  for (const name of names) {
    const input = `${root}/notebooks/${name}.ipynb`;
    const typeErrors = await typeCheck(input, name);
    if (typeErrors) {
      console.error(`✗ ${name}: type errors\n${typeErrors}`);
      failures++;
      continue;
    }
    const started = performance.now();
    const mode = [options.quick ? "quick" : "", options.backend ? `backend ${options.backend}` : ""]
      .filter((s) => s !== "").join(", ");
    console.error(`▶ ${name}${mode ? ` (${mode})` : ""}`);
    const result = await new Deno.Command(python, {
      args: [
        `${root}/lib/cli/notebook_runner.py`,
        input,
        `${outDir}/${name}.ipynb`,
        "--timeout",
        options.timeout,
      ],
      cwd: `${root}/notebooks`,
      env: {
        JUPYTER_PATH: jupyterPath,
        NO_COLOR: "1",
        GENLAB_QUICK: options.quick ? "1" : "0",
        ...(options.backend ? { GENLAB_BACKEND: options.backend } : {}),
        XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp",
      },
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (result.success) console.error(`✓ ${name} (${seconds} s) → ${outDir}/${name}.ipynb`);
    else {
      console.error(`✗ ${name} failed after ${seconds} s (exit ${result.code})`);
      failures++;
    }
  }
  return failures ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
