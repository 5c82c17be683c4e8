// The wasm pruning kernels one by one, with every output and every scratch block poisoned
// before the kernel runs (0xAA bytes: a NaN pattern for f32/f64, 170 for u8 masks), so a value
// the kernel forgot to write shows up. Odd widths exercise the scalar tails of the SIMD loops.
import { beforeEach, describe, expect, it } from 'vitest';
import { WasmContext, type WasmTensor } from '../../src/backends/wasm/context.js';
import { createWasmPruneKernels } from '../../src/backends/wasm/prune.js';
import type { PruneKernels } from '../../src/backends/prune-kernels.js';
import { columnVectors } from '../../src/stats.js';
import { referenceDsnot } from '../reference/dsnot.js';
import {
  magnitudeMetric, nmMask, obsMetric, referenceColumns, rowMask, thresholdMask, wandaMetric,
} from '../reference/masks.js';
import { referenceObsFactor } from '../reference/sparsegpt.js';
import { referenceStats } from '../reference/stats.js';
import { expectClose, expectSameMask } from './expect.js';
import { randomLayer } from './random.js';

let ctx: WasmContext;
let k: PruneKernels;

/** Fill `bytes` of currently free memory with 0xAA; later allocations reuse it (first fit). */
function poisonFreeMemory(bytes: number): void {
  const p = ctx.allocBytes(bytes);
  ctx.u8(p, bytes).fill(0xaa);
  ctx.freeBytes(p, bytes);
}

function poisoned(dtype: 'f32' | 'u8', length: number): WasmTensor {
  const t = ctx.alloc(dtype, length);
  new Uint8Array(ctx.memory.buffer, t.ptr, t.bytes).fill(0xaa);
  return t;
}

beforeEach(async () => {
  ctx = await WasmContext.create();
  k = createWasmPruneKernels(ctx);
});

describe('stats', () => {
  // 131 columns and 300 tokens: Gram tiles of 64 columns with an odd tail, two token chunks.
  it.each([[37, 2, 5], [64, 3, 16], [13, 1, 1], [131, 2, 300]])('%i cols: sums, variance and Gram match the definitions', async (cols, nseq, seqlen) => {
    const { x3 } = randomLayer(cols, 2, cols, { nseq, seqlen, constantEvery: 5 });
    poisonFreeMemory(1 << 20);
    const h = k.statsCreate(cols, true);
    for (let s = 0; s < nseq; s++) {
      const x = ctx.upload('f32', x3.subarray(s * seqlen * cols, (s + 1) * seqlen * cols));
      k.statsAdd(h, x, seqlen);
      ctx.release(x);
    }
    const raw = await k.statsRead(h);
    k.statsFree(h);
    const ref = referenceStats(x3, nseq, seqlen, cols);
    expect(raw.sequences).toBe(nseq);
    expect(raw.tokens).toBe(nseq * seqlen);
    expectClose(raw.sumSq.map((v) => v / nseq), ref.scalerRow, 1e-12);
    expectClose(raw.sum.map((v) => v / nseq), ref.sumMetricRow, 1e-12, 1e-12);
    expectClose(raw.tokenVar.map((v) => v / (nseq * seqlen)), ref.var, 1e-12, 1e-15);
    expectClose(raw.gram!.map((v) => (v * 2) / nseq), ref.hessian!, 1e-12, 1e-12);
    // Constant channels have exactly zero variance.
    for (let c = 0; c < cols; c += 5) expect(raw.tokenVar[c]).toBe(0);
  });
});

