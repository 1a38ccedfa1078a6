/**
 * One seeded random-number helper for the whole project (JS side).
 *
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128 bits of state, passes
 * PractRand, and its state is four uint32 — trivial to store in a checkpoint so that a
 * resumed run draws exactly the numbers an uninterrupted run would have drawn.
 *
 * tfjs ops that take a `seed` (randomNormal, randomUniform, initializers) get one from
 * `rng.seed()`, so the JS stream decides every tensor-side draw too.
 */
export type RngState = [number, number, number, number];

export class Rng {
  #s: Uint32Array;
  #spareNormal: number | null = null;

  constructor(seed: number | RngState = 0) {
    if (Array.isArray(seed)) {
      this.#s = Uint32Array.from(seed);
    } else {
      // splitmix32 expands one integer seed into four well-mixed words.
      let x = (seed >>> 0) ^ 0x9e3779b9;
      const next = () => {
        x = (x + 0x9e3779b9) >>> 0;
        let z = x;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        return (z ^ (z >>> 16)) >>> 0;
      };
      this.#s = Uint32Array.of(next(), next(), next(), next());
      for (let i = 0; i < 12; i++) this.nextUint32();
    }
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const s = this.#s;
    const t = (((s[0] + s[1]) >>> 0) + s[3]) >>> 0;
    s[3] = (s[3] + 1) >>> 0;
    s[0] = s[1] ^ (s[1] >>> 9);
    s[1] = (s[2] + (s[2] << 3)) >>> 0;
    s[2] = ((s[2] << 21) | (s[2] >>> 11)) >>> 0;
    s[2] = (s[2] + t) >>> 0;
    return t;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform float in (0, 1): safe inside log(). */
  uniformOpen(): number {
    return (this.nextUint32() + 0.5) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal draw (Box–Muller, the second value is kept for the next call). */
  normal(mean = 0, std = 1): number {
    if (this.#spareNormal !== null) {
      const z = this.#spareNormal;
      this.#spareNormal = null;
      return mean + std * z;
    }
    const u1 = this.uniformOpen();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.#spareNormal = r * Math.sin(2 * Math.PI * u2);
    return mean + std * r * Math.cos(2 * Math.PI * u2);
  }

  /** A fresh integer seed for a tfjs op or initializer. */
  seed(): number {
    return this.nextUint32() % 2147483647;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[] | Int32Array | Uint32Array): typeof items {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p) as Int32Array;
  }

  /** Serializable state, including the cached second Box–Muller value, so restore is exact. */
  state(): { words: RngState; spareNormal: number | null } {
    return { words: Array.from(this.#s) as RngState, spareNormal: this.#spareNormal };
  }

  static fromState(state: { words: RngState; spareNormal: number | null }): Rng {
    const rng = new Rng(state.words);
    rng.#spareNormal = state.spareNormal;
    return rng;
  }

  /** Continue from a saved state (resume). */
  restore(state: { words: RngState; spareNormal: number | null }): void {
    this.#s = Uint32Array.from(state.words);
    this.#spareNormal = state.spareNormal;
  }

  /** An independent child stream (for data order vs. model noise, say). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }
}
