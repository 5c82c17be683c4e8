// Properties of pruneLayer on seeded random layers of several shapes, and agreement with the
// independent reference (test/reference), which follows the authors' code: whole-row stable
// sorts, the pointer lists, the lock-step loop with the §13.1 stop rule.
import { describe, expect, it } from 'vitest';
import { pruneLayer, type InitMethod, type PruneLayerOptions } from '../../src/layer.js';
import type { LayerStats } from '../../src/stats.js';
import { referenceDsnot } from '../reference/dsnot.js';
import { referenceInitialMetric } from '../reference/initial-metric.js';
import { magnitudeMetric, nmMask, referenceColumns, rowMask, thresholdMask, wandaMetric } from '../reference/masks.js';
import { referenceSparseGpt } from '../reference/sparsegpt.js';
import { referenceStats } from '../reference/stats.js';
import { expectClose, expectSameMask } from './expect.js';
import { randomLayer, type RandomLayerOptions } from './random.js';

interface Case {
  name: string;
  rows: number;
  cols: number;
  sparsity: number | { n: number; m: number };
  init: InitMethod;
  seed: number;
  data?: RandomLayerOptions;
  maxCycles?: number;
  threshold?: number;
  pow?: number;
  sameSign?: boolean;
}

const CASES: Case[] = [
  { name: '64 cols, wanda 0.5', rows: 12, cols: 64, sparsity: 0.5, init: 'wanda', seed: 1 },
  { name: '172 cols, wanda 0.6, ties and constant channels', rows: 10, cols: 172, sparsity: 0.6, init: 'wanda', seed: 2, data: { grid: 64, constantEvery: 17 } },
  { name: '37 cols, magnitude 0.7', rows: 9, cols: 37, sparsity: 0.7, init: 'magnitude', seed: 3 },
  { name: '250 cols, sparsegpt init 0.5', rows: 7, cols: 250, sparsity: 0.5, init: 'sparsegpt', seed: 4 },
  { name: '250 cols, wanda 0.3, same sign, pow 2', rows: 8, cols: 250, sparsity: 0.3, init: 'wanda', seed: 5, sameSign: true, pow: 2 },
  { name: '64 cols, wanda 0.5, pow 0, threshold 0', rows: 8, cols: 64, sparsity: 0.5, init: 'wanda', seed: 6, pow: 0, threshold: 0 },
  { name: '4096 cols, few rows, wanda 0.5', rows: 3, cols: 4096, sparsity: 0.5, init: 'wanda', seed: 7 },
  { name: '4096 cols, magnitude 0.6, coarse grid', rows: 2, cols: 4096, sparsity: 0.6, init: 'magnitude', seed: 8, data: { grid: 32 } },
  { name: '64 cols, 2:4 wanda', rows: 10, cols: 64, sparsity: { n: 2, m: 4 }, init: 'wanda', seed: 9 },
  { name: '172 cols, 2:4 magnitude, ties', rows: 6, cols: 172, sparsity: { n: 2, m: 4 }, init: 'magnitude', seed: 10, data: { grid: 32, constantEvery: 9 } },
  { name: '256 cols, 4:8 sparsegpt init', rows: 5, cols: 256, sparsity: { n: 4, m: 8 }, init: 'sparsegpt', seed: 11 },
  { name: '4096 cols, 2:4 wanda, few rows', rows: 2, cols: 4096, sparsity: { n: 2, m: 4 }, init: 'wanda', seed: 12 },
  // Narrow and greedy: threshold 0 and many cycles run rows out of same-sign candidates (§13.1).
  { name: '64 cols, exhausted lists', rows: 16, cols: 64, sparsity: 0.5, init: 'wanda', seed: 13, threshold: 0, maxCycles: 200 },
  { name: '64 cols, 3:4 exhausted groups', rows: 16, cols: 64, sparsity: { n: 3, m: 4 }, init: 'wanda', seed: 14, threshold: 0, maxCycles: 200 },
  { name: '37 cols, sparsity 0', rows: 4, cols: 37, sparsity: 0, init: 'wanda', seed: 15 },
  // More rows than one kernel call takes (the wasm backend calls its kernels in chunks of rows),
  // and rows unlike their neighbours (the per-row candidate limit guessed from the previous row
  // is then far off, in both directions).
  { name: '4096 cols, 70 rows, unlike neighbours', rows: 70, cols: 4096, sparsity: 0.5, init: 'wanda', seed: 16, data: { rowScales: true } },
  { name: '2048 cols, 140 rows, 2:4, unlike neighbours', rows: 140, cols: 2048, sparsity: { n: 2, m: 4 }, init: 'magnitude', seed: 17, data: { rowScales: true } },
  { name: '64 cols, 4200 rows', rows: 4200, cols: 64, sparsity: 0.6, init: 'wanda', seed: 18 },
  // RIA (ALGORITHM.md §14.5): odd widths (scalar tails of the sums), ties, N:M (DSnoT's group
  // candidates come from the RIA metric), and more rows than one wasm kernel call takes (the
  // column sums continue across calls).
  { name: '37 cols, ria 0.5', rows: 9, cols: 37, sparsity: 0.5, init: 'ria', seed: 19 },
  { name: '173 cols, ria 0.6, ties and constant channels', rows: 10, cols: 173, sparsity: 0.6, init: 'ria', seed: 20, data: { grid: 64, constantEvery: 17 } },
  { name: '64 cols, 2:4 ria', rows: 10, cols: 64, sparsity: { n: 2, m: 4 }, init: 'ria', seed: 21 },
  { name: '172 cols, 2:4 ria, ties', rows: 6, cols: 172, sparsity: { n: 2, m: 4 }, init: 'ria', seed: 22, data: { grid: 32, constantEvery: 9 } },
  { name: '4098 cols, 70 rows, ria 0.5, unlike neighbours', rows: 70, cols: 4098, sparsity: 0.5, init: 'ria', seed: 23, data: { rowScales: true } },
];