describe('metric and select', () => {
  const rows = 5;
  it.each([37, 64, 250])('%i cols: metrics bit for bit, masks equal the stable sorts', (cols) => {
    const { weight, x3, nseq, seqlen } = randomLayer(cols + 1, rows, cols, { grid: 64 });
    const stats = referenceStats(x3, nseq, seqlen, cols);
    const cv = referenceColumns(stats.scalerRow, stats.sumMetricRow, stats.var, 1);
    const w = ctx.upload('f32', weight);
    const out = poisoned('f32', rows * cols);
    const { u, dead } = referenceObsFactor(stats.hessian!, cols, 0.01);
    const diag = Float64Array.from({ length: cols }, (_, j) => u[j * cols + j]);
    const c = Float32Array.from(diag, (d) => Math.fround(d) * Math.fround(d));

    const expected = {
      magnitude: magnitudeMetric(weight),
      wanda: wandaMetric(weight, rows, cols, cv.sqrtScaler),
      obs: obsMetric(weight, rows, cols, diag, dead),
    };
    k.metric(w, rows, cols, 'magnitude', null, out);
    expect(ctx.f32(out)).toEqual(expected.magnitude);
    k.metric(w, rows, cols, 'obs', c, out);
    expectClose(ctx.f32(out), expected.obs, 1e-6); // diag(U) via another factorisation: f64 last bits
    k.metric(w, rows, cols, 'wanda', cv.sqrtScaler, out);
    expect(ctx.f32(out)).toEqual(expected.wanda);

    for (const kk of [0, 1, Math.floor(cols / 2), cols - 1]) {
      const mask = poisoned('u8', rows * cols);
      k.selectRows(out, rows, cols, kk, mask);
      expectSameMask(ctx.u8(mask), rowMask(expected.wanda, rows, cols, kk), cols);
    }
    const total = rows * cols;
    for (const rank of [0, 7, Math.floor(total * 0.6), total - 1]) {
      const mask = poisoned('u8', total);
      k.selectThreshold(out, total, rank, mask);
      expectSameMask(ctx.u8(mask), thresholdMask(expected.wanda, rank), cols);
      // The same selection when its candidates do not fit the buffer (rescans instead).
      const hist = ctx.allocBytes(ctx.exports.selectHistBytes());
      const cand = ctx.allocBytes(16);
      const again = poisoned('u8', total);
      ctx.exports.selectAtOrBelowRank(out.ptr, total, rank, again.ptr, hist, cand, 4);
      expectSameMask(ctx.u8(again), thresholdMask(expected.wanda, rank), cols);
    }
    if (cols % 4 === 0) {
      for (const [n, m] of [[2, 4], [1, 4], [3, 4]]) {
        const mask = poisoned('u8', total);
        k.selectNM(out, rows, cols, n, m, mask);
        expectSameMask(ctx.u8(mask), nmMask(expected.wanda, rows, cols, n, m), cols);
      }
    }
  });
});

