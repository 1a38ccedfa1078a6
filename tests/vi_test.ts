/**
 * The variational-inference toy: both gradient estimators are unbiased for a Gaussian target whose
 * ELBO gradient is closed form, the reparameterized one has lower variance; the quadrature KL
 * matches the Gaussian closed form; fitting reaches the mean-field optimum.
 */
import assert from "node:assert/strict";
import {
  elboGradientSamples,
  fitGaussianVi,
  gaussianElboGradient,
  gaussianTarget,
  klByQuadrature,
  meanAndVariance,
} from "../lib/models/vi/toy.ts";
import { Rng } from "../lib/util/rng.ts";

const target = gaussianTarget([1, -0.5], [[1, 0.6], [0.6, 0.8]]);
const params = { mean: [0.2, 0.4] as [number, number], logStd: [-0.3, 0.2] as [number, number] };

Deno.test("VI: REINFORCE (±baseline) and reparameterization are unbiased; reparam has lower variance", () => {
  const exact = gaussianElboGradient(target, params);
  const S = 200_000;
  const variances: Record<string, number> = {};
  for (const estimator of ["reinforce", "reinforce-baseline", "reparameterization"] as const) {
    const rows = elboGradientSamples(target, params, estimator, S, new Rng(1));
    const { mean, variance } = meanAndVariance(rows);
    variances[estimator] = variance;
    for (let i = 0; i < 4; i++) {
      const colVar = rows.reduce((s, r) => s + (r[i] - mean[i]) ** 2, 0) / (S - 1);
      const se = Math.sqrt(colVar / S);
      assert.ok(
        Math.abs(mean[i] - exact[i]) < 5 * se + 1e-9,
        `${estimator} coord ${i}: ${mean[i]} vs ${exact[i]} (se ${se})`,
      );
    }
  }
  assert.ok(
    variances["reparameterization"] < variances["reinforce-baseline"],
    JSON.stringify(variances),
  );
  assert.ok(variances["reinforce-baseline"] < variances["reinforce"], JSON.stringify(variances));
});

Deno.test("VI: quadrature KL(q‖p) and log Z match the Gaussian closed forms", () => {
  // KL(N(μq, Σq) ‖ N(m, Σ)) = ½[tr(ΛΣq) + (m−μq)ᵀΛ(m−μq) − 2 + log det Σ − log det Σq].
  const [[p, q], [, r]] = target.precision;
  const s1 = Math.exp(2 * params.logStd[0]), s2 = Math.exp(2 * params.logStd[1]);
  const u = target.mean[0] - params.mean[0], v = target.mean[1] - params.mean[1];
  const detSigma = 1 * 0.8 - 0.36;
  const kl = 0.5 * (p * s1 + r * s2 + (p * u * u + 2 * q * u * v + r * v * v) - 2 +
    Math.log(detSigma) - Math.log(s1 * s2));
  const got = klByQuadrature(target, params, 400);
  assert.ok(Math.abs(got.kl - kl) < 1e-3, `${got.kl} vs ${kl}`);
  // log Z = log(2π √det Σ) + the target's constant 3.7.
  assert.ok(Math.abs(got.logZ - (Math.log(2 * Math.PI * Math.sqrt(detSigma)) + 3.7)) < 1e-4);
});

Deno.test("VI: reparameterized fit reaches the mean-field optimum (KL = −½ log(1 − ρ²))", () => {
  const fit = fitGaussianVi({
    target,
    estimator: "reparameterization",
    steps: 3000,
    samplesPerStep: 16,
    learningRate: 0.01,
    seed: 2,
  });
  const rho2 = 0.36 / 0.8;
  const optimum = -0.5 * Math.log(1 - rho2);
  assert.ok(
    fit.finalKl > optimum - 1e-3 && fit.finalKl < optimum + 0.02,
    `${fit.finalKl} vs ${optimum}`,
  );
  assert.ok(Math.abs(fit.params.mean[0] - 1) < 0.1 && Math.abs(fit.params.mean[1] + 0.5) < 0.1);
});
