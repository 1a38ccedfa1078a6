/**
 * Shared test helpers. Tests use node:assert/strict (JSR's @std/assert is unreachable here).
 */
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../lib/backend/mod.ts";

/** Switch tfjs to a backend for one test (cpu = exact reference). */
export async function useBackend(name: "cpu" | "wasm"): Promise<void> {
  await setupBackend({ backend: name });
  if (tf.getBackend() !== name) throw new Error(`could not switch to ${name}`);
}

export async function tempDir(prefix: string): Promise<string> {
  return await Deno.makeTempDir({ prefix: `genlab-${prefix}-` });
}

/** Run the CLI in a subprocess; returns exit code and output. */
export async function runCli(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/main.ts", ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
