/**
 * The one chart renderer: vega-lite spec → SVG (vega, headless) → PNG (resvg).
 *
 * resvg draws no text at all unless it is given font files, so the DejaVu fonts from Debian's
 * `fonts-dejavu-core` are passed explicitly (NOTES.md "Charts and images").
 */
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { Resvg } from "@resvg/resvg-js";

export type VegaLiteSpec = vegaLite.TopLevelSpec;

export const FONT_DIR = "/usr/share/fonts/truetype/dejavu";
const FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"];

export async function chartSvg(spec: VegaLiteSpec): Promise<string> {
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export function svgToPng(svg: string, scale = 2): Uint8Array {
  const fontFiles = FONT_FILES.map((f) => `${FONT_DIR}/${f}`);
  for (const file of fontFiles) {
    try {
      Deno.statSync(file);
    } catch {
      throw new Error(
        `font ${file} missing (chart text would be invisible): run 'sudo apt-get install fonts-dejavu-core'`,
      );
    }
  }
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "white",
    font: { fontFiles, loadSystemFonts: false, defaultFontFamily: "DejaVu Sans" },
  });
  return resvg.render().asPng();
}

export async function renderChart(spec: VegaLiteSpec): Promise<{ svg: string; png: Uint8Array }> {
  const svg = await chartSvg(spec);
  return { svg, png: svgToPng(svg) };
}

/** Loss curves: one line per loss key, x = step. */
export function lossChartSpec(
  rows: Array<Record<string, number>>,
  options: { title?: string; keys?: string[]; width?: number; height?: number } = {},
): VegaLiteSpec {
  const keys = options.keys ??
    [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) =>
      !["step", "time", "epoch"].includes(k)
    );
  const values = rows.flatMap((r) =>
    keys.filter((k) => Number.isFinite(r[k])).map((k) => ({ step: r.step, loss: k, value: r[k] }))
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: options.title ?? "training losses",
    width: options.width ?? 480,
    height: options.height ?? 240,
    data: { values },
    mark: { type: "line", strokeWidth: 1.5 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step" },
      y: { field: "value", type: "quantitative", title: "loss" },
      color: { field: "loss", type: "nominal", title: null },
    },
  };
}

/** A GAN's two stories over steps, stacked: the losses (keys ending in "loss"), and what D says
 * about real and generated samples (d_real = mean D(x), d_fake = mean D(G(z)); or a WGAN's
 * w_estimate). At the equilibrium D(x) = D(G(z)) = ½. */
export function ganChartSpec(
  rows: Array<Record<string, number>>,
  options: { title?: string; width?: number } = {},
): VegaLiteSpec {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const lossKeys = keys.filter((k) => k.endsWith("loss"));
  const outputKeys = keys.filter((k) => ["d_real", "d_fake", "w_estimate"].includes(k));
  const panel = (panelKeys: string[], title: string) => {
    const spec = lossChartSpec(rows, { keys: panelKeys, width: options.width ?? 480, height: 160 });
    const { $schema: _schema, ...rest } = spec as unknown as Record<string, unknown>;
    return {
      ...rest,
      title,
      encoding: {
        ...(rest.encoding as Record<string, unknown>),
        y: { field: "value", type: "quantitative", title },
      },
    };
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: options.title ?? "GAN training",
    vconcat: [
      panel(lossKeys, "losses"),
      panel(
        outputKeys,
        outputKeys.includes("w_estimate") ? "critic's W₁ estimate" : "D(x) and D(G(z))",
      ),
    ],
    resolve: { scale: { color: "independent" } },
  } as VegaLiteSpec;
}
