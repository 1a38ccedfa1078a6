/**
 * The command line: real --help, one-line errors with exit code 2 for bad input.
 */
import assert from "node:assert/strict";
import { runCli, tempDir } from "./helpers.ts";

Deno.test("cli: --help lists the commands and exits 0", async () => {
  const { code, stdout } = await runCli(["--help"]);
  assert.equal(code, 0);
  for (const command of ["train", "sample", "eval", "info", "demo"]) {
    assert.match(stdout, new RegExp(command));
  }
  const train = await runCli(["train", "--help"]);
  assert.equal(train.code, 0);
  assert.match(train.stdout, /--resume <run-dir>/);
});

Deno.test("cli: bad input → one line naming the fix, exit code 2", async () => {
  const cases: Array<[string[], RegExp]> = [
    [["train", "nosuchmodel"], /unknown model 'nosuchmodel': available models are .*dcgan/],
    [["train", "dcgan", "--steps", "abc"], /--steps must be a positive integer/],
    [["train", "dcgan", "--bogus"], /unknown option '--bogus'/],
    [["train", "dcgan", "--backend", "gpu9"], /unknown backend 'gpu9': use one of/],
    [
      ["train", "dcgan", "--dataset", "cifar", "--backend", "cpu"],
      /unknown dataset 'cifar': use one of/,
    ],
    [["train", "dcgan", "--set", "nope=1", "--backend", "cpu"], /dcgan has no option 'nope'/],
    [["train", "--resume", "/nonexistent/run"], /not a run directory/],
    [["sample", "/nonexistent/run"], /not a run directory/],
    [["nosuchcommand"], /unknown command/],
  ];
  for (const [args, pattern] of cases) {
    const { code, stderr } = await runCli(args);
    assert.equal(code, 2, `${args.join(" ")} → exit ${code}: ${stderr}`);
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${args.join(" ")} printed:\n${stderr}`);
    assert.match(lines[0], pattern);
  }
});

Deno.test("cli: --out pointing at an existing run refuses and suggests --resume", async () => {
  const dir = await tempDir("cli");
  await Deno.writeTextFile(`${dir}/config.json`, "{}");
  const { code, stderr } = await runCli(["train", "dcgan", "--out", dir, "--backend", "cpu"]);
  assert.equal(code, 2);
  assert.match(stderr, /already holds a run: pass --resume/);
});

Deno.test("cli: info reports the backend and thread count", async () => {
  const { code, stdout } = await runCli(["info"]);
  assert.equal(code, 0, stdout);
  // auto picks native where its library loads (CI installs OpenBLAS/oneDNN), else wasm; the
  // WebGPU probe's answer is listed either way.
  assert.match(stdout, /backend\s+(native|wasm) \(requested: auto\) — auto: /);
  assert.match(stdout, /threads\s+2/);
  assert.match(stdout, /tfjs\s+4\.22\.0/);
  assert.match(stdout, /available: webgpu\s+\S/);
});

Deno.test("cli: info --backend webgpu names the adapter, or fails in one line naming why", async () => {
  const { code, stdout, stderr } = await runCli(["info", "--backend", "webgpu"]);
  if (code === 0) {
    assert.match(stdout, /backend\s+webgpu \(requested: webgpu\)/);
    assert.match(stdout, /available: webgpu\s+tfjs-backend-webgpu on .+: (GPU|software fallback)/);
  } else {
    assert.match(stderr, /backend 'webgpu' is not available: /);
  }
});

Deno.test("cli: demo --steps trains the demo's model for exactly that many steps", async () => {
  const out = `${await tempDir("demo")}/run`;
  const { code, stdout, stderr } = await runCli([
    "demo",
    "--steps",
    "2",
    "--backend",
    "wasm",
    "--out",
    out,
  ]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /demo: self-conditioned GAN .* 2 steps at batch 64/);
  const config = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  assert.equal(config.spec.model, "scgan");
  const summary = JSON.parse(await Deno.readTextFile(`${out}/summary.json`));
  assert.equal(summary.steps, 2);
  assert.ok((await Deno.stat(`${out}/samples/final.png`)).size > 1000);
});
