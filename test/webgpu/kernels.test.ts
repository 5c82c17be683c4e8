// The WebGPU pruning kernels against the independent plain-TS reference (test/reference), bit
// for bit: metrics, row / N:M / whole-matrix selection and the DSnoT refinement, on random
// inputs with many ties, and on shapes that are not multiples of the workgroup size.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebGpuBackend, type WebGpuBackend } from '../../src/backends/webgpu/index.js';
import { PipelineCache } from '../../src/backends/webgpu/pipelines.js';
import { magnitudeMetric, nmMask, referenceColumns, rowMask, thresholdMask, wandaMetric } from '../reference/masks.js';
import { referenceDsnot } from '../reference/dsnot.js';
import { gaussian, rng } from '../support/random.js';
import { dsnotCase, runDsnot } from './dsnot-case.js';

const f = Math.fround;
let gpu: WebGpuBackend;

beforeAll(async () => {
  gpu = await createWebGpuBackend();
});
afterAll(() => gpu?.dispose());

/** Values on a coarse grid (many exact ties), some negative zeros and subnormals. */
function tiedValues(n: number, seed: number, levels = 16): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => {
    const r = next();
    if (r < 0.02) return -0;
    if (r < 0.04) return f(next() * 1e-39);
    return f(Math.floor(next() * levels) / levels + (r < 0.5 ? 0 : 0.25));
  });
}

async function maskOf(run: (mask: ReturnType<WebGpuBackend['alloc']>) => void, length: number): Promise<Uint8Array> {
  const mask = gpu.upload('u8', new Uint8Array(length).fill(0xaa)); // poison: every byte must be written
  run(mask);
  const out = (await gpu.read(mask)) as Uint8Array;
  gpu.release(mask);
  return out;
}

