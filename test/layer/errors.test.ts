// Bad input ends in a DsnotInputError that names the problem, before any kernel runs.
import { describe, expect, it } from 'vitest';
import { pruneLayer, type PruneLayerOptions } from '../../src/layer.js';
import { StatsAccumulator } from '../../src/stats.js';
import { DsnotInputError } from '../../src/validate.js';
import { randomLayer } from './random.js';
import { referenceStats } from '../reference/stats.js';

const rows = 4;
const cols = 64;
const layer = randomLayer(99, rows, cols);
const stats = referenceStats(layer.x3, layer.nseq, layer.seqlen, cols);
const good: PruneLayerOptions = { weight: layer.weight, rows, cols, stats, sparsity: 0.5, init: 'wanda', device: 'wasm' };

const withWeight = (f: (w: Float32Array) => void) => {
  const w = layer.weight.slice();
  f(w);
  return w;
};
const vec = (f: (v: Float64Array) => void, src = stats.var) => {
  const v = Float64Array.from(src);
  f(v);
  return v;
};

const CASES: Array<[string, Partial<PruneLayerOptions> | Record<string, unknown>, RegExp]> = [
  ['sparsity 1', { sparsity: 1 }, /sparsity must be in \[0, 1\) \(got 1\)/],
  ['negative sparsity', { sparsity: -0.1 }, /sparsity must be in \[0, 1\)/],
  ['NaN sparsity', { sparsity: NaN }, /sparsity must be in \[0, 1\)/],
  ['n = m', { sparsity: { n: 4, m: 4 } }, /n < m \(got 4:4\)/],
  ['n > m', { sparsity: { n: 5, m: 4 } }, /n < m/],
  ['n = 0', { sparsity: { n: 0, m: 4 } }, /sparsity.n must be a positive integer/],
  ['m not dividing cols', { sparsity: { n: 2, m: 3 } }, /m = 3 does not divide the 64 columns/],
  ['fractional n', { sparsity: { n: 1.5, m: 4 } }, /sparsity.n must be a positive integer/],
  ['weight too short', { weight: layer.weight.subarray(1) }, /weight has 255 values; rows × cols = 4 × 64 = 256/],
  ['rows not matching', { rows: 5 }, /rows × cols = 5 × 64/],
  ['weight as Float64Array', { weight: Float64Array.from(layer.weight) }, /weight must be a Float32Array/],
  ['NaN weight', { weight: withWeight((w) => (w[70] = NaN)) }, /weight\[1, 6\] is NaN: weights must be finite/],
  ['infinite weight', { weight: withWeight((w) => (w[3] = -Infinity)) }, /weight\[0, 3\] is -Infinity/],
  ['zero rows', { rows: 0 }, /rows must be a positive integer/],
  ['fractional cols', { cols: 63.5 }, /cols must be a positive integer/],
  ['stats vector of the wrong length', { stats: { ...stats, scalerRow: stats.scalerRow.subarray(1) } }, /stats.scalerRow has 63 values; the weight has 64 columns/],
  ['negative variance', { stats: { ...stats, var: vec((v) => (v[9] = -1)) } }, /stats.var\[9\] is -1: must not be negative/],
  ['NaN in sum_metric_row', { stats: { ...stats, sumMetricRow: vec((v) => (v[2] = NaN), stats.sumMetricRow) } }, /stats.sumMetricRow\[2\] is NaN/],
  ['scaler beyond f32', { stats: { ...stats, scalerRow: vec((v) => (v[0] = 1e39), stats.scalerRow) } }, /stats.scalerRow\[0\] is 1e\+39: statistics must be finite f32 values/],
  ['stats as a plain array', { stats: { ...stats, var: Array.from(stats.var) } }, /stats.var must be a Float32Array or Float64Array/],
  ['missing stats', { stats: undefined }, /stats must be an object/],
  ['unknown init', { init: 'random' }, /init must be 'magnitude', 'wanda', 'sparsegpt' or 'ria'/],
  ['sparsegpt without a hessian', { init: 'sparsegpt', stats: { ...stats, hessian: undefined } }, /init 'sparsegpt' needs stats.hessian/],
  ['hessian of the wrong size', { init: 'sparsegpt', stats: { ...stats, hessian: new Float64Array(10) } }, /stats.hessian has 10 values; cols × cols = 4096/],
  ['negative maxCycles', { dsnot: { maxCycles: -1 } }, /dsnot.maxCycles must be a non-negative integer \(got -1\)/],
  ['fractional maxCycles', { dsnot: { maxCycles: 2.5 } }, /dsnot.maxCycles must be a non-negative integer/],
  ['negative threshold', { dsnot: { updateThreshold: -0.1 } }, /dsnot.updateThreshold must be a finite number ≥ 0/],
  ['infinite pow', { dsnot: { powOfVarRegrowing: Infinity } }, /dsnot.powOfVarRegrowing must be a finite number/],
  ['misspelt option', { dsnot: { maxCycle: 5 } }, /dsnot: unknown option 'maxCycle'/],
  ['sameSign not boolean', { dsnot: { sameSign: 'yes' } }, /dsnot.sameSign must be a boolean/],
  ['unknown device', { device: 'cuda' }, /device must be 'auto', 'wasm' or 'webgpu'/],
  ['unknown magnitude scope', { init: 'magnitude', magnitudeScope: 'column' }, /magnitudeScope must be 'matrix' or 'row'/],
  ['magnitude scope with wanda', { magnitudeScope: 'row' }, /magnitudeScope applies to init 'magnitude' only/],
];