function statsOf(c: Case): LayerStats & { hessian: Float64Array } {
  const l = randomLayer(c.seed, c.rows, c.cols, c.data);
  // H always: the true errors come along with every DSnoT run.
  return referenceStats(l.x3, l.nseq, l.seqlen, c.cols) as LayerStats & { hessian: Float64Array };
}

/** The reference's initial metric and mask, then its DSnoT. */
function referenceRun(c: Case, w: Float32Array, stats: ReturnType<typeof statsOf>) {
  const { rows, cols } = c;
  const cv = referenceColumns(stats.scalerRow, stats.sumMetricRow, stats.var, c.pow ?? 1);
  const metric = referenceInitialMetric(c.init, w, rows, cols, cv.sqrtScaler, stats.hessian);
  const nm = typeof c.sparsity === 'number' ? null : c.sparsity;
  const k = typeof c.sparsity === 'number' ? Math.floor(cols * c.sparsity) : 0;
  const initMask = nm ? nmMask(metric, rows, cols, nm.n, nm.m) : rowMask(metric, rows, cols, k);
  const out = referenceDsnot({
    w, rows, cols, initMask, columns: cv, nm, initialMetric: metric,
    maxCycles: c.maxCycles ?? 50, threshold: c.threshold ?? 0.1, sameSign: c.sameSign ?? false,
  });
  return { initMask, ...out };
}

function options(c: Case, w: Float32Array, stats: LayerStats): PruneLayerOptions {
  return {
    weight: w, rows: c.rows, cols: c.cols, stats, sparsity: c.sparsity, init: c.init, device: 'wasm',
    dsnot: { maxCycles: c.maxCycles ?? 50, updateThreshold: c.threshold ?? 0.1, powOfVarRegrowing: c.pow ?? 1, sameSign: c.sameSign ?? false, guard: false },
  };
}

