/**
 * The variational-inference toy (issue item 6) as a committed result: fit a diagonal Gaussian to a
 * correlated Gaussian and to a banana posterior with REINFORCE, REINFORCE + leave-one-out baseline
 * and reparameterization; record gradient variance over training, final KL(q‖p) by quadrature,
 * and the three estimators' variance at the same fitted q.
 *
 *   deno run -A experiments/vi_toy.ts [--out results/vi-toy] [--steps 3000] [--seed 1]
 */
import { parseArgs } from "node:util";
import {
  bananaTarget,
  elboGradientSamples,
  ESTIMATORS,
  fitGaussianVi,
  gaussianTarget,
  gitCommit,
  meanAndVariance,
  renderChart,
  Rng,
  type Target2D,
  writeFileAtomic,
  writeJsonAtomic,
} from "../mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    out: { type: "string", default: "results/vi-toy" },
    steps: { type: "string", default: "3000" },
    seed: { type: "string", default: "1" },
  },
});
const steps = Number(values.steps), seed = Number(values.seed), out = values.out!;
const started = performance.now();
const targets: Target2D[] = [gaussianTarget([1, -0.5], [[1, 0.6], [0.6, 0.8]]), bananaTarget()];
const results: Record<string, unknown>[] = [];
const varianceRows: Record<string, unknown>[] = [];
const klRows: Record<string, unknown>[] = [];
for (const target of targets) {
  const fits = Object.fromEntries(ESTIMATORS.map((estimator) => [
    estimator,
    fitGaussianVi({
      target,
      estimator,
      steps,
      samplesPerStep: 8,
      learningRate: 0.02,
      seed,
      klEvery: Math.max(1, Math.floor(steps / 60)),
    }),
  ]));
  const sameQ = fits["reparameterization"].params;
  for (const estimator of ESTIMATORS) {
    const fit = fits[estimator];
    const measured = fit.history.filter((h) => h.gradVariance !== undefined);
    const sorted = measured.map((h) => h.gradVariance!).sort((a, b) => a - b);
    results.push({
      target: target.name,
      estimator,
      final_kl: Number(fit.finalKl.toFixed(4)),
      median_grad_variance_over_training: Number(sorted[Math.floor(sorted.length / 2)].toFixed(3)),
      grad_variance_at_reparam_fit: Number(
        meanAndVariance(elboGradientSamples(target, sameQ, estimator, 20_000, new Rng(7))).variance
          .toFixed(3),
      ),
      mean: fit.params.mean.map((v) => Number(v.toFixed(3))),
      std: fit.params.logStd.map((v) => Number(Math.exp(v).toFixed(3))),
    });
    for (const h of measured) {
      varianceRows.push({ target: target.name, estimator, step: h.step, variance: h.gradVariance });
    }
    for (const h of fit.history.filter((h) => h.kl !== undefined)) {
      klRows.push({ target: target.name, estimator, step: h.step, kl: h.kl });
    }
  }
}
const chart = (title: string, rows: Record<string, unknown>[], field: string) => ({
  $schema: "https://vega.github.io/schema/vega-lite/v5.json" as const,
  title,
  data: { values: rows },
  facet: { column: { field: "target", type: "nominal" as const } },
  spec: {
    width: 320,
    height: 220,
    mark: { type: "line" as const, strokeWidth: 1.2 },
    encoding: {
      x: { field: "step", type: "quantitative" as const },
      y: { field, type: "quantitative" as const, scale: { type: "log" as const } },
      color: { field: "estimator", type: "nominal" as const },
    },
  },
});
await Deno.mkdir(out, { recursive: true });
for (
  const [name, spec] of [
    [
      "grad-variance",
      chart("variance of the single-sample ELBO gradient", varianceRows, "variance"),
    ],
    ["kl", chart("KL(q ‖ p) by quadrature during training", klRows, "kl")],
  ] as const
) {
  // deno-lint-ignore no-explicit-any
  const { png } = await renderChart(spec as any);
  await writeFileAtomic(`${out}/${name}.png`, png);
}
const record = {
  steps,
  samples_per_step: 8,
  learning_rate: 0.02,
  seed,
  mean_field_optimum_gaussian_kl: Number((-0.5 * Math.log(1 - 0.36 / 0.8)).toFixed(4)),
  results,
  wall_seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  commit: gitCommit(),
  command: ["deno run -A experiments/vi_toy.ts", ...Deno.args].join(" "),
};
await writeJsonAtomic(`${out}/results.json`, record);
console.table(results.map((r) => ({ ...r, mean: String(r.mean), std: String(r.std) })));
console.log(`${record.wall_seconds} s → ${out}`);