describe('dsnot and applyMask', () => {
  it.each([[37, 0.5, null], [64, 0.6, null], [64, 0.5, { n: 2, m: 4 }], [250, 0.4, null]] as const)(
    '%i cols, sparsity %s, N:M %o: every error written, masks equal the reference',
    async (cols, sparsity, nm) => {
      const rows = 6;
      const { weight, x3, nseq, seqlen } = randomLayer(cols * 3, rows, cols, { constantEvery: 11 });
      const stats = referenceStats(x3, nseq, seqlen, cols, false);
      const cv = referenceColumns(stats.scalerRow, stats.sumMetricRow, stats.var, 1);
      const metric = wandaMetric(weight, rows, cols, cv.sqrtScaler);
      const kk = Math.floor(cols * sparsity);
      const initMask = nm ? nmMask(metric, rows, cols, nm.n, nm.m) : rowMask(metric, rows, cols, kk);
      const ref = referenceDsnot({ w: weight, rows, cols, initMask, columns: cv, nm, initialMetric: metric, maxCycles: 50, threshold: 0.1, sameSign: false });

      const w = ctx.upload('f32', weight);
      const mask = ctx.upload('u8', initMask);
      const met = ctx.upload('f32', metric);
      const columns = columnVectors(stats, 1);
      const put = (a: Float32Array | Float64Array) => {
        const p = ctx.allocBytes(a.byteLength);
        new Uint8Array(ctx.memory.buffer, p, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
        return p;
      };
      const [sq, s32, s64, vp] = [columns.sqrtScaler, columns.sum32, columns.sum64, columns.varPow].map(put);
      const initErr = ctx.allocBytes(8 * rows);
      const err = ctx.allocBytes(8 * rows);
      const scratchBytes = ctx.exports.dsnotScratchBytes(50, cols);
      const scratch = ctx.allocBytes(scratchBytes);
      for (const p of [initErr, err]) ctx.u8(p, 8 * rows).fill(0xaa);
      ctx.u8(scratch, scratchBytes).fill(0xaa);
      const cycles = ctx.exports.dsnotRefine(
        w.ptr, mask.ptr, rows, cols, sq, s32, s64, vp, met.ptr, nm ? nm.m : 0, 50, 0.1, 0, initErr, err, scratch, 1,
      );
      expect(cycles).toBe(ref.cycles);
      expect(Array.from(ctx.f64(initErr, rows))).toEqual(Array.from(ref.initError));
      expect(Array.from(ctx.f64(err, rows))).toEqual(Array.from(ref.error));
      expectSameMask(ctx.u8(mask), ref.mask, cols);

      k.applyMask(w, mask, rows * cols);
      const pruned = ctx.f32(w);
      for (let i = 0; i < weight.length; i++) expect(pruned[i]).toBe(ref.mask[i] ? 0 : weight[i]);
    },
  );
});

describe('sparsegpt kernels', () => {
  it('writes every mask byte and weight under poisoned scratch', async () => {
    const rows = 3;
    const cols = 150;
    const { weight, x3, nseq, seqlen } = randomLayer(77, rows, cols);
    const stats = referenceStats(x3, nseq, seqlen, cols);
    poisonFreeMemory(8 << 20);
    const w = ctx.upload('f32', weight);
    const mask = poisoned('u8', rows * cols);
    await k.sparseGpt({ weight: w, rows, cols, mask, hessian: stats.hessian!, sparsity: 0.5, nm: null, blockSize: 128, percDamp: 0.01 });
    const m = ctx.u8(mask);
    const out = ctx.f32(w);
    expect(m.every((b) => b === 0 || b === 1)).toBe(true);
    expect(out.every((x) => Number.isFinite(x))).toBe(true);
    for (let i = 0; i < m.length; i++) if (m[i]) expect(out[i]).toBe(0);
    const d = k.obsDiagonal(stats.hessian!, cols, 0.01);
    const { u } = referenceObsFactor(stats.hessian!, cols, 0.01);
    expectClose(d, Float64Array.from({ length: cols }, (_, j) => u[j * cols + j]), 1e-10);
  });
});

describe('metricSelect (the metric and the selection fused per chunk of rows)', () => {
  // 37 columns: scalar tails; 45 rows on rowStep's chunks of at least 4 rows; grid 16: many
  // ties, which the selection must break by the lower column as the two-step path does.
  const rows = 45;
  const cols = 37;
  const l = randomLayer(61, rows, cols, { grid: 16 });
  const stats = referenceStats(l.x3, l.nseq, l.seqlen, cols, false);
  const scale = columnVectors(stats, 1).sqrtScaler;
  const obsScale = Float32Array.from(scale, (s, j) => (j % 9 === 4 ? Infinity : s * s)); // a dead column
  const cases: Array<[string, 'magnitude' | 'wanda' | 'obs' | 'ria', Float32Array | null]> = [
    ['magnitude', 'magnitude', null], ['wanda', 'wanda', scale], ['obs', 'obs', obsScale], ['ria', 'ria', scale.map(Math.sqrt)],
  ];
  it.each(cases)('%s: the mask of metric() + selectRows, and of metric() + selectNM', (_name, kind, colScale) => {
    const w = ctx.upload('f32', l.weight);
    const metric = ctx.alloc('f32', rows * cols);
    k.metric(w, rows, cols, kind, colScale, metric);
    const selects: Array<{ k: number } | { n: number; m: number }> = [{ k: 0 }, { k: 15 }, { k: cols }, { n: 1, m: 1 }];
    for (const select of selects) {
      // selectNM groups m consecutive columns of the flat matrix, so N:M needs cols divisible by m.
      const want = poisoned('u8', rows * cols);
      const got = poisoned('u8', rows * cols);
      if ('k' in select) k.selectRows(metric, rows, cols, select.k, want);
      else k.selectNM(metric, rows, cols, select.n, select.m, want);
      poisonFreeMemory(1 << 16);
      k.metricSelect!(w, rows, cols, kind, colScale, select, got);
      expectSameMask(ctx.u8(got), ctx.u8(want), cols);
    }
    const cols4 = 36;
    const w4 = ctx.upload('f32', l.weight.subarray(0, rows * cols4));
    const metric4 = ctx.alloc('f32', rows * cols4);
    k.metric(w4, rows, cols4, kind, colScale?.subarray(0, cols4) ?? null, metric4);
    const want = poisoned('u8', rows * cols4);
    const got = poisoned('u8', rows * cols4);
    k.selectNM(metric4, rows, cols4, 2, 4, want);
    k.metricSelect!(w4, rows, cols4, kind, colScale?.subarray(0, cols4) ?? null, { n: 2, m: 4 }, got);
    expectSameMask(ctx.u8(got), ctx.u8(want), cols4);
  });
});
