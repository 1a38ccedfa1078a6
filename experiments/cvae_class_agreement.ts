/**
 * CVAE class agreement: sample `--per-class` images for every class from a trained run and report
 * how often genlab's feature classifier agrees with the requested class (acceptance: ≥ 90 %).
 *
 *   deno run -A experiments/cvae_class_agreement.ts runs/cvae-mnist [--per-class 100] [--seed 0]
 *
 * Writes <run-dir>/class_agreement.json with provenance.
 */
import { parseArgs } from "node:util";
import {
  classAgreement,
  gitCommit,
  loadFeatureExtractor,
  loadRun,
  setupBackend,
  writeJsonAtomic,
} from "../mod.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    "per-class": { type: "string", default: "100" },
    seed: { type: "string", default: "0" },
  },
});
const runDir = positionals[0];
if (!runDir) throw new Error("usage: cvae_class_agreement.ts <run-dir> [--per-class n] [--seed s]");
const backend = await setupBackend({ backend: "auto" });
const started = performance.now();
const { model, spec, step } = await loadRun(runDir);
const extractor = await loadFeatureExtractor({ dataset: spec.dataset });
const perClass = Number(values["per-class"]);
const seed = Number(values.seed);
const result = await classAgreement(
  (labels, s) => model.sample(labels.length, { labels, seed: s }),
  extractor,
  { numClasses: 10, perClass, seed },
);
const record = {
  ...result,
  run: runDir,
  checkpoint_step: step,
  classifier: extractor.name,
  seed,
  backend,
  wall_seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  commit: gitCommit(),
  command: ["deno run -A experiments/cvae_class_agreement.ts", ...Deno.args].join(" "),
};
await writeJsonAtomic(`${runDir}/class_agreement.json`, record);
console.log(
  `class agreement ${(100 * result.agreement).toFixed(1)} % over ${result.n} samples; per class ${
    result.perClass.map((p) => (100 * p).toFixed(0)).join(" ")
  }`,
);
extractor.dispose();
model.dispose();
