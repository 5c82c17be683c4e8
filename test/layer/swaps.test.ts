// Exact swaps, the DSnoT guard and the true layer error (ALGORITHM.md §14) on seeded random
// layers: against independent references written from the definitions (test/reference/swaps.ts,
// the guard in test/reference/dsnot.ts, vᵀHv computed directly), and their properties: exact
// per-row / per-group sparsity, weights never changed, the true error never higher than the
// initial mask's, row by row.
import { describe, expect, it } from 'vitest';
import { acquireBackend } from '../../src/backends/select.js';
import { createWebGpuBackend } from '../../src/backends/webgpu/index.js';
import { pruneLayer, pruneLayerOnBackend, type InitMethod, type PruneLayerOptions } from '../../src/layer.js';
import { referenceDsnot, quadraticError } from '../reference/dsnot.js';
import { referenceColumns } from '../reference/masks.js';
import { referenceStats } from '../reference/stats.js';
import { referenceSwaps } from '../reference/swaps.js';
import { expectClose, expectSameMask } from './expect.js';
import { randomLayer, type RandomLayerOptions } from './random.js';

type Sparsity = number | { n: number; m: number };

function layer(seed: number, rows: number, cols: number, data: RandomLayerOptions = {}) {
  const l = randomLayer(seed, rows, cols, data);
  const stats = referenceStats(l.x3, l.nseq, l.seqlen, cols);
  return { weight: l.weight, stats, hessian: stats.hessian! };
}

/** Per row ½·vᵀHv of a mask, from the definition. */
function trueErrors(w: Float32Array, mask: Uint8Array, rows: number, cols: number, h: Float64Array): Float64Array {
  return Float64Array.from({ length: rows }, (_, r) => quadraticError(w, mask, r, cols, h) / 2);
}

function expectExactCounts(initMask: Uint8Array, mask: Uint8Array, rows: number, cols: number, sparsity: Sparsity): void {
  const m = typeof sparsity === 'number' ? cols : sparsity.m;
  for (let g = 0; g < rows * cols; g += m) {
    let a = 0;
    let b = 0;
    for (let t = 0; t < m; t++) {
      a += initMask[g + t];
      b += mask[g + t];
    }
    if (a !== b) throw new Error(`group at ${g}: ${b} pruned after, ${a} before`);
  }
  expect(mask.every((x) => x === 0 || x === 1)).toBe(true);
}

function expectMaskApplied(weight: Float32Array, out: { mask: Uint8Array; weight: Float32Array }): void {
  for (let i = 0; i < weight.length; i++) {
    const want = out.mask[i] ? 0 : weight[i];
    if (!Object.is(out.weight[i], want)) throw new Error(`weight ${i}: ${out.weight[i]}, expected ${want}`);
  }
}

describe('exact swaps equal the reference where the search is exact (width ≥ the row)', () => {
  it.each([
    ['8×64 wanda 0.5', 8, 64, 0.5, 'wanda', 41],
    ['6×40 magnitude 0.7', 6, 40, 0.7, 'magnitude', 42],
    ['6×64 wanda 2:4', 6, 64, { n: 2, m: 4 }, 'wanda', 43],
    ['5×48 sparsegpt 4:8', 5, 48, { n: 4, m: 8 }, 'sparsegpt', 44],
    ['7×37 sparsegpt 0.3, ties on a grid', 7, 37, 0.3, 'sparsegpt', 45],
    // Wider than the kernel's 64-column search blocks, odd (a scalar tail), ties across blocks.
    ['4×203 wanda 0.5, several search blocks and a tail', 4, 203, 0.5, 'wanda', 46],
    ['5×230 wanda 0.5, columns repeated 100 apart: exact ties across blocks', 5, 230, 0.5, 'wanda', 47],
  ] as Array<[string, number, number, Sparsity, InitMethod, number]>)('%s', async (_n, rows, cols, sparsity, init, seed) => {
    const data = { grid: seed === 45 ? 64 : 0, duplicatePeriod: seed === 47 ? 100 : 0 };
    const { weight, stats, hessian } = layer(seed, rows, cols, data);
    const out = await pruneLayer({ weight, rows, cols, stats, sparsity, init, refine: 'swaps', swaps: { width: cols }, device: 'wasm' });
    const ref = referenceSwaps(weight, rows, cols, out.initMask, hessian, typeof sparsity === 'number' ? null : sparsity, 50);
    expectSameMask(out.mask, ref.mask, cols);
    expectClose(out.trueError!.initial, ref.initial, 1e-9, 1e-15);
    expectClose(out.trueError!.final, ref.final, 1e-9, 1e-15);
    expect(out.swaps).toBe(ref.swaps.reduce((a, b) => a + b, 0));
    expect(out.swaps).toBeGreaterThan(0);
  });
});