describe('WebGPU pruning kernels', () => {
  it('compile without errors', async () => {
    const cache = new PipelineCache(gpu.device);
    for (const name of ['stats', 'metric', 'select', 'dsnot']) {
      expect((await cache.messages(name)).filter((m) => m.includes('error'))).toEqual([]);
    }
  });

  it('metric: magnitude, wanda and obs equal single correctly rounded f32 operations', async () => {
    const rows = 7;
    const cols = 300;
    const g = gaussian(rng(3));
    const w = Float32Array.from({ length: rows * cols }, (_, i) => (i % 37 === 0 ? f(g() * 1e-40) : f(g() * 0.05)));
    const scale = Float32Array.from({ length: cols }, (_, j) => (j % 50 === 0 ? f(1e-30) : f(Math.abs(g()) + 0.1)));
    const wt = gpu.upload('f32', w);
    const out = gpu.upload('f32', new Float32Array(rows * cols).fill(NaN));
    const want = {
      magnitude: magnitudeMetric(w),
      wanda: wandaMetric(w, rows, cols, scale),
      obs: Float32Array.from(w, (x, i) => f(f(x * x) / scale[i % cols])),
    };
    for (const kind of ['magnitude', 'wanda', 'obs'] as const) {
      gpu.metric(wt, rows, cols, kind, kind === 'magnitude' ? null : scale, out);
      const got = (await gpu.read(out)) as Float32Array;
      expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want[kind].buffer));
    }
  });

  for (const [rows, cols, k] of [[5, 64, 32], [7, 300, 181], [3, 4096, 2048], [4, 257, 0], [4, 257, 257], [9, 100, 1]] as const) {
    it(`selectRows ${rows}×${cols}, k=${k}: the k smallest per row, ties to the lower column`, async () => {
      const metric = tiedValues(rows * cols, rows * cols + k);
      const t = gpu.upload('f32', metric);
      const got = await maskOf((mask) => gpu.selectRows(t, rows, cols, k, mask), rows * cols);
      expect(got).toEqual(rowMask(metric, rows, cols, k));
    });
  }

  for (const [n, m, cols] of [[2, 4, 64], [4, 8, 264], [1, 3, 99]] as const) {
    it(`selectNM ${n}:${m} over ${cols} columns, ties to the lower column`, async () => {
      const rows = 5;
      const metric = tiedValues(rows * cols, n * 100 + m, 4);
      const t = gpu.upload('f32', metric);
      const got = await maskOf((mask) => gpu.selectNM(t, rows, cols, n, m, mask), rows * cols);
      expect(got).toEqual(nmMask(metric, rows, cols, n, m));
    });
  }

  it('selectThreshold: every metric ≤ sorted[rank] over the whole matrix', async () => {
    const n = 3001;
    const metric = tiedValues(n, 11, 64);
    const t = gpu.upload('f32', metric);
    for (const rank of [0, 1, 1500, 2999, 3000]) {
      const got = await maskOf((mask) => gpu.selectThreshold(t, n, rank, mask), n);
      expect(got).toEqual(thresholdMask(metric, rank));
    }
  });

  it('applyMask zeroes exactly the pruned weights', async () => {
    const n = 1027;
    const w = Float32Array.from({ length: n }, (_, i) => i + 1);
    const m = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
    const wt = gpu.upload('f32', w);
    gpu.applyMask(wt, gpu.upload('u8', m), n);
    expect(await gpu.read(wt)).toEqual(Float32Array.from(w, (x, i) => (m[i] ? 0 : x)));
  });

  for (const shape of [
    { rows: 16, cols: 64, sparsity: 0.5 },
    { rows: 9, cols: 300, sparsity: 0.6 },
    { rows: 3, cols: 4096, sparsity: 0.5 },
    { rows: 12, cols: 72, sparsity: 0.5, nm: { n: 2, m: 4 } },
    { rows: 10, cols: 96, sparsity: 0.5, nm: { n: 4, m: 8 } },
    { rows: 20, cols: 48, sparsity: 0.7, sameSign: true },
    // Threshold 0: rows run until a candidate list is exhausted or the 50 cycles are up.
    { rows: 8, cols: 40, sparsity: 0.5, threshold: 0 },
    { rows: 8, cols: 200, sparsity: 0.5, threshold: 0 },
    { rows: 8, cols: 40, sparsity: 0.5, threshold: 0, nm: { n: 2, m: 4 } },
    { rows: 6, cols: 64, sparsity: 0.5, threshold: 0, maxCycles: 3 },
    // Ties everywhere: equal G (higher column first from the right), equal Wanda (lower column first).
    { rows: 16, cols: 128, sparsity: 0.5, threshold: 0, tied: true },
    { rows: 16, cols: 128, sparsity: 0.5, tied: true },
    { rows: 16, cols: 64, sparsity: 0.5, threshold: 0, tied: true, nm: { n: 2, m: 4 } },
    // Short lists cut through runs of equal keys: which of the equal ones a list takes matters.
    { rows: 24, cols: 128, sparsity: 0.5, threshold: 0, tied: true, maxCycles: 3 },
    { rows: 24, cols: 64, sparsity: 0.5, threshold: 0, tied: true, maxCycles: 2, nm: { n: 2, m: 4 } },
  ]) {
    it(`dsnot ${shape.rows}×${shape.cols}${shape.nm ? ` ${shape.nm.n}:${shape.nm.m}` : ` s=${shape.sparsity}`}${shape.sameSign ? ' sign test' : ''}${'threshold' in shape ? ` threshold ${shape.threshold}` : ''}${'maxCycles' in shape ? ` maxCycles ${shape.maxCycles}` : ''}${'tied' in shape ? ' with ties' : ''}: mask, errors and cycles as the reference`, async () => {
      const c = dsnotCase({ ...shape, seed: shape.rows * 1000 + shape.cols });
      const got = await runDsnot(gpu, c);
      const want = referenceDsnot({
        w: c.w, rows: c.rows, cols: c.cols, initMask: c.initMask, columns: c.columns, nm: c.nm,
        initialMetric: c.initialMetric, maxCycles: c.maxCycles, threshold: c.threshold, sameSign: c.sameSign,
      });
      expect(got.mask).toEqual(want.mask);
      expect(got.cycles).toBe(want.cycles);
      for (let r = 0; r < c.rows; r++) {
        expect(Math.abs(got.initError[r] - want.initError[r])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want.initError[r])));
        expect(Math.abs(got.error[r] - want.error[r])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want.error[r])));
      }
      // The case is not trivial: rows swapped weights, and some rows stopped early.
      let changed = 0;
      for (let i = 0; i < want.mask.length; i++) changed += want.mask[i] !== c.initMask[i] ? 1 : 0;
      expect(changed).toBeGreaterThan(0);
    });
  }

  it('referenceColumns is what the tests feed (sanity of the helper)', () => {
    const cols = referenceColumns([4, 9], [1.5, -2], [2, 0], 1);
    expect(Array.from(cols.sqrtScaler)).toEqual([2, 3]);
    expect(Array.from(cols.varPow)).toEqual([2, 0]);
  });
});
