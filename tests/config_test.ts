import assert from "node:assert/strict";
import { defineConfig, flag, int, number, oneOf } from "../lib/models/config.ts";
import { DCGAN_CONFIG } from "../lib/models/gan/dcgan.ts";
import { DDPM_CONFIG } from "../lib/models/diffusion/ddpm_model.ts";
import { UserInputError } from "../lib/util/errors.ts";

const TOY = defineConfig("toy", {
  width: int(8, { min: 1, max: 64 }, "channels"),
  rate: number(0.1, { gt: 0, max: 1 }, "a rate"),
  mode: oneOf(["a", "b"], "a", "a mode"),
  on: flag(false, "a switch"),
}, {
  rules: [{
    check: (c) => c.mode !== "b" || c.width % 2 === 0,
    message: "mode b needs an even width",
  }],
  dataRules: [(c, d) => (d.height % c.width === 0 ? undefined : "height must divide by width")],
});

Deno.test("config: defaults come from the one declaration", () => {
  assert.deepEqual(TOY.defaults, { width: 8, rate: 0.1, mode: "a", on: false });
  assert.deepEqual(TOY.parse({ width: 4 }), { width: 4, rate: 0.1, mode: "a", on: false });
  assert.equal(DCGAN_CONFIG.defaults.latentDim, 100);
});

Deno.test("config: every kind of bad value is a one-line UserInputError naming option and range", () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ width: 0 }, /toy option width=0 is not allowed.*integer in \[1, 64\]/],
    [{ width: 2.5 }, /width=2.5.*integer/],
    [{ rate: 0 }, /rate=0.*number in \(0, 1\]/],
    [{ mode: "c" }, /mode="c".*one of a \| b/],
    [{ on: "yes" }, /on="yes".*true \| false/],
    [{ nope: 1 }, /toy has no option 'nope'.*width, rate, mode, on/],
    [{ mode: "b", width: 3 }, /mode b needs an even width/],
  ];
  for (const [input, pattern] of cases) {
    assert.throws(() => TOY.parse(input), (e: unknown) => {
      assert.ok(e instanceof UserInputError, String(e));
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes("\n"), "one line");
      assert.equal(e.exitCode, 2);
      return true;
    });
  }
  assert.throws(
    () => TOY.checkData(TOY.defaults, { height: 28, width: 28, channels: 1 }),
    /height must divide/,
  );
  TOY.checkData(TOY.parse({ width: 4 }), { height: 28, width: 28, channels: 1 });
});

Deno.test("config: CLI strings are coerced by declared type", () => {
  assert.equal(TOY.coerce("width", "16"), 16);
  assert.equal(TOY.coerce("on", "true"), true);
  assert.equal(TOY.coerce("mode", "b"), "b");
  assert.throws(
    () => TOY.parse({ width: TOY.coerce("width", "abc") }),
    /width=null|width=NaN|not allowed/,
  );
});

Deno.test("config: help and table list every option with default and range", () => {
  const table = TOY.table();
  for (const name of ["width", "rate", "mode", "on"]) {
    assert.match(table, new RegExp(`\`${name}\``));
  }
  assert.match(TOY.help(), /width\s+channels \(default 8; integer in \[1, 64\]\)/);
  assert.match(DCGAN_CONFIG.help(), /discriminatorNorm.*one of batch \| none/);
  // Options a resumed run may change are declared once and marked in --help.
  assert.deepEqual(DDPM_CONFIG.resumable, ["emaDecay", "emaWarmup"]);
  assert.match(DDPM_CONFIG.help(), /emaDecay .*\[0, 1\); may change on --resume\)/);
  assert.doesNotMatch(DDPM_CONFIG.help(), /learningRate .*may change on --resume/);
  assert.deepEqual(DCGAN_CONFIG.resumable, []);
});
