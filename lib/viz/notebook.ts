/**
 * Inline display in Deno Jupyter notebooks. Outside a notebook these print a short note instead.
 */
import type * as tf from "@tensorflow/tfjs";
import { type GridOptions, imageGridPng } from "./png.ts";
import { renderChart, type VegaLiteSpec } from "./chart.ts";

interface JupyterApi {
  display(data: Record<string, unknown>, options?: { raw?: boolean }): Promise<void>;
  image(bytes: Uint8Array): unknown;
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

/** Show an image grid inline (returns the displayable object; the last expression of a cell). */
export function showImages(images: tf.Tensor4D, options: GridOptions = {}): unknown {
  const png = imageGridPng(images, options);
  if (!jupyter) return `(image grid: ${png.length} bytes of PNG)`;
  return jupyter.image(png);
}

/** Show PNG bytes inline (e.g. a run's samples/film.png). */
export function showPng(png: Uint8Array): unknown {
  if (!jupyter) return `(image: ${png.length} bytes of PNG)`;
  return jupyter.image(png);
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
