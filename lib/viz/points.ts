/**
 * 2-D point plots for the toy datasets: generated points over the real density (one frame), and a
 * film strip of frames over training steps (how G's points move onto — or miss — the modes).
 */
import type { VegaLiteSpec } from "./chart.ts";

export interface PointFrame {
  step: number;
  /** Generated points, flat [x0, y0, x1, y1, …]. */
  points: ArrayLike<number>;
}

function rows(points: ArrayLike<number>, source: string, extra: Record<string, unknown> = {}) {
  const out = [];
  for (let i = 0; i + 1 < points.length; i += 2) {
    out.push({ x: points[i], y: points[i + 1], source, ...extra });
  }
  return out;
}

const DOMAIN: [number, number] = [-3, 3];

function layer(real: ArrayLike<number>, frame: PointFrame, size: number, title: string) {
  return {
    title,
    width: size,
    height: size,
    data: { values: [...rows(real, "real"), ...rows(frame.points, "generated")] },
    mark: { type: "circle" as const, size: 6, opacity: 0.5 },
    encoding: {
      x: { field: "x", type: "quantitative" as const, scale: { domain: DOMAIN, clamp: true } },
      y: { field: "y", type: "quantitative" as const, scale: { domain: DOMAIN, clamp: true } },
      color: {
        field: "source",
        type: "nominal" as const,
        scale: { domain: ["real", "generated"], range: ["#bbbbbb", "#d62728"] },
        title: null,
      },
    },
  };
}

/** Generated points (red) over real samples (grey), axes fixed to [−3, 3]². */
export function scatterSpec(
  real: ArrayLike<number>,
  frame: PointFrame,
  options: { title?: string; size?: number } = {},
): VegaLiteSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    ...layer(real, frame, options.size ?? 300, options.title ?? `step ${frame.step}`),
  } as VegaLiteSpec;
}

/** One scatter per frame, side by side (the "density film strip"). */
export function filmStripSpec(
  real: ArrayLike<number>,
  frames: PointFrame[],
  options: { title?: string; size?: number } = {},
): VegaLiteSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: options.title ?? "generated points over the real density",
    hconcat: frames.map((f) => layer(real, f, options.size ?? 160, `step ${f.step}`)),
  } as VegaLiteSpec;
}
