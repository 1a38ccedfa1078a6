/**
 * The trainer and run-directory convention: determinism, exact resume, kill -9 recovery,
 * leak guard, NaN stop, atomic checkpoints.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { loadRun, resolveSpec, train, TrainingError } from "../lib/train/trainer.ts";
import { averageCheckpoints } from "../lib/train/average.ts";
import { UserInputError } from "../lib/util/errors.ts";
import { readMetrics } from "../lib/train/run_dir.ts";
import { listCheckpoints, loadCheckpoint, saveCheckpoint } from "../lib/train/checkpoint.ts";
import { MODELS } from "../lib/models/registry.ts";
import { Dcgan } from "../lib/models/gan/dcgan.ts";
import type { Batch } from "../lib/models/types.ts";
import { tempDir, useBackend } from "./helpers.ts";

/** A DCGAN small enough for the exact-but-slow cpu backend. */
const TINY = { generatorFilters: 4, discriminatorFilters: 4, latentDim: 8 };

function tinySpec(steps: number, seed = 0) {
  return resolveSpec("dcgan", { steps, batch: 4, seed, modelConfig: TINY, sampleCount: 4 });
}

Deno.test("trainer: same seed twice on cpu → identical losses; another seed differs", async () => {
  await useBackend("cpu");
  const runs = [];
  for (const seed of [11, 11, 12]) {
    const result = await train(tinySpec(3, seed), {
      out: `${await tempDir("det")}/run`,
      progress: false,
    });
    runs.push(result.losses.map(({ d_loss, g_loss }) => [d_loss, g_loss]));
    result.model.dispose();
  }
  assert.deepEqual(runs[0], runs[1]);
  assert.notDeepEqual(runs[0], runs[2]);
});

Deno.test("trainer: stop + resume reproduces an uninterrupted run exactly (cpu)", async () => {
  await useBackend("cpu");
  const straight = await train(tinySpec(6), {
    out: `${await tempDir("straight")}/run`,
    progress: false,
  });
  straight.model.dispose();
  const dir = `${await tempDir("resume")}/run`;
  const first = await train(tinySpec(6), { out: dir, progress: false, stopAfter: 3 });
  first.model.dispose();
  assert.equal(first.step, 3);
  const resumed = await train({ resume: dir }, { progress: false });
  resumed.model.dispose();
  const rows = await readMetrics(`${dir}/metrics.jsonl`);
  assert.deepEqual(rows.map((r) => r.step), [1, 2, 3, 4, 5, 6]);
  const strip = (r: Record<string, number>) => [r.d_loss, r.g_loss];
  assert.deepEqual(rows.map(strip), straight.losses.map(strip));
  const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  assert.equal(config.resumes[0].fromStep, 3);
});

Deno.test("trainer: kill -9 mid-run, then --resume → no gap, no duplicate step", async () => {
  const dir = `${await tempDir("kill")}/run`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "lib/cli/main.ts",
      "train",
      "dcgan",
      "--quick",
      "--steps",
      "40",
      "--out",
      dir,
      "--checkpoint-every",
      "5",
      "--backend",
      "wasm",
      "--no-progress",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  // Wait until some steps are logged past a checkpoint, then SIGKILL (no chance to clean up).
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const rows = await readMetrics(`${dir}/metrics.jsonl`).catch(() => []);
    if (rows.length >= 12) break;
  }
  child.kill("SIGKILL");
  const status = await child.status;
  assert.equal(status.success, false, "the child should have been killed mid-run");
  const before = await readMetrics(`${dir}/metrics.jsonl`);
  assert.ok(before.length >= 12 && before.length < 40, `killed after ${before.length} steps`);
  const checkpoint = (await listCheckpoints(`${dir}/checkpoints`)).at(-1)!;
  assert.ok(checkpoint.step >= 10 && checkpoint.step <= before.length);

  const resume = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "lib/cli/main.ts",
      "train",
      "--resume",
      dir,
      "--backend",
      "wasm",
      "--no-progress",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(resume.code, 0, new TextDecoder().decode(resume.stderr));
  const rows = await readMetrics(`${dir}/metrics.jsonl`);
  assert.deepEqual(rows.map((r) => r.step), Array.from({ length: 40 }, (_, i) => i + 1));
  const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  assert.equal(config.resumes[0].fromStep, checkpoint.step);
  // The time column continues (monotone) across the restart.
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i].time >= rows[i - 1].time);
});