describe('pruneLayer rejects bad input', () => {
  it.each(CASES)('%s', async (_name, change, message) => {
    const err = await pruneLayer({ ...good, ...change } as PruneLayerOptions).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DsnotInputError);
    expect((err as Error).message).toMatch(message);
  });

  it('SparseGPT N:M with m not dividing its 128-column block', async () => {
    const c = 96;
    const l = randomLayer(5, 2, c);
    const s = referenceStats(l.x3, l.nseq, l.seqlen, c);
    const err = await pruneLayer({ weight: l.weight, rows: 2, cols: c, stats: s, sparsity: { n: 1, m: 3 }, init: 'sparsegpt', dsnot: false })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DsnotInputError);
    expect((err as Error).message).toMatch(/m to divide its 128-column block \(m = 3\)/);
  });

  it('a Hessian that is not positive definite', async () => {
    const hessian = new Float64Array(cols * cols);
    for (let i = 0; i < cols; i++) hessian[i * cols + i] = i === 7 ? -50 : 1;
    for (const dsnot of [false, undefined] as const) {
      const err = await pruneLayer({ ...good, init: 'sparsegpt', dsnot, stats: { ...stats, hessian } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DsnotInputError);
      expect((err as Error).message).toMatch(/hessian: not positive definite after damping \(pivot at column 7\)/);
    }
  });

  it('the caller never gets a half result: a valid call after a rejected one still works', async () => {
    await expect(pruneLayer({ ...good, sparsity: 2 })).rejects.toThrow(DsnotInputError);
    const out = await pruneLayer(good);
    expect(out.mask.reduce((a, b) => a + b, 0)).toBe(rows * 32);
  });
});

describe('StatsAccumulator rejects bad input', () => {
  it('names the problem', async () => {
    const acc = await StatsAccumulator.create(8, { device: 'wasm' });
    expect(() => acc.add(new Float32Array(12))).toThrow(/12 values are not a whole number of 8-column tokens/);
    expect(() => acc.add(Float32Array.of(1, 2, 3, 4, 5, 6, 7, NaN))).toThrow(/x\[7\] is NaN: activations must be finite/);
    await expect(acc.finish()).rejects.toThrow(/no sequence was added/);
    await expect(StatsAccumulator.create(0)).rejects.toThrow(/cols must be a positive integer/);
  });
});
