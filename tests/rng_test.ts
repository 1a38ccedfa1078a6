import assert from "node:assert/strict";
import { Rng } from "../lib/util/rng.ts";

Deno.test("rng: same seed → same stream; different seed → different stream", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xs = Array.from({ length: 100 }, () => a.nextUint32());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b.nextUint32()));
  assert.notDeepEqual(xs, Array.from({ length: 100 }, () => c.nextUint32()));
});

Deno.test("rng: uniform mean/variance and normal moments match their closed forms", () => {
  const rng = new Rng(1);
  const n = 200_000;
  let s = 0, s2 = 0, z1 = 0, z2 = 0, z4 = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    assert.ok(u >= 0 && u < 1);
    s += u;
    s2 += u * u;
    const z = rng.normal();
    z1 += z;
    z2 += z * z;
    z4 += z ** 4;
  }
  // U(0,1): mean 1/2 (se ≈ 0.00065), variance 1/12. N(0,1): mean 0, E z² = 1, E z⁴ = 3.
  assert.ok(Math.abs(s / n - 0.5) < 0.003);
  assert.ok(Math.abs(s2 / n - (s / n) ** 2 - 1 / 12) < 0.002);
  assert.ok(Math.abs(z1 / n) < 0.01);
  assert.ok(Math.abs(z2 / n - 1) < 0.015);
  assert.ok(Math.abs(z4 / n - 3) < 0.08);
});

Deno.test("rng: state round-trips exactly (resume draws what an uninterrupted run draws)", () => {
  const a = new Rng(7);
  a.normal(); // leaves a cached Box–Muller value behind
  const saved = a.state();
  const expected = [a.normal(), a.uniform(), a.normal(), a.int(10)];
  const b = Rng.fromState(saved);
  assert.deepEqual([b.normal(), b.uniform(), b.normal(), b.int(10)], expected);
  const c = new Rng(0);
  c.restore(saved);
  assert.deepEqual([c.normal(), c.uniform(), c.normal(), c.int(10)], expected);
});

Deno.test("rng: permutation is a permutation and roughly uniform", () => {
  const rng = new Rng(3);
  const counts = new Array(5).fill(0);
  for (let t = 0; t < 5000; t++) {
    const p = rng.permutation(5);
    assert.deepEqual([...p].sort(), [0, 1, 2, 3, 4]);
    counts[p[0]]++;
  }
  for (const c of counts) assert.ok(Math.abs(c - 1000) < 120, `first-position counts ${counts}`);
});
