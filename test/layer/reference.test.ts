// The independent reference (test/reference) must itself reproduce the authors' vectors before
// it may judge the wasm kernels on random inputs.
import { describe, expect, it } from 'vitest';
import { referenceDsnot } from '../reference/dsnot.js';
import {
  magnitudeMetric, nmMask, obsMetric, referenceColumns, rowMask, thresholdMask, wandaMetric,
} from '../reference/masks.js';
import { referenceObsFactor, referenceSparseGpt } from '../reference/sparsegpt.js';
import { referenceStats } from '../reference/stats.js';
import { loadVector, vectorNames } from './vectors.js';

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs = 0) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = Math.max(abs, rel * Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`element ${i}: ${actual[i]} vs expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): string {
  const i = a.findIndex((v, j) => v !== b[j]);
  return i < 0 ? 'equal' : `first difference at ${i} (row ${i}): ${a[i]} vs ${b[i]}`;
}

describe.each(vectorNames())('reference vs vector %s', (file) => {
  const v = loadVector(file);
  const { rows, cols, config } = v;
  const [nseq, seqlen] = v.shape('X3');
  const stats = referenceStats(v.f32('X3'), nseq, seqlen, cols);
  const w = v.f32('W');
  const nm = config.prune_n ? { n: config.prune_n, m: config.prune_m } : null;
  const k = Math.floor(cols * config.sparsity);

  it('stats from X3 equal the given stats', () => {
    expectClose(stats.scalerRow, v.f64('scaler_row'), 1e-12);
    expectClose(stats.sumMetricRow, v.f64('sum_metric_row'), 1e-12, 1e-12);
    expectClose(stats.var, v.f64('var'), 1e-12);
  });

  const cv = referenceColumns(v.f64('scaler_row'), v.f64('sum_metric_row'), v.f64('var'), config.pow_of_var_regrowing);

  it('wanda mask', () => {
    const metric = wandaMetric(w, rows, cols, cv.sqrtScaler);
    const mask = nm ? nmMask(metric, rows, cols, nm.n, nm.m) : rowMask(metric, rows, cols, k);
    expect(firstDifference(mask, v.u8('wanda_mask'))).toBe('equal');
  });

  if (v.has('magnitude_layer_mask')) it('magnitude masks', () => {
    const metric = magnitudeMetric(w);
    const layer = thresholdMask(metric, Math.floor(rows * cols * config.sparsity));
    expect(firstDifference(layer, v.u8('magnitude_layer_mask'))).toBe('equal');
    expect(firstDifference(rowMask(metric, rows, cols, k), v.u8('magnitude_row_mask'))).toBe('equal');
  });

  if (v.has('dsnot_mask')) it('dsnot masks, errors and cycles', () => {
    const metric = config.initial_method === 'magnitude' ? magnitudeMetric(w) : wandaMetric(w, rows, cols, cv.sqrtScaler);
    const initMask = nm ? nmMask(metric, rows, cols, nm.n, nm.m) : rowMask(metric, rows, cols, k);
    expect(firstDifference(initMask, v.u8('dsnot_init_mask'))).toBe('equal');
    const out = referenceDsnot({
      w, rows, cols, initMask, columns: cv, nm, initialMetric: metric,
      maxCycles: config.max_cycle_time, threshold: config.update_threshold, sameSign: !config.without_same_sign,
    });
    expect(firstDifference(out.mask, v.u8('dsnot_mask'))).toBe('equal');
    expectClose(out.initError, v.f64('dsnot_init_err'), 1e-5);
    expectClose(out.error, v.f64('dsnot_err'), 1e-5);
    expect(out.cycles).toBe(v.int('dsnot_cycles'));
  });

  if (v.has('sparsegpt_W')) it('sparsegpt unstructured and 2:4', () => {
    const s = referenceSparseGpt(w, rows, cols, stats.hessian!, config.sparsity, null, config.blocksize, config.percdamp);
    expect(firstDifference(s.mask, v.u8('sparsegpt_mask'))).toBe('equal');
    expectClose(s.weight, v.f64('sparsegpt_W'), 0, 1e-5);
    const s24 = referenceSparseGpt(w, rows, cols, stats.hessian!, 0.5, { n: 2, m: 4 }, config.blocksize, config.percdamp);
    expect(firstDifference(s24.mask, v.u8('sparsegpt_2of4_mask'))).toBe('equal');
    expectClose(s24.weight, v.f64('sparsegpt_2of4_W'), 0, 1e-5);
    // The OBS metric of DSnoT's SparseGPT initial mask is finite and positive for live columns.
    const { u, dead } = referenceObsFactor(stats.hessian!, cols, config.percdamp ?? 0.01);
    const diag = Float64Array.from({ length: cols }, (_, c) => u[c * cols + c]);
    const metric = obsMetric(w, rows, cols, diag, dead);
    expect(metric.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
  });
});