Deno.test("trainer: tf.memory().numTensors stays flat over 200 steps", async () => {
  await useBackend("wasm");
  const spec = { ...tinySpec(200), sampleEvery: 1000, checkpointEvery: 1000, leakCheckEvery: 1000 };
  const counts: number[] = [];
  const result = await train(spec, {
    out: `${await tempDir("leak")}/run`,
    progress: false,
    onStep: (step) => {
      if (step % 20 === 0) counts.push(tf.memory().numTensors);
    },
  });
  result.model.dispose();
  assert.equal(counts.length, 10);
  assert.ok(counts.every((c) => c === counts[0]), `numTensors over steps: ${counts.join(", ")}`);
});

Deno.test("trainer: leak guard stops a leaking model with a clear message", async () => {
  await useBackend("cpu");
  const entry = MODELS.dcgan;
  const original = entry.create;
  entry.create = (config, data, seed) => {
    const model = original(config, data, seed) as Dcgan;
    const step = model.trainStep.bind(model);
    model.trainStep = (batch: Batch, n: number) => {
      tf.keep(tf.zeros([1])); // the bug: a tensor that outlives the step
      return step(batch, n);
    };
    return model;
  };
  try {
    const spec = { ...tinySpec(6), leakCheckEvery: 2 };
    await assert.rejects(
      () => train(spec, { out: `${tempDirSync()}/run`, progress: false }),
      (error: unknown) => error instanceof TrainingError && /tensor leak/.test(error.message),
    );
  } finally {
    entry.create = original;
  }
});

Deno.test("trainer: a NaN loss stops the run, names the last good checkpoint, keeps it", async () => {
  await useBackend("cpu");
  const dir = `${await tempDir("nan")}/run`;
  const spec = {
    ...tinySpec(6),
    checkpointEvery: 2,
    modelConfig: { ...tinySpec(6).modelConfig, learningRate: 1e30 },
  };
  const error = await train(spec, { out: dir, progress: false }).then(() => null, (e) => e);
  assert.ok(error instanceof TrainingError, `expected a TrainingError, got ${error}`);
  assert.match(error.message, /became (NaN|Infinity|-Infinity) at step \d+/);
  assert.equal(error.exitCode, 3);
  const checkpoints = await listCheckpoints(`${dir}/checkpoints`);
  for (const c of checkpoints) {
    const { tensors } = await loadCheckpoint(c.path);
    for (const t of tensors.values()) {
      assert.ok(
        t.dataSync().every(Number.isFinite),
        `checkpoint ${c.step} holds non-finite weights`,
      );
      t.dispose();
    }
  }
});

Deno.test("trainer: keepCheckpoints keeps the newest k (default 2; 0 = every one written)", async () => {
  await useBackend("cpu");
  for (const [keep, expected] of [[undefined, [4, 6]], [3, [2, 4, 6]], [0, [1, 2, 3, 4, 5, 6]]]) {
    const checkpointEvery = keep === 0 ? 1 : 2;
    const spec = {
      ...tinySpec(6),
      checkpointEvery,
      ...(keep === undefined ? {} : { keepCheckpoints: keep as number }),
    };
    const dir = `${await tempDir("keep")}/run`;
    const result = await train(spec, { out: dir, progress: false });
    result.model.dispose();
    const steps = (await listCheckpoints(`${dir}/checkpoints`)).map((c) => c.step);
    assert.deepEqual(steps, expected, `keepCheckpoints ${keep}`);
  }
  // Out of range: a one-line error naming the flag.
  assert.throws(
    () => resolveSpec("dcgan", { steps: 2, keepCheckpoints: -1, modelConfig: TINY }),
    /--keep-checkpoints -1 is out of range: use an integer in \[0, 1000000000\]/,
  );
});