describe('exact swaps with the default search: properties', () => {
  it.each([
    ['12×64 wanda 0.5', 12, 64, 0.5, 'wanda', 51, {}],
    ['10×172 wanda 0.6, constant channels', 10, 172, 0.6, 'wanda', 52, { constantEvery: 17 }],
    ['6×512 magnitude 0.7', 6, 512, 0.7, 'magnitude', 53, {}],
    ['4×2048 wanda 2:4', 4, 2048, { n: 2, m: 4 }, 'wanda', 54, {}],
    ['2×4096 wanda 0.5', 2, 4096, 0.5, 'wanda', 55, {}],
    ['70×300 wanda 0.5, rows unlike neighbours (several kernel chunks)', 70, 300, 0.5, 'wanda', 56, { rowScales: true }],
  ] as Array<[string, number, number, Sparsity, InitMethod, number, RandomLayerOptions]>)('%s', async (_n, rows, cols, sparsity, init, seed, data) => {
    const { weight, stats, hessian } = layer(seed, rows, cols, data);
    const before = weight.slice();
    const options: PruneLayerOptions = { weight, rows, cols, stats, sparsity, init, device: 'wasm' };
    const out = await pruneLayer(options); // the default refinement
    expect(weight).toEqual(before);
    expect(out.swaps).toBeGreaterThan(0);
    expectExactCounts(out.initMask, out.mask, rows, cols, sparsity);
    expectMaskApplied(weight, out);
    // Both reported errors are the definition's, and no row got worse.
    const initial = trueErrors(weight, out.initMask, rows, cols, hessian);
    const final = trueErrors(weight, out.mask, rows, cols, hessian);
    expectClose(out.trueError!.initial, initial, 1e-9, 1e-15);
    expectClose(out.trueError!.final, final, 1e-9, 1e-15);
    for (let r = 0; r < rows; r++) expect(final[r], `row ${r}`).toBeLessThanOrEqual(initial[r]);
    // Deterministic.
    const again = await pruneLayer(options);
    expectSameMask(again.mask, out.mask, cols);
  });

  it('maxSwaps 0 leaves the initial mask; more swaps never end higher', async () => {
    const rows = 6, cols = 96;
    const { weight, stats } = layer(57, rows, cols);
    const base = { weight, rows, cols, stats, sparsity: 0.5, init: 'wanda' as const, refine: 'swaps' as const, device: 'wasm' as const };
    const none = await pruneLayer({ ...base, swaps: { maxSwaps: 0 } });
    expectSameMask(none.mask, none.initMask, cols);
    expect(none.swaps).toBe(0);
    let last = Infinity;
    for (const maxSwaps of [1, 5, 20, 80]) {
      const r = await pruneLayer({ ...base, swaps: { maxSwaps } });
      const total = r.trueError!.final.reduce((a, b) => a + b, 0);
      expect(total).toBeLessThanOrEqual(last);
      last = total;
    }
  });
});

