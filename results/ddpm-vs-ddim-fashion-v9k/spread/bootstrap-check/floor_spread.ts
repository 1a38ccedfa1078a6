// Is the FID bootstrap calibrated at n = 1,024, d = 128? Real training subsets vs the test split.
import { setupBackend } from "../lib/backend/mod.ts";
import { loadImageDataset } from "../lib/data/mod.ts";
import { bootstrapFrechet, datasetFeatures, frechetDistance, GaussianStats, loadFeatureExtractor, referenceFeatures } from "../lib/metrics/mod.ts";
import { Rng } from "../lib/util/rng.ts";
await setupBackend({ backend: "native", threads: 1 });
const extractor = await loadFeatureExtractor({ dataset: "fashion-mnist" });
const ref = await referenceFeatures(extractor, "fashion-mnist", "test");
const refM = GaussianStats.fromRows(ref.features, ref.n, ref.dim).moments();
const train = await loadImageDataset("fashion-mnist", "train");
const n = Number(Deno.args[0] ?? 1024), K = Number(Deno.args[1] ?? 12);
const fids: number[] = [];
const boots: number[] = [];
for (let k = 0; k < K; k++) {
  const rows = new Rng(1000 + k).permutation(train.count).subarray(0, n);
  const f = await datasetFeatures(extractor, train, rows);
  fids.push(frechetDistance(GaussianStats.fromRows(f.features, f.n, f.dim).moments(), refM));
  if (k < 3) boots.push(bootstrapFrechet(f.features, f.n, f.dim, refM, { resamples: 50 }).std);
}
const mean = fids.reduce((a, x) => a + x, 0) / K;
const sd = Math.sqrt(fids.reduce((a, x) => a + (x - mean) ** 2, 0) / (K - 1));
console.log(JSON.stringify({ n, K, fids: fids.map((x) => +x.toFixed(3)), mean, sd_across_subsets: sd, bootstrap_sds: boots }));