Deno.test("averageCheckpoints: EMA weights = mean of the snapshots; the rest is the last one's", async () => {
  await useBackend("cpu");
  const dir = `${await tempDir("avg")}/run`;
  const spec = {
    ...resolveSpec("dcgan", {
      steps: 3,
      batch: 4,
      modelConfig: { ...TINY, generatorEma: 0.5 },
      sampleCount: 4,
    }),
    checkpointEvery: 1,
    keepCheckpoints: 0,
  };
  (await train(spec, { out: dir, progress: false })).model.dispose();
  const out = `${await tempDir("avg")}/avg`;
  const result = await averageCheckpoints(dir, { from: 2, out });
  assert.deepEqual(result.steps, [2, 3]);
  const [two, three, averaged] = await Promise.all(
    [`${dir}/checkpoints/step-00000002.ckpt`, `${dir}/checkpoints/step-00000003.ckpt`]
      .concat((await listCheckpoints(`${out}/checkpoints`)).map((c) => c.path))
      .map((path) => loadCheckpoint<{ step: number }>(path)),
  );
  assert.equal(averaged.extra.step, 3);
  let emaCount = 0;
  for (const [name, tensor] of averaged.tensors) {
    const got = tensor.dataSync();
    const b = three.tensors.get(name)!.dataSync();
    if (name.startsWith("ema/")) {
      emaCount++;
      const a = two.tensors.get(name)!.dataSync();
      for (let i = 0; i < got.length; i++) {
        assert.ok(Math.abs(got[i] - (a[i] + b[i]) / 2) < 1e-6, `${name}[${i}]`);
      }
    } else {
      assert.deepEqual(Array.from(got), Array.from(b), name); // live / optimizer: step 3's
    }
  }
  assert.ok(emaCount > 0);
  // The EMA snapshots differ (decay 0.5), so the average is a new set of weights.
  assert.notDeepEqual(
    Array.from(two.tensors.get("ema/0")!.dataSync()),
    Array.from(three.tensors.get("ema/0")!.dataSync()),
  );
  tf.dispose([two, three, averaged].flatMap((c) => [...c.tensors.values()]));
  // The new dir loads like any run.
  const loaded = await loadRun(out);
  assert.equal(loaded.step, 3);
  assert.equal(loaded.weights, "ema");
  loaded.model.dispose();
  // Bad requests: one line naming the fix; an existing run dir is never overwritten.
  await assert.rejects(
    () => averageCheckpoints(dir, { from: 7, out: `${out}-2` }),
    (e: unknown) =>
      e instanceof UserInputError && /no checkpoint between steps 7 and 3/.test(e.message),
  );
  // Error paths free what they loaded: an existing out dir (refused before any snapshot loads), and a
  // later snapshot whose EMA weights do not match the earlier ones.
  const before = tf.memory().numTensors;
  await assert.rejects(() => averageCheckpoints(dir, { from: 1, out }), /already holds a run/);
  const odd = new Map<string, tf.Tensor>([["ema/0", tf.zeros([1])]]);
  await saveCheckpoint(`${dir}/checkpoints/step-00000004.ckpt`, odd, { step: 4 });
  tf.dispose([...odd.values()]);
  await assert.rejects(
    () => averageCheckpoints(dir, { from: 3, out: `${out}-3` }),
    /step-00000004\.ckpt has a different set of EMA weights/,
  );
  assert.equal(tf.memory().numTensors, before, "tensors left behind by failed averages");
});

Deno.test("checkpoint: round-trips tensors and extra state; write is atomic", async () => {
  await useBackend("cpu");
  const dir = await tempDir("ckpt");
  const tensors = new Map<string, tf.Tensor>([
    ["a", tf.tensor2d([[1, 2], [3, 4.5]])],
    ["b", tf.tensor1d([7, -8], "int32")],
  ]);
  await saveCheckpoint(`${dir}/step-00000001.ckpt`, tensors, { step: 1, note: "x" });
  const files = [...Deno.readDirSync(dir)].map((e) => e.name);
  assert.deepEqual(files, ["step-00000001.ckpt"]); // no temp file left behind
  const loaded = await loadCheckpoint<{ step: number; note: string }>(`${dir}/step-00000001.ckpt`);
  assert.deepEqual(loaded.extra, { step: 1, note: "x" });
  assert.deepEqual(Array.from(loaded.tensors.get("a")!.dataSync()), [1, 2, 3, 4.5]);
  assert.equal(loaded.tensors.get("b")!.dtype, "int32");
  assert.deepEqual(loaded.tensors.get("a")!.shape, [2, 2]);
  tf.dispose([...tensors.values(), ...loaded.tensors.values()]);
});

function tempDirSync(): string {
  return Deno.makeTempDirSync({ prefix: "genlab-leak2-" });
}
