/**
 * Every notebook executes headless (quick mode) with the Deno kernel and type-checks.
 */
import assert from "node:assert/strict";

Deno.test("notebooks: all execute headless in quick mode", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/notebooks.ts", "--quick"],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, log);
  assert.doesNotMatch(log, /✗/);
});
