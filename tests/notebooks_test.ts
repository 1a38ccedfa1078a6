/**
 * Every notebook executes headless (quick mode) with the Deno kernel and type-checks; the DCGAN
 * notebook (training, sampling, image grids, charts) also runs on the webgpu backend — Mesa's
 * llvmpipe software adapter when there is no GPU; ignored, with the reason, when WebGPU has no
 * adapter at all.
 */
import assert from "node:assert/strict";
import { probeWebgpu } from "../lib/backend/webgpu.ts";
import { UserInputError } from "../lib/util/errors.ts";
import { setupNotebook } from "../lib/viz/notebook.ts";

async function runNotebooks(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/notebooks.ts", "--quick", ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, log);
  assert.doesNotMatch(log, /✗/);
  return log;
}

Deno.test("setupNotebook: GENLAB_BACKEND wins over the notebook's default; a bad name is one line", async () => {
  const saved = Deno.env.get("GENLAB_BACKEND");
  try {
    Deno.env.delete("GENLAB_BACKEND");
    assert.equal((await setupNotebook({ backend: "cpu" })).backend.name, "cpu");
    Deno.env.set("GENLAB_BACKEND", "wasm");
    assert.equal((await setupNotebook({ backend: "cpu" })).backend.name, "wasm");
    Deno.env.set("GENLAB_BACKEND", "gpu");
    await assert.rejects(
      () => setupNotebook(),
      (e) =>
        e instanceof UserInputError &&
        /GENLAB_BACKEND='gpu'.*use one of auto, webgpu/.test(e.message),
    );
  } finally {
    if (saved === undefined) Deno.env.delete("GENLAB_BACKEND");
    else Deno.env.set("GENLAB_BACKEND", saved);
  }
});

interface NotebookCell {
  cell_type: string;
  source: string | string[];
  outputs?: Array<{ data?: Record<string, unknown>; text?: string | string[] }>;
}

async function readNotebook(path: string): Promise<{ cells: NotebookCell[] }> {
  return JSON.parse(await Deno.readTextFile(path));
}

/** The display helpers (lib/viz/notebook.ts) are async: a call without `await` shows nothing, or
 * "Promise { … }" when it ends a cell — how the committed ddim notebook lost its image grids. */
const UNAWAITED_DISPLAY = /(?<![\w.])(?<!await )(showImages|showPng|showChart)\(/;

Deno.test("notebooks: every showImages / showPng / showChart call is awaited", async () => {
  const offenders: string[] = [];
  for await (const entry of Deno.readDir("notebooks")) {
    if (!entry.name.endsWith(".ipynb")) continue;
    const notebook = await readNotebook(`notebooks/${entry.name}`);
    notebook.cells.forEach((cell, i) => {
      if (cell.cell_type !== "code") return;
      for (const line of [cell.source].flat().join("").split("\n")) {
        if (UNAWAITED_DISPLAY.test(line)) offenders.push(`${entry.name} cell ${i}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(offenders, []);
  assert.ok(
    UNAWAITED_DISPLAY.test("showImages(x);") && !UNAWAITED_DISPLAY.test("await showImages(x);"),
  );
});

Deno.test("notebooks: all execute headless in quick mode; no output is an un-awaited Promise", async () => {
  await runNotebooks([]);
  for await (const entry of Deno.readDir("runs/notebooks")) {
    if (!entry.name.endsWith(".ipynb")) continue;
    const executed = await readNotebook(`runs/notebooks/${entry.name}`);
    executed.cells.forEach((cell, i) => {
      for (const output of cell.outputs ?? []) {
        const text = [output.data?.["text/plain"] ?? output.text ?? ""].flat().join("");
        assert.doesNotMatch(text, /Promise \{/, `${entry.name} cell ${i} displayed a Promise`);
      }
    });
  }
});

const webgpu = await probeWebgpu();
if (!webgpu.ok) console.log(`notebooks_test: webgpu notebook ignored: ${webgpu.reason}`);

Deno.test({
  name: "notebooks: the DCGAN notebook runs on the webgpu backend (GENLAB_BACKEND=webgpu)",
  ignore: !webgpu.ok,
  fn: async () => {
    const log = await runNotebooks(["dcgan", "--backend", "webgpu"]);
    assert.match(log, /▶ dcgan \(quick, backend webgpu\)/);
    const executed = JSON.parse(await Deno.readTextFile("runs/notebooks/dcgan.ipynb"));
    const outputs = executed.cells.flatMap((c: { outputs?: unknown[] }) => c.outputs ?? []);
    const text = outputs
      .filter((o: { output_type: string }) => o.output_type === "stream")
      .map((o: { text: string | string[] }) => [o.text].flat().join(""))
      .join("");
    assert.match(text, /backend: webgpu, .*\(GENLAB_BACKEND\)/, "the notebook ran on webgpu");
    const images = outputs.filter((o: { data?: Record<string, unknown> }) =>
      o.data?.["image/png"] !== undefined
    );
    assert.ok(images.length >= 3, `${images.length} images (data grid, loss chart, samples)`);
    assert.match(text, /tensors still alive: 0/);
  },
});
