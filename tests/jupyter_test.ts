/**
 * `deno task jupyter`: the server starts on a free loopback port, its REST API lists the project's
 * Deno kernel, a Deno kernel started through the server evaluates 1 + 1, and a SIGINT (Ctrl-C)
 * stops the server together with its kernels. Also: `--kernelspec-only` + JUPYTER_PATH is enough
 * for `jupyter-execute --kernel_name=deno`.
 *
 * Needs Debian's jupyter-notebook (installed by .ci/setup). Without it the tests are ignored with
 * a message — except under CI=true, where they run (and fail) so a broken setup cannot hide.
 */
import assert from "node:assert/strict";
import { JUPYTER_NOTEBOOK } from "../lib/cli/jupyter.ts";
import { tempDir } from "./helpers.ts";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const installed = exists(JUPYTER_NOTEBOOK);
const ignore = !installed && Deno.env.get("CI") !== "true";
if (ignore) {
  console.log(
    `jupyter_test: ignored: ${JUPYTER_NOTEBOOK} is missing (apt-get install jupyter-notebook, ` +
      "or 'deno task setup'); under CI=true these tests run regardless",
  );
}

const decoder = new TextDecoder();
const stripAnsi = (s: string) =>
  s.replace(new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g"), "");

function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Resolves with the first `pattern` match in the stream's text; keeps collecting after that. */
function watch(stream: ReadableStream<Uint8Array>, pattern: RegExp) {
  let text = "";
  const { promise: match, resolve: found } = Promise.withResolvers<RegExpMatchArray>();
  const done = (async () => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      const m = text.match(pattern);
      if (m) found(m);
    }
  })();
  return { match, done, text: () => text };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Run `code` on a kernel through the server's websocket channel; returns the text/plain result. */
async function execute(base: string, token: string, kernelId: string, code: string) {
  const ws = new WebSocket(
    `${base.replace(/^http/, "ws")}api/kernels/${kernelId}/channels?token=${token}`,
  );
  const msgId = crypto.randomUUID();
  try {
    return await withTimeout(
      new Promise<string>((resolve, reject) => {
        ws.onerror = (e) => reject(new Error(`websocket: ${(e as ErrorEvent).message}`));
        ws.onopen = () =>
          ws.send(JSON.stringify({
            header: {
              msg_id: msgId,
              msg_type: "execute_request",
              session: crypto.randomUUID(),
              username: "genlab-test",
              version: "5.3",
              date: new Date().toISOString(),
            },
            parent_header: {},
            metadata: {},
            channel: "shell",
            content: {
              code,
              silent: false,
              store_history: false,
              user_expressions: {},
              allow_stdin: false,
            },
          }));
        ws.onmessage = (event) => {
          const msg = JSON.parse(event.data as string);
          if (msg.parent_header?.msg_id !== msgId) return;
          if (msg.msg_type === "execute_result") resolve(msg.content.data["text/plain"]);
          if (msg.msg_type === "error") {
            reject(new Error(`${msg.content.ename}: ${msg.content.evalue}`));
          }
        };
      }),
      90_000,
      "execute_request",
    );
  } finally {
    ws.close();
    // Let the close handshake finish so the test's resource sanitizer sees no open socket.
    if (ws.readyState !== WebSocket.CLOSED) {
      await new Promise((resolve) => ws.addEventListener("close", resolve, { once: true }));
    }
  }
}

