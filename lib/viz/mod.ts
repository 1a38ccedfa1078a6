export * from "./png.ts";
export * from "./chart.ts";
export * from "./notebook.ts";
export * from "./points.ts";