function expectExactSparsity(c: Case, mask: Uint8Array): void {
  const { rows, cols } = c;
  if (typeof c.sparsity === 'number') {
    const k = Math.floor(cols * c.sparsity);
    for (let r = 0; r < rows; r++) {
      let pruned = 0;
      for (let j = 0; j < cols; j++) pruned += mask[r * cols + j];
      if (pruned !== k) throw new Error(`row ${r}: ${pruned} pruned, expected ${k}`);
    }
  } else {
    const { n, m } = c.sparsity;
    for (let g = 0; g < rows * cols; g += m) {
      let pruned = 0;
      for (let t = 0; t < m; t++) pruned += mask[g + t];
      if (pruned !== n) throw new Error(`group at ${g}: ${pruned} pruned, expected ${n}`);
    }
  }
  expect(mask.every((b) => b === 0 || b === 1)).toBe(true);
}

describe.each(CASES)('DSnoT: $name', (c) => {
  const { weight } = randomLayer(c.seed, c.rows, c.cols, c.data);
  const stats = statsOf(c);

  it('equals the reference: initial mask, mask, errors, cycles', async () => {
    const ref = referenceRun(c, weight, stats);
    const out = await pruneLayer(options(c, weight, stats));
    expectSameMask(out.initMask, ref.initMask, c.cols);
    expectSameMask(out.mask, ref.mask, c.cols);
    // Same f64 operations in the same order: equal after the f32 rounding of the result.
    expect(Array.from(out.initError)).toEqual(Array.from(ref.initError, Math.fround));
    expect(Array.from(out.error)).toEqual(Array.from(ref.error, Math.fround));
    expect(out.cycles).toBe(ref.cycles);
  });

  it('keeps the sparsity exact, never changes a weight value, repeats itself', async () => {
    const before = weight.slice();
    const a = await pruneLayer(options(c, weight, stats));
    const b = await pruneLayer(options(c, weight, stats));
    expect(weight).toEqual(before); // the caller's array is untouched
    expectExactSparsity(c, a.initMask);
    expectExactSparsity(c, a.mask);
    for (let i = 0; i < weight.length; i++) {
      const want = a.mask[i] ? 0 : weight[i];
      if (!Object.is(a.weight[i], want)) throw new Error(`weight ${i}: ${a.weight[i]}, expected ${want}`);
    }
    expectSameMask(b.mask, a.mask, c.cols);
    expect(b.cycles).toBe(a.cycles);
  });
});

describe('the §13.1 stop on exhausted candidate lists', () => {
  it('stops every row of a narrow greedy layer before maxCycles with |e| still above the threshold', async () => {
    const c = CASES.find((x) => x.name === '64 cols, exhausted lists')!;
    const { weight } = randomLayer(c.seed, c.rows, c.cols, c.data);
    const out = await pruneLayer(options(c, weight, statsOf(c)));
    // With threshold 0 only a missing candidate can stop a row (e == 0 exactly does not happen).
    expect(out.cycles).toBeLessThan(c.maxCycles!);
    expect(out.error.every((e) => e !== 0)).toBe(true);
    expectExactSparsity(c, out.mask);
  });
});

describe('initial masks without DSnoT equal the reference', () => {
  it.each([
    [64, 8, 0.5, 21], [37, 5, 0.6, 22], [250, 6, 0.45, 23], [4096, 2, 0.5, 24],
  ])('%i cols: wanda, magnitude per row and per matrix', async (cols, rows, sparsity, seed) => {
    const { weight, x3, nseq, seqlen } = randomLayer(seed, rows, cols, { grid: 128 });
    const stats = referenceStats(x3, nseq, seqlen, cols, false);
    const cv = referenceColumns(stats.scalerRow, stats.sumMetricRow, stats.var, 1);
    const base = { weight, rows, cols, stats, sparsity, device: 'wasm' as const, dsnot: false as const };
    const k = Math.floor(cols * sparsity);
    const wanda = await pruneLayer({ ...base, init: 'wanda' });
    expectSameMask(wanda.mask, rowMask(wandaMetric(weight, rows, cols, cv.sqrtScaler), rows, cols, k), cols);
    const byRow = await pruneLayer({ ...base, init: 'magnitude', magnitudeScope: 'row' });
    expectSameMask(byRow.mask, rowMask(magnitudeMetric(weight), rows, cols, k), cols);
    const byMatrix = await pruneLayer({ ...base, init: 'magnitude' });
    expectSameMask(byMatrix.mask, thresholdMask(magnitudeMetric(weight), Math.floor(rows * cols * sparsity)), cols);
    // Without DSnoT the errors are the initial mask's, and nothing moved.
    expect(wanda.cycles).toBe(0);
    expect(wanda.error).toEqual(wanda.initError);
  });
});

