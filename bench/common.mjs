// Shared by the benchmark scripts: the built package, command-line flags, seeded synthetic
// layers, and a Benchmark.js runner for async calls. (Plain .mjs: the benches run on the build,
// so they cannot import the tests' TypeScript helpers; the generator is test/support/random.ts's.)
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Benchmark from 'benchmark';

export const here = dirname(fileURLToPath(import.meta.url));

/** The built package (npm run build), or the build DSNOT_DIST points at. */
export const lib = await import(pathToFileURL(process.env.DSNOT_DIST ? resolve(process.env.DSNOT_DIST) : join(here, '..', 'dist', 'index.js')).href);

export const argv = process.argv.slice(2);

/** The value after `name` on the command line, or `fallback`. */
export const flag = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};

/** '4096x4096,11008x4096' → [[4096, 4096], [11008, 4096]]. */
export const parseShapes = (s) => s.split(',').filter(Boolean).map((x) => x.split('x').map(Number));

/** Mulberry32, uniform in [0, 1). */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One standard normal deviate (Box-Muller). */
export const normal = (next) => Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12))) * Math.cos(2 * Math.PI * next());

/**
 * A LLaMA-7B-like linear: weights ~ N(0, 0.02²); statistics as one 2048-token sequence per call
 * would give them; with `withHessian`, a SparseGPT Hessian too. Seeded by the shape, so the wasm
 * and WebGPU benches prune the same layers.
 */
export function syntheticLayer(rows, cols, withHessian = false) {
  const next = rng(rows * 7919 + cols);
  const weight = new Float32Array(rows * cols);
  for (let i = 0; i < weight.length; i++) weight[i] = 0.02 * normal(next);
  const seqlen = 2048;
  const mean = Float64Array.from({ length: cols }, () => 0.05 * normal(next));
  const sd = Float64Array.from({ length: cols }, () => 0.2 + next());
  const stats = {
    scalerRow: Float64Array.from({ length: cols }, (_, j) => seqlen * (sd[j] ** 2 + mean[j] ** 2)),
    sumMetricRow: Float64Array.from({ length: cols }, (_, j) => seqlen * mean[j]),
    var: Float64Array.from(sd, (s) => s * s),
    hessian: null,
  };
  if (withHessian) {
    // H = 2·(A Aᵀ/r + diag): positive definite with realistic off-diagonal mass, built in O(cols²·r).
    const r = 16;
    const a = Float64Array.from({ length: cols * r }, () => normal(next));
    const h = new Float64Array(cols * cols);
    for (let i = 0; i < cols; i++) {
      for (let j = i; j < cols; j++) {
        let s = 0;
        for (let t = 0; t < r; t++) s += a[i * r + t] * a[j * r + t];
        h[i * cols + j] = h[j * cols + i] = (2 * s) / r;
      }
      h[i * cols + i] += 2 * stats.scalerRow[i] / seqlen;
    }
    stats.hessian = h;
  }
  return { weight, stats };
}

/**
 * Benchmark.js (deferred) around the async `fn`, one call per iteration: resolves to the mean
 * seconds per call, its relative margin of error (%) and the sample count; rejects if fn throws.
 */
export function benchAsync(name, fn, { minSamples, maxTime }) {
  return new Promise((resolvePromise, reject) => {
    const bench = new Benchmark(name, {
      defer: true,
      minSamples,
      maxTime,
      initCount: 1,
      fn: (deferred) => fn().then(() => deferred.resolve(), reject),
      onError: (e) => reject(e.target?.error ?? e),
      onComplete: () => resolvePromise({ seconds: bench.stats.mean, rme: bench.stats.rme, samples: bench.stats.sample.length }),
    });
    bench.run({ async: true });
  });
}

/**
 * The thread counts a bench compares in one run: 1 and `--threads N` (default 'auto': every core,
 * as the package's own 'auto' counts them), e.g. [1, 2] on a 2-core machine; [1] with --threads 1.
 */
export async function threadCounts() {
  const t = flag('--threads', 'auto');
  const n = t === 'auto' ? (await import('node:os')).availableParallelism() : Number(t);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--threads must be auto or a positive integer (got ${t})`);
  return [...new Set([1, n])];
}

/** "1.85×": how many times faster `ms` is than `baseMs` (the 1-thread time). */
export const speedup = (baseMs, ms) => `${(baseMs / ms).toFixed(2)}×`;