Deno.test({
  name: "jupyter: the server lists the Deno kernel, runs 1 + 1 on it, and stops on Ctrl-C",
  ignore,
  fn: async () => {
    assert.ok(installed, `${JUPYTER_NOTEBOOK} is missing although CI=true: .ci/setup installs it`);
    const port = freeLoopbackPort();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "lib/cli/jupyter.ts", "--port", String(port)],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = watch(
      child.stdout,
      /genlab notebooks: (http:\/\/127\.0\.0\.1:\d+\/)tree\?token=(\w+)/,
    );
    const err = watch(child.stderr, /server stopped/);
    let stopped = false;
    try {
      const [, base, token] = await withTimeout(out.match, 60_000, "server start").catch((e) => {
        throw new Error(`${e.message}\n${out.text()}\n${err.text()}`);
      });
      assert.equal(base, `http://127.0.0.1:${port}/`);
      const auth = { Authorization: `token ${token}` };

      // The token is required.
      const denied = await fetch(`${base}api/kernelspecs`);
      await denied.body?.cancel();
      assert.equal(denied.status, 403);

      const specs = await (await fetch(`${base}api/kernelspecs`, { headers: auth })).json();
      const deno = specs.kernelspecs.deno;
      assert.ok(deno, `no 'deno' kernelspec: ${Object.keys(specs.kernelspecs)}`);
      assert.equal(deno.spec.display_name, "Deno");
      assert.deepEqual(deno.spec.argv.slice(0, 3), [Deno.execPath(), "jupyter", "--kernel"]);

      // notebooks/ is the server's root.
      const contents = await (await fetch(`${base}api/contents`, { headers: auth })).json();
      const names = contents.content.map((e: { name: string }) => e.name);
      assert.ok(names.includes("dcgan.ipynb"), `server root lists ${names}`);

      const started = await fetch(`${base}api/kernels`, {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/json" },
        body: JSON.stringify({ name: "deno" }),
      });
      assert.equal(started.status, 201);
      const kernel = await started.json();
      assert.equal(kernel.name, "deno");
      const result = await execute(base, token, kernel.id, "1 + 1");
      assert.equal(stripAnsi(result).trim(), "2");

      // Ctrl-C: the server stops and shuts the running kernel down with it.
      child.kill("SIGINT");
      const status = await withTimeout(child.status, 30_000, "server stop");
      stopped = true;
      await Promise.all([out.done, err.done]);
      assert.equal(status.code, 0, err.text());
      assert.match(err.text(), /Shutting down 1 kernel/);
      assert.match(err.text(), /server stopped/);
      await assert.rejects(() => fetch(`${base}api`), "the port is closed");
    } finally {
      if (!stopped) {
        try {
          child.kill("SIGTERM");
        } catch {
          // already gone
        }
        await child.status;
        await Promise.all([out.done, err.done]);
      }
    }
  },
});

Deno.test({
  name: "jupyter: --kernelspec-only prints the JUPYTER_PATH that jupyter-execute needs",
  ignore,
  fn: async () => {
    const printed = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "lib/cli/jupyter.ts", "--kernelspec-only"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(printed.code, 0, decoder.decode(printed.stderr));
    const jupyterPath = decoder.decode(printed.stdout).match(/^export JUPYTER_PATH=(.+)$/m)?.[1];
    assert.ok(jupyterPath && exists(`${jupyterPath}/kernels/deno/kernel.json`));

    // A one-cell notebook that writes 1 + 1 to a file: proof that the cell really ran.
    const dir = await tempDir("jupyter-execute");
    try {
      const answer = `${dir}/answer.txt`;
      await Deno.writeTextFile(
        `${dir}/one.ipynb`,
        JSON.stringify({
          nbformat: 4,
          nbformat_minor: 5,
          metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
          cells: [{
            cell_type: "code",
            id: "one",
            metadata: {},
            execution_count: null,
            outputs: [],
            source: `Deno.writeTextFileSync(${JSON.stringify(answer)}, String(1 + 1));`,
          }],
        }),
      );
      const run = await new Deno.Command("/usr/bin/jupyter-execute", {
        args: ["--kernel_name=deno", `${dir}/one.ipynb`],
        env: {
          JUPYTER_PATH: jupyterPath,
          // Keep Jupyter's own files (connection files, config marker) out of the home dir.
          JUPYTER_RUNTIME_DIR: `${dir}/runtime`,
          JUPYTER_CONFIG_DIR: `${dir}/config`,
          NO_COLOR: "1",
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(run.code, 0, decoder.decode(run.stderr));
      assert.equal(await Deno.readTextFile(answer), "2");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