describe('SparseGPT as a method equals the reference', () => {
  it.each([
    [64, 6, 0.5, null, 31], [250, 5, 0.6, null, 32], [300, 4, 0.5, { n: 2, m: 4 }, 33], [256, 3, 0.5, { n: 4, m: 8 }, 34],
  ] as const)('%i cols × %i rows, sparsity %s, N:M %o', async (cols, rows, sparsity, nm, seed) => {
    const { weight, x3, nseq, seqlen } = randomLayer(seed, rows, cols, { constantEvery: 0 });
    // A dead input channel (all zeros) exercises the dead-column rule.
    for (let t = 0; t < nseq * seqlen; t++) x3[t * cols + 5] = 0;
    const stats = referenceStats(x3, nseq, seqlen, cols);
    const ref = referenceSparseGpt(weight, rows, cols, stats.hessian!, sparsity, nm, 128, 0.01);
    const out = await pruneLayer({
      weight, rows, cols, stats, sparsity: nm ?? sparsity, init: 'sparsegpt', dsnot: false, device: 'wasm',
    });
    expectSameMask(out.mask, ref.mask, cols);
    expectClose(out.weight, ref.weight, 0, 1e-6);
    for (let i = 0; i < out.mask.length; i++) if (out.mask[i]) expect(out.weight[i]).toBe(0);
    for (let r = 0; r < rows; r++) expect(out.mask[r * cols + 5]).toBe(1);
    // The true error the kernel takes from its OBS steps is the dense ½·vᵀHv, v = W − Ŵ.
    const dense = halfQuadratic(weight, out.weight, rows, cols, stats.hessian!);
    expectClose(out.trueError!.final, dense, 1e-6);
    expect(out.trueError!.initial).toEqual(out.trueError!.final);
  });

  it('a given H whose dead diagonal has a nonzero row: the true error is the dense one, not the OBS steps\'', async () => {
    const [rows, cols] = [5, 150];
    const { weight, x3, nseq, seqlen } = randomLayer(35, rows, cols, { constantEvery: 0 });
    const stats = referenceStats(x3, nseq, seqlen, cols);
    // Not a Gram matrix: H[7,7] = 0 while row 7 is not (still positive definite once damped).
    const h = stats.hessian!.slice();
    for (let j = 0; j < cols; j++) {
      h[7 * cols + j] *= 0.05;
      h[j * cols + 7] = h[7 * cols + j];
    }
    h[7 * cols + 7] = 0;
    const out = await pruneLayer({ weight, rows, cols, stats: { ...stats, hessian: h }, sparsity: 0.5, init: 'sparsegpt', dsnot: false, device: 'wasm' });
    expectClose(out.trueError!.final, halfQuadratic(weight, out.weight, rows, cols, h), 1e-6);
  });
});

/** Per row ½·vᵀHv, v = before − after, in f64 over the full matrix. */
function halfQuadratic(before: Float32Array, after: Float32Array, rows: number, cols: number, h: Float64Array): Float64Array {
  return Float64Array.from({ length: rows }, (_, r) => {
    const v = Float64Array.from({ length: cols }, (_, c) => before[r * cols + c] - after[r * cols + c]);
    let q = 0;
    for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) q += v[i] * h[i * cols + j] * v[j];
    return q / 2;
  });
}
