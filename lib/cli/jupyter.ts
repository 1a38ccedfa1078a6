/**
 * `deno task jupyter [--port 8888] [--browser] [--backend webgpu]`: open the notebooks in Jupyter
 * with the project's Deno kernel, in one command.
 *
 * 1. Writes the kernelspec "deno" (this checkout's deno, `deno jupyter --kernel`) into the
 *    project-local Jupyter dir .cache/jupyter (shared with `deno task notebooks`), found through
 *    JUPYTER_PATH — nothing is written outside the project unless `--install-user` is given.
 * 2. Starts the Jupyter Notebook server of Debian's `jupyter-notebook` package (installed by
 *    `deno task setup`) on 127.0.0.1 with notebooks/ as its root; its runtime files (connection
 *    files, cookie secret), config dir and notebook trust database all live under .cache/jupyter.
 * 3. Waits until the server answers, prints the URL with its token, and on Ctrl-C (or SIGTERM)
 *    stops the server, which shuts down its kernels.
 *
 * The printed URL also works as an "existing Jupyter server" in VS Code. `--kernelspec-only`
 * writes the kernelspec and prints the JUPYTER_PATH to export for `jupyter-execute
 * --kernel_name=deno` and other Jupyter tools; `--install-user` registers the kernel for the
 * current user instead (`jupyter --data-dir`), for frontends that do not see JUPYTER_PATH.
 */
import { Command, CommanderError } from "commander";
import { fileURLToPath } from "node:url";
import { BACKEND_NAMES, isBackendName } from "../backend/mod.ts";
import { writeKernelSpec } from "./notebooks.ts";

const root = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** The Debian package's server (Jupyter Notebook 6: REST API, kernels and the browser UI). */
export const JUPYTER_NOTEBOOK = "/usr/bin/jupyter-notebook";
const INSTALL_HINT = "run 'deno task setup' or 'sudo apt-get install jupyter-notebook'";

/** How long the server may take to answer its first request (it starts in ≈1-3 s). */
const START_TIMEOUT_MS = 60_000;
/** How long a stopping server may take to shut down its kernels before it is killed. */
const STOP_TIMEOUT_MS = 15_000;

