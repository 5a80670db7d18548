/**
 * Seeded pseudo-random numbers. Every random choice in Edgewise takes an explicit `Rng` made
 * from a seed, so a run is reproducible bit for bit; there is no global generator.
 *
 * The generator is xoshiro128** (32-bit state words, fast in JS integer arithmetic), seeded by
 * SplitMix32 so that nearby seeds give unrelated streams.
 */

/** A stream of pseudo-random numbers; all methods advance the stream. */
export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform float in [0, 1) with 53 random bits. */
  uniform(): number;
  /** Standard normal N(0, 1) (Box–Muller, both values used). */
  normal(): number;
  /**
   * Fills `out` with N(0, std²) draws: the same numbers, in the same order, as
   * `out[i] = normal() * std` for each i, several times faster (the state stays in locals).
   */
  fillNormal(out: Float64Array | Float32Array, std?: number): void;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** A new independent stream derived from this one (advances this stream). */
  fork(): Rng;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * One xoshiro128** step on state words held as int32 bit patterns (int32, unlike uint32, stays a
 * small integer in V8: no boxing, so the step is several times faster); returns the output as uint32.
 */
function xoshiroStep(s: Int32Array): number {
  const s1 = s[1]!;
  const x = Math.imul(s1, 5);
  const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
  const t = s1 << 9;
  s[2] = s[2]! ^ s[0]!;
  s[3] = s[3]! ^ s1;
  s[1] = s1 ^ s[2]!;
  s[0] = s[0]! ^ s[3]!;
  s[2] = s[2]! ^ t;
  s[3] = (s[3]! << 11) | (s[3]! >>> 21);
  return result;
}

/** A uniform float in [0, 1) with 53 random bits from two steps (27 + 26 bits). */
function uniform53(s: Int32Array): number {
  const a = xoshiroStep(s) >>> 5;
  const b = xoshiroStep(s) >>> 6;
  return (a * 67108864 + b) / 9007199254740992;
}

/** Creates a generator from an integer seed (any JS number; non-integers are truncated). */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
  // Fold the high bits in so that seeds above 2^32 still differ.
  const hi = Math.floor(seed / 4294967296) >>> 0;
  const sm = splitmix32((Math.trunc(seed) >>> 0) ^ Math.imul(hi, 0x27d4eb2d));
  const s = new Int32Array([sm(), sm(), sm(), sm()]);
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  let spare: number | null = null;

  const nextUint32 = (): number => xoshiroStep(s);
  const uniform = (): number => uniform53(s);
  const TWO_PI = 2 * Math.PI;
  const rng: Rng = {
    nextUint32,
    uniform,
    fillNormal(out, std = 1) {
      const n = out.length;
      let i = 0;
      if (n > 0 && spare !== null) {
        out[i++] = spare * std;
        spare = null;
      }
      while (i < n) {
        let u = 0;
        while (u === 0) u = uniform53(s);
        const v = uniform53(s);
        const radius = Math.sqrt(-2 * Math.log(u));
        out[i++] = radius * Math.cos(TWO_PI * v) * std;
        if (i < n) out[i++] = radius * Math.sin(TWO_PI * v) * std;
        else spare = radius * Math.sin(TWO_PI * v);
      }
    },
    normal(): number {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      let u = 0;
      while (u === 0) u = uniform();
      const v = uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int(n: number): number {
      if (!(n > 0)) throw new Error(`int(n) needs n > 0, got ${n}`);
      return Math.floor(uniform() * n);
    },
    fork(): Rng {
      return createRng(nextUint32() * 4294967296 + nextUint32());
    },
  };
  return rng;
}

/** Fills a new Float64Array of length n with N(0, std²) draws. */
export function normalArray(rng: Rng, n: number, std = 1): Float64Array {
  const out = new Float64Array(n);
  rng.fillNormal(out, std);
  return out;
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
export function permutation(rng: Rng, n: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