describe('the DSnoT guard', () => {
  it.each([
    ['16×64 wanda 0.5', 16, 64, 0.5, 0.1, 61],
    ['10×172 wanda 0.6', 10, 172, 0.6, 0.1, 62],
    ['12×64 wanda 0.5, threshold 0, 200 cycles', 12, 64, 0.5, 0, 63],
    ['10×64 wanda 2:4', 10, 64, { n: 2, m: 4 }, 0, 64],
  ] as Array<[string, number, number, Sparsity, number, number]>)('%s: the authors’ candidates, stopped by the true error, as the reference', async (_n, rows, cols, sparsity, threshold, seed) => {
    const { weight, stats, hessian } = layer(seed, rows, cols);
    const maxCycles = threshold === 0 && seed === 63 ? 200 : 50;
    const dsnot = { maxCycles, updateThreshold: threshold };
    const guarded = await pruneLayer({ weight, rows, cols, stats, sparsity, init: 'wanda', dsnot, device: 'wasm' });
    const authors = await pruneLayer({ weight, rows, cols, stats, sparsity, init: 'wanda', dsnot: { ...dsnot, guard: false }, device: 'wasm' });
    const cv = referenceColumns(stats.scalerRow, stats.sumMetricRow, stats.var, 1);
    const nm = typeof sparsity === 'number' ? null : sparsity;
    const metric = Float32Array.from(weight, (x, i) => Math.fround(Math.abs(x) * cv.sqrtScaler[i % cols]));
    const ref = referenceDsnot({
      w: weight, rows, cols, initMask: guarded.initMask, columns: cv, nm, initialMetric: metric,
      maxCycles, threshold, sameSign: false, guard: hessian,
    });
    expectSameMask(guarded.mask, ref.mask, cols);
    expect(guarded.cycles).toBe(ref.cycles);
    expectExactCounts(guarded.initMask, guarded.mask, rows, cols, sparsity);
    const initial = trueErrors(weight, guarded.initMask, rows, cols, hessian);
    const final = trueErrors(weight, guarded.mask, rows, cols, hessian);
    expectClose(guarded.trueError!.final, final, 1e-9, 1e-15);
    for (let r = 0; r < rows; r++) expect(final[r], `row ${r}`).toBeLessThanOrEqual(initial[r]);
    // The unguarded authors' DSnoT carries the true errors too (it may end higher: that is the point).
    expectClose(authors.trueError!.final, trueErrors(weight, authors.mask, rows, cols, hessian), 1e-9, 1e-15);
  });
});

describe('on a WebGPU backend', () => {
  it('swaps and the guard run on wasm and say so; the true error of the authors’ DSnoT comes along; masks equal wasm’s', async () => {
    const gpu = await createWebGpuBackend();
    const wasm = await acquireBackend('wasm');
    try {
      const rows = 12, cols = 64;
      const { weight, stats } = layer(71, rows, cols);
      const base = { weight, rows, cols, stats, sparsity: 0.5, init: 'wanda' as const };
      const cases = [{ refine: 'swaps' as const }, { dsnot: { updateThreshold: 0 } }, { dsnot: { guard: false } }, { dsnot: false as const }];
      // N:M too: the guarded DSnoT lent to wasm takes the GPU's initial metric along.
      for (const [m, sparsity] of [...cases.map((x) => [x, 0.5] as const), ...cases.map((x) => [x, { n: 2, m: 4 }] as const)]) {
        const g = await pruneLayer({ ...base, ...m, sparsity, backend: gpu });
        const c = await pruneLayer({ ...base, ...m, sparsity, backend: wasm });
        expectSameMask(g.mask, c.mask, cols);
        if (m.dsnot !== false) expect(c.mask.some((x, i) => x !== c.initMask[i]), JSON.stringify({ m, sparsity })).toBe(true);
        expectClose(g.trueError!.final, c.trueError!.final, 1e-12, 1e-15);
        const onGpu = 'dsnot' in m && (m.dsnot === false || m.dsnot?.guard === false);
        expect(g.device).toBe(onGpu ? 'webgpu' : 'wasm');
      }
      // The pipeline's path: a weight that lives on the GPU is lent to wasm (with N:M's metric)
      // and its mask comes back.
      for (const [m, sparsity] of [[{ dsnot: { updateThreshold: 0 } }, { n: 2, m: 4 }], [{ refine: 'swaps' as const }, 0.5]] as const) {
        const t = gpu.upload('f32', weight);
        try {
          const g = await pruneLayerOnBackend({ ...base, ...m, sparsity, weight: t, backend: gpu, readBack: { mask: true, initMask: true } });
          const c = await pruneLayer({ ...base, ...m, sparsity, backend: wasm });
          expectSameMask(g.mask!, c.mask, cols);
          expect(g.device).toBe('wasm');
          const after = (await gpu.read(t)) as Float32Array;
          expect(Array.from(after)).toEqual(Array.from(c.weight));
        } finally {
          gpu.release(t);
        }
      }
    } finally {
      gpu.dispose();
    }
  });
});
