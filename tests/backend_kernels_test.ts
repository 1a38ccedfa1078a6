/** The kernel suite (tests/kernel_suite.ts) for the wasm backend against cpu. */
import assert from "node:assert/strict";
import { setupBackend } from "../lib/backend/mod.ts";
import { kernelSuite } from "./kernel_suite.ts";

const wasm = await setupBackend({ backend: "wasm" });
Deno.test("wasm backend is up (threads as configured)", () => {
  const env = Deno.env.get("GENLAB_WASM_THREADS");
  assert.equal(wasm.threads, env ? Number(env) : 2);
});

await kernelSuite("wasm");
