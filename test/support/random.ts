// Seeded random numbers for every test (no Node imports: the browser tests use it too).
// bench/common.mjs has the same generator for the benchmarks (plain .mjs cannot import .ts).

/** Mulberry32: small, seeded, good enough for test data; uniform in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Two Box-Muller variants, each kept as the tests that use it were written (a change would change
// their seeded data): `normal` clamps u away from 0, `gaussian` takes log(1 − u).

/** One standard normal deviate (Box-Muller) from two draws of `next`. */
export function normal(next: () => number): number {
  const u = Math.max(next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

/** Standard normal deviates from a seeded rng (Box-Muller). */
export function gaussian(next: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/** n seeded uniform(−scale, scale) values. */
export function uniform(n: number, seed: number, scale = 1): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}