interface JupyterFlags {
  port?: string;
  ip: string;
  browser?: boolean;
  backend?: string;
  installUser?: boolean;
  kernelspecOnly?: boolean;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether nothing listens on ip:port. */
function portIsFree(ip: string, port: number): boolean {
  try {
    Deno.listen({ hostname: ip, port }).close();
    return true;
  } catch {
    return false;
  }
}

/** The first free port from `start` (Jupyter's default 8888 when there is one). */
function freePort(ip: string, start: number): number {
  for (let port = start; port < start + 100; port++) if (portIsFree(ip, port)) return port;
  // Let the OS choose.
  const listener = Deno.listen({ hostname: ip, port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `jupyter --data-dir`: where Jupyter looks for the current user's kernelspecs. */
async function userDataDir(): Promise<string> {
  const out = await new Deno.Command("/usr/bin/jupyter", {
    args: ["--data-dir"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dir = new TextDecoder().decode(out.stdout).trim();
  if (!out.success || !dir.startsWith("/")) {
    throw new Error(`'jupyter --data-dir' failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return dir;
}

/** Poll the REST API until the server answers (or the process exits). */
async function waitUntilReady(
  url: string,
  token: string,
  exited: Promise<Deno.CommandStatus>,
): Promise<boolean> {
  let done = false;
  exited.then(() => (done = true));
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (!done && performance.now() < deadline) {
    try {
      const res = await fetch(`${url}api/status`, { headers: { Authorization: `token ${token}` } });
      await res.body?.cancel();
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

export async function main(args: string[]): Promise<number> {
  const program = new Command("jupyter")
    .description(
      "serve notebooks/ in Jupyter with the project's Deno kernel (Ctrl-C stops the server)",
    )
    .option("--port <port>", "port to listen on (default: 8888, or the next free one)")
    .option("--ip <address>", "address to listen on", "127.0.0.1")
    .option("--browser", "open a web browser (default: just print the URL)")
    .option(
      "--backend <name>",
      `tfjs backend of the notebooks (sets GENLAB_BACKEND): ${BACKEND_NAMES.join(", ")}`,
    )
    .option(
      "--kernelspec-only",
      "only write the project-local kernelspec and print the JUPYTER_PATH to export",
    )
    .option(
      "--install-user",
      "also register the Deno kernel for the current user (jupyter --data-dir), then exit",
    )
    .exitOverride();
  try {
    program.parse(args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  const flags = program.opts<JupyterFlags>();
  if (flags.backend !== undefined && !isBackendName(flags.backend)) {
    console.error(
      `error: unknown backend '${flags.backend}': use one of ${BACKEND_NAMES.join(", ")}`,
    );
    return 2;
  }
  let port: number | undefined;
  if (flags.port !== undefined) {
    port = Number(flags.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      console.error(`error: --port must be an integer in 1..65535, got '${flags.port}'`);
      return 2;
    }
  }

  const jupyterPath = await writeKernelSpec();
  if (flags.kernelspecOnly) {
    console.log(`export JUPYTER_PATH=${jupyterPath}`);
    console.error(
      `kernelspec 'deno' written to ${jupyterPath}/kernels/deno; with JUPYTER_PATH exported, ` +
        "e.g. jupyter-execute --kernel_name=deno notebooks/dcgan.ipynb",
    );
    return 0;
  }
  if (flags.installUser) {
    if (!exists("/usr/bin/jupyter")) {
      console.error(`error: Jupyter is not installed: ${INSTALL_HINT}`);
      return 2;
    }
    const dataDir = await userDataDir();
    await writeKernelSpec(dataDir);
    console.log(`kernelspec 'deno' (${Deno.execPath()}) installed in ${dataDir}/kernels/deno`);
    return 0;
  }
  if (!exists(JUPYTER_NOTEBOOK)) {
    console.error(`error: ${JUPYTER_NOTEBOOK} not found: ${INSTALL_HINT}`);
    return 2;
  }
  if (port === undefined) port = freePort(flags.ip, 8888);
  else if (!portIsFree(flags.ip, port)) {
    console.error(`error: port ${port} on ${flags.ip} is in use: pick another with --port`);
    return 2;
  }

  const token = randomToken();
  const runtimeDir = `${jupyterPath}/runtime`;
  const dataDir = `${jupyterPath}/data`;
  await Deno.mkdir(runtimeDir, { recursive: true });
  await Deno.mkdir(dataDir, { recursive: true });
  const inherited = Deno.env.get("JUPYTER_PATH");
  const env: Record<string, string> = {
    JUPYTER_PATH: inherited ? `${jupyterPath}:${inherited}` : jupyterPath,
    JUPYTER_RUNTIME_DIR: runtimeDir,
    // Project-local config dir: Jupyter writes a `migrated` marker there on start (the command
    // line above carries every setting this server needs; ~/.jupyter is not read).
    JUPYTER_CONFIG_DIR: `${jupyterPath}/config`,
    // Listing the python3 kernelspec imports ipykernel, whose debugger prints a warning otherwise.
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
    NO_COLOR: "1",
    ...(flags.backend ? { GENLAB_BACKEND: flags.backend } : {}),
  };
  // The server runs as /usr/bin/jupyter-notebook does, except that it ignores SIGHUP: when the
  // terminal closes, this process (which listens for SIGHUP) stops it with SIGTERM, so it shuts
  // its kernels down instead of dying and leaving them running.
  const launcher = "import signal, sys; signal.signal(signal.SIGHUP, signal.SIG_IGN); " +
    "from notebook.notebookapp import main; sys.argv[0] = 'jupyter-notebook'; sys.exit(main())";
  const server = new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      launcher,
      `--ip=${flags.ip}`,
      `--port=${port}`,
      "--port-retries=0",
      `--notebook-dir=${root}/notebooks`,
      `--NotebookApp.token=${token}`,
      `--NotebookNotary.data_dir=${dataDir}`,
      ...(flags.browser ? [] : ["--no-browser"]),
      // Containers and CI machines often run as root, which the server refuses by default.
      ...(Deno.uid() === 0 ? ["--allow-root"] : []),
    ],
    cwd: `${root}/notebooks`,
    env,
    // stdin not a terminal: the server then stops on the first SIGINT instead of asking to confirm.
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();

  // Stopping. A Ctrl-C in a terminal reaches the whole foreground process group, so the server
  // got the SIGINT too and is already shutting its kernels down; a second signal from here would
  // cut that short (and leave kernels behind). So on SIGINT the server gets a grace period to
  // exit by itself (longer than jupyter_client's 5 s wait for a busy kernel when there is a
  // terminal) before it is sent SIGTERM, and SIGKILL as the last resort.
  let stopping = false;
  const signalServer = (signal: Deno.Signal) => {
    try {
      server.kill(signal);
    } catch {
      // already gone
    }
  };
  const later = (ms: number, fn: () => void) => Deno.unrefTimer(setTimeout(fn, ms));
  const stop = (signal: "SIGINT" | "SIGTERM" | "SIGHUP") => {
    if (stopping) return;
    stopping = true;
    console.error("jupyter: stopping the server (and its kernels)…");
    const grace = signal !== "SIGINT" ? 0 : Deno.stdin.isTerminal() ? 8_000 : 1_000;
    if (grace === 0) signalServer("SIGTERM");
    else later(grace, () => signalServer("SIGTERM"));
    later(grace + STOP_TIMEOUT_MS, () => signalServer("SIGKILL"));
  };
  const listeners = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((signal) => {
    const listener = () => stop(signal);
    Deno.addSignalListener(signal, listener);
    return () => Deno.removeSignalListener(signal, listener);
  });

  const url = `http://${flags.ip.includes(":") ? `[${flags.ip}]` : flags.ip}:${port}/`;
  const ready = await waitUntilReady(url, token, server.status);
  if (!ready && !stopping) {
    const exited = await Promise.race([server.status, Promise.resolve(null)]);
    stop("SIGTERM");
    await server.status;
    console.error(
      exited
        ? `error: the Jupyter server exited at start (code ${exited.code}; its log is above)`
        : `error: the Jupyter server did not answer on ${url} within ` +
          `${START_TIMEOUT_MS / 1000} s (its log is above)`,
    );
    return 1;
  }
  if (ready && !stopping) {
    console.log(`\ngenlab notebooks: ${url}tree?token=${token}`);
    console.log(
      `  kernel "Deno" from ${jupyterPath}/kernels/deno; notebooks in ${root}/notebooks` +
        (flags.backend ? `; GENLAB_BACKEND=${flags.backend}` : ""),
    );
    console.log(
      "  VS Code: 'Jupyter: Select Kernel' → 'Existing Jupyter Server', paste the URL above",
    );
    console.log("  Ctrl-C stops the server\n");
  }
  const status = await server.status;
  listeners.forEach((remove) => remove());
  if (stopping) {
    console.error("jupyter: server stopped");
    return 0;
  }
  console.error(`error: the Jupyter server exited unexpectedly (code ${status.code})`);
  return 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
