/**
 * Notebook helpers: the first cell's setup (backend and quick mode from the environment), and
 * inline display in Deno Jupyter notebooks (outside a notebook these print a short note instead).
 */
import type * as tf from "@tensorflow/tfjs";
import {
  BACKEND_NAMES,
  type BackendInfo,
  type BackendName,
  isBackendName,
  setupBackend,
} from "../backend/mod.ts";
import { UserInputError } from "../util/errors.ts";
import { type GridOptions, imageGridPng } from "./png.ts";
import { renderChart, type VegaLiteSpec } from "./chart.ts";

interface JupyterApi {
  display(data: Record<string, unknown>, options?: { raw?: boolean }): Promise<void>;
}

/** `Deno.jupyter` throws on access outside `deno jupyter`, so probe it inside try/catch. */
const jupyter: JupyterApi | undefined = (() => {
  try {
    return (Deno as unknown as { jupyter?: JupyterApi }).jupyter;
  } catch {
    return undefined;
  }
})();

export function inNotebook(): boolean {
  return jupyter !== undefined;
}

export interface NotebookSetup {
  backend: BackendInfo;
  /** GENLAB_QUICK=1: train and evaluate briefly (tests and CI run every notebook this way). */
  quick: boolean;
}

/** The first cell of every notebook: picks the tfjs backend — GENLAB_BACKEND (auto, webgpu,
 * native, wasm, cpu) when set, else the notebook's default — reads quick mode (GENLAB_QUICK=1)
 * and prints both. Every notebook reads tensors with `await data()`, so any backend works.
 * `deno task notebooks --backend webgpu` and `deno task jupyter --backend webgpu` set the
 * variable for the kernel. */
export async function setupNotebook(
  options: { backend?: BackendName } = {},
): Promise<NotebookSetup> {
  const fromEnv = Deno.env.get("GENLAB_BACKEND") || undefined;
  if (fromEnv !== undefined && !isBackendName(fromEnv)) {
    throw new UserInputError(
      `GENLAB_BACKEND='${fromEnv}' is not a backend: use one of ${BACKEND_NAMES.join(", ")}`,
    );
  }
  const backend = await setupBackend({ backend: fromEnv ?? options.backend ?? "auto" });
  const quick = Deno.env.get("GENLAB_QUICK") === "1";
  console.log(
    `backend: ${backend.name}, ${backend.threads} thread(s)` +
      `${fromEnv ? " (GENLAB_BACKEND)" : ""}; quick mode: ${quick}`,
  );
  return { backend, quick };
}

/** Base64 in chunks: `btoa(String.fromCharCode(...bytes))` overflows the call stack past ~125 KB. */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Inline specs larger than this are not attached as vega-lite MIME (the PNG alone is shown), so
 * committed notebooks stay small. */
const MAX_INLINE_SPEC_BYTES = 50_000;

/** Show a vega-lite chart inline as a static PNG. Small specs are also attached as vega-lite MIME
 * output so JupyterLab renders them interactively; the PNG keeps text visible everywhere else. */
export async function showChart(spec: VegaLiteSpec): Promise<void> {
  const { png } = await renderChart(spec);
  if (!jupyter) {
    console.log(`(chart: ${png.length} bytes of PNG)`);
    return;
  }
  const data: Record<string, unknown> = { "image/png": toBase64(png) };
  if (JSON.stringify(spec).length <= MAX_INLINE_SPEC_BYTES) {
    data["application/vnd.vegalite.v5+json"] = spec;
  }
  await jupyter.display(data, { raw: true });
}

/** Show an image grid inline, now: `await showImages(x)` anywhere in a cell, loops included.
 * Displayed as a side effect, not returned: a returned display object only shows when it is a
 * cell's last expression, and an un-awaited Promise shows as "Promise { … }" (tests/notebooks_test.ts
 * checks that every call is awaited). Async because the pixels are read with `await images.data()`
 * (the webgpu backend has no synchronous reads). Does not dispose `images`. */
export async function showImages(images: tf.Tensor4D, options: GridOptions = {}): Promise<void> {
  await showPng(await imageGridPng(images, options), "image grid");
}

/** Show PNG bytes inline, now (e.g. a run's samples/film.png): `await showPng(bytes)`. */
export async function showPng(png: Uint8Array, what = "image"): Promise<void> {
  if (!jupyter) {
    console.log(`(${what}: ${png.length} bytes of PNG)`);
    return;
  }
  await jupyter.display({ "image/png": toBase64(png) }, { raw: true });
}
