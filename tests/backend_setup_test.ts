/**
 * setupBackend(): wasm with threads (2 unless GENLAB_WASM_THREADS says otherwise), cpu, the
 * optional native backend's error, unknown names, and the deadlock watchdog (in subprocesses,
 * because thread count and watchdog are per process).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import * as wasmBackend from "@tensorflow/tfjs-backend-wasm";
import { BACKEND_NAMES, type BackendName, setupBackend } from "../lib/backend/mod.ts";

const MOD = new URL("../lib/backend/mod.ts", import.meta.url).href;
const WATCHDOG = new URL("../lib/backend/watchdog.ts", import.meta.url).href;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** Run TypeScript `code` in a fresh Deno process with the project's import map. */
async function runDeno(code: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", CONFIG, code],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: out.code,
    signal: out.signal,
    stdout: decode(out.stdout),
    stderr: decode(out.stderr),
  };
}

const expectedThreads = Number(Deno.env.get("GENLAB_WASM_THREADS") || 2);

// Worker threads (XNNPACK pool, watchdog) live as long as the process: not a leak.
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "wasm reports its threads and computes correctly",
  ...opts,
  fn: async () => {
    const info = await setupBackend({ backend: "wasm" });
    assert.equal(info.name, "wasm");
    assert.equal(tf.getBackend(), "wasm");
    assert.equal(info.threads, expectedThreads);
    assert.equal(wasmBackend.getThreadsCount(), expectedThreads);
    assert.match(info.available.wasm, new RegExp(`${expectedThreads} thread`));
    // A matmul big enough for XNNPACK to split across the pool.
    const a = tf.tidy(() => tf.matMul(tf.ones([256, 128]), tf.ones([128, 64])).sum().dataSync()[0]);
    assert.equal(a, 256 * 128 * 64);
  },
});

Deno.test({
  name: "cpu works and switching back to wasm keeps the thread count",
  ...opts,
  fn: async () => {
    const info = await setupBackend({ backend: "cpu" });
    assert.equal(info.name, "cpu");
    assert.equal(tf.getBackend(), "cpu");
    assert.deepEqual(Array.from(tf.add(tf.tensor1d([1, 2]), 1).dataSync()), [2, 3]);
    const again = await setupBackend({ backend: "wasm" });
    assert.equal(again.threads, expectedThreads);
    await assert.rejects(
      () => setupBackend({ backend: "wasm", threads: expectedThreads === 1 ? 2 : 1 }),
      /cannot change/,
    );
  },
});

Deno.test("'tensorflow' fails with a clear message when tfjs-node is not installed", async () => {
  await assert.rejects(
    () => setupBackend({ backend: "tensorflow" }),
    (e: Error) => {
      assert.match(e.message, /tfjs-node/);
      assert.match(e.message, /--backend wasm/);
      return true;
    },
  );
});

Deno.test("an unknown backend name throws one line naming the valid choices", async () => {
  await assert.rejects(
    () => setupBackend({ backend: "gpu" as BackendName }),
    (e: Error) => {
      assert.ok(!e.message.includes("\n"), "one line");
      assert.match(e.message, /unknown backend 'gpu'/);
      for (const name of BACKEND_NAMES) assert.ok(e.message.includes(name), name);
      return true;
    },
  );
});

Deno.test("GENLAB_WASM_THREADS=1 gives one thread; a bad value is a clear error", async () => {
  const code = `import { setupBackend } from "${MOD}";
    import * as tf from "@tensorflow/tfjs";
    const info = await setupBackend({ backend: "wasm" });
    const s = tf.matMul(tf.ones([64, 32]), tf.ones([32, 16])).sum().dataSync()[0];
    console.log(JSON.stringify({ threads: info.threads, s }));`;
  const one = await runDeno(code, { GENLAB_WASM_THREADS: "1" });
  assert.equal(one.code, 0, one.stderr);
  assert.deepEqual(JSON.parse(one.stdout), { threads: 1, s: 64 * 32 * 16 });
  const bad = await runDeno(code, { GENLAB_WASM_THREADS: "many" });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /GENLAB_WASM_THREADS must be an integer from 1 to 8/);
});

Deno.test("watchdog: a call stuck past the timeout ends the process with one clear line", async () => {
  const code = `import { heartbeat, startWatchdog, withWatchdog } from "${WATCHDOG}";
    startWatchdog({ timeoutSeconds: 1 });
    // Progressing work longer than the timeout is fine ...
    withWatchdog("busy", () => {
      for (let i = 0; i < 15; i++) {
        withWatchdog("short call", () => { const t = Date.now(); while (Date.now() - t < 100); });
      }
    });
    heartbeat();
    console.log("progress ok");
    // ... a call that never returns (as a deadlocked kernel) is not.
    withWatchdog("wasm kernel Conv2D", () =>
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
    console.log("unreachable");`;
  const t0 = Date.now();
  const r = await runDeno(code);
  assert.equal(r.stdout.trim(), "progress ok");
  assert.equal(r.signal, "SIGKILL", `exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /wasm kernel Conv2D has not returned/);
  assert.match(lines[0], /--threads 1/);
  assert.match(lines[0], /GENLAB_WASM_THREADS=1/);
  assert.ok(Date.now() - t0 < 20_000);
});
