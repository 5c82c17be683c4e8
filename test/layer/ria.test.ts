// RIA as an initial score (ALGORITHM.md §14.5) on the wasm backend: the kernel's f32 keys bit for
// bit against the independent reference (sums in the documented order), the keys against the
// formula in f64, and pruneLayer's masks: the k smallest per row (not one threshold per matrix,
// as the authors' default), N:M per group, exact sparsity under ties and zero rows/columns.
import { beforeEach, describe, expect, it } from 'vitest';
import { WasmContext, type WasmTensor } from '../../src/backends/wasm/context.js';
import { createWasmPruneKernels } from '../../src/backends/wasm/prune.js';
import type { PruneKernels } from '../../src/backends/prune-kernels.js';
import { pruneLayer } from '../../src/layer.js';
import { nmMask, rowMask, thresholdMask } from '../reference/masks.js';
import { riaMetric, riaMetric64 } from '../reference/ria.js';
import { expectClose, expectSameMask } from './expect.js';
import { riaStats, riaWeights, sameBitsOrFirstDifference } from './ria-inputs.js';

const f = Math.fround;
let ctx: WasmContext;
let k: PruneKernels;

beforeEach(async () => {
  ctx = await WasmContext.create();
  k = createWasmPruneKernels(ctx);
});

const sqrtScalerOf = (scalerRow: ArrayLike<number>) => Float32Array.from(scalerRow, (s) => f(Math.sqrt(f(s))));

function riaOnWasm(w: Float32Array, rows: number, cols: number, scalerRow: ArrayLike<number>): Float32Array {
  const wt = ctx.upload('f32', w);
  const out: WasmTensor = ctx.alloc('f32', rows * cols);
  new Uint8Array(ctx.memory.buffer, out.ptr, out.bytes).fill(0xaa); // poison: NaN until written
  k.metric(wt, rows, cols, 'ria', sqrtScalerOf(scalerRow).map(Math.sqrt), out);
  return ctx.f32(out).slice();
}

describe('RIA metric kernel (wasm)', () => {
  // Widths 1 to 3 have only the scalar tail; 4098 × 70 spans two kernel calls (the column sums
  // must continue across them).
  it.each([[4, 1], [5, 3], [9, 37], [6, 64], [7, 250], [70, 4098]])('%i×%i: bit for bit the reference, close to the f64 formula', (rows, cols) => {
    const w = riaWeights(rows * 1000 + cols, rows, cols);
    const { scalerRow } = riaStats(cols, cols);
    const got = riaOnWasm(w, rows, cols, scalerRow);
    const want = riaMetric(w, rows, cols, sqrtScalerOf(scalerRow));
    expect(sameBitsOrFirstDifference(got, want)).toBe('same');
    // The formula itself (sums, not means; exponent ¼ of scaler_row): the f32 chain is within a
    // few rounding errors of f64, and a zero row/column scores exactly 0, never NaN.
    expectClose(got, riaMetric64(w, rows, cols, scalerRow), 1e-5, 1e-37);
    expect(got.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
  });

  it('a score depends on its row and column sums: it is neither |W| nor Wanda reordered', () => {
    // Two weights equal in |W| and channel: the one in the lighter row scores higher.
    const w = Float32Array.of(1, 1, 1, 1, /* row 1 */ 1, 9, 9, 9);
    const got = riaOnWasm(w, 2, 4, [1, 1, 1, 1]);
    // (1/2 + 1/4)·1 and (1/2 + 1/28)·1, exactly as f32 chains.
    expect(got[0]).toBe(f(f(0.5 + 0.25)));
    expect(got[4]).toBe(f(f(0.5) + f(1 / 28)));
    expect(got[0]).toBeGreaterThan(got[4]);
  });
});

describe('pruneLayer with init ria', () => {
  const cases = [
    { rows: 12, cols: 37, sparsity: 0.5 },
    { rows: 9, cols: 250, sparsity: 0.7 },
    { rows: 8, cols: 64, sparsity: { n: 2, m: 4 } },
    { rows: 5, cols: 168, sparsity: { n: 4, m: 8 } },
  ] as const;

  it.each(cases)('$rows×$cols at $sparsity: the reference mask, exact per-row/per-group sparsity', async (c) => {
    const w = riaWeights(c.cols, c.rows, c.cols);
    const stats = riaStats(c.rows, c.cols);
    const out = await pruneLayer({ weight: w, rows: c.rows, cols: c.cols, stats, sparsity: c.sparsity, init: 'ria', dsnot: false, device: 'wasm' });
    const metric = riaMetric(w, c.rows, c.cols, sqrtScalerOf(stats.scalerRow));
    const nm = typeof c.sparsity === 'number' ? null : c.sparsity;
    const kk = nm ? 0 : Math.floor(c.cols * (c.sparsity as number));
    const want = nm ? nmMask(metric, c.rows, c.cols, nm.n, nm.m) : rowMask(metric, c.rows, c.cols, kk);
    expectSameMask(out.initMask, want, c.cols);
    expectSameMask(out.mask, want, c.cols);
    const per = nm ? nm.m : c.cols;
    const need = nm ? nm.n : kk;
    for (let g = 0; g < c.rows * c.cols; g += per) {
      expect(out.mask.subarray(g, g + per).reduce((a, b) => a + b, 0)).toBe(need);
    }
    for (let i = 0; i < w.length; i++) expect(out.weight[i]).toBe(out.mask[i] ? 0 : w[i]);
    // Per row, not the authors' default of one threshold for the whole matrix.
    if (!nm) expect(out.mask).not.toEqual(thresholdMask(metric, Math.floor(c.rows * c.cols * (c.sparsity as number))));
  });

  it('with DSnoT: runs from the RIA mask and keeps the sparsity', async () => {
    const rows = 10;
    const cols = 64;
    const w = riaWeights(77, rows, cols);
    const stats = riaStats(77, cols);
    const out = await pruneLayer({ weight: w, rows, cols, stats, sparsity: 0.5, init: 'ria', dsnot: { updateThreshold: 0, guard: false }, device: 'wasm' });
    const want = rowMask(riaMetric(w, rows, cols, sqrtScalerOf(stats.scalerRow)), rows, cols, 32);
    expectSameMask(out.initMask, want, cols);
    expect(out.cycles).toBeGreaterThan(0);
    for (let r = 0; r < rows; r++) expect(out.mask.subarray(r * cols, (r + 1) * cols).reduce((a, b) => a + b, 0)).toBe(32);
  });
});
