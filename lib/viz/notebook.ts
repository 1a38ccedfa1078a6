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

/** Show a vega-lite chart inline as a static PNG (vega-lite MIME output is also attached, so
 * JupyterLab renders it interactively; the PNG keeps text visible everywhere else). */
export async function showChart(spec: VegaLiteSpec): Promise<void> {
  const { png } = await renderChart(spec);
  if (!jupyter) {
    console.log(`(chart: ${png.length} bytes of PNG)`);
    return;
  }
  await jupyter.display({
    "image/png": btoa(String.fromCharCode(...png)),
    "application/vnd.vegalite.v5+json": spec,
  }, { raw: true });
}
