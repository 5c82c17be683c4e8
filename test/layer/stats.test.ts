// StatsAccumulator's Hessian H = (2/N)·ΣXᵀX against the independent reference, and the public
// statsFromRaw: the same normalisation, leaving the raw sums it is given as they were (the
// accumulator scales its own fresh Gram matrix in place instead of copying it).
import { describe, expect, it } from 'vitest';
import type { RawStats } from '../../src/backends/prune-kernels.js';
import { StatsAccumulator, statsFromRaw } from '../../src/stats.js';
import { referenceStats } from '../reference/stats.js';
import { normal, rng } from '../support/random.js';

describe('statistics with H', () => {
  it.each([[3, 17, 24], [2, 40, 67]])('%i sequences of %i tokens × %i columns: H equals the reference', async (nseq, seqlen, cols) => {
    const next = rng(nseq * 1000 + cols);
    const x3 = Float32Array.from({ length: nseq * seqlen * cols }, () => normal(next));
    const acc = await StatsAccumulator.create(cols, { hessian: true, device: 'wasm' });
    for (let s = 0; s < nseq; s++) acc.add(x3.subarray(s * seqlen * cols, (s + 1) * seqlen * cols));
    const got = await acc.finish();
    const want = referenceStats(x3, nseq, seqlen, cols).hessian!;
    let worst = 0;
    for (let i = 0; i < cols * cols; i++) worst = Math.max(worst, Math.abs(got.hessian![i] - want[i]) / (Math.abs(want[i]) + 1e-12));
    expect(worst).toBeLessThan(1e-9);
  });

  it('statsFromRaw scales a copy: the raw Gram matrix stays as given', () => {
    const gram = Float64Array.from({ length: 9 }, (_, i) => i + 1);
    const raw: RawStats = {
      sum: Float64Array.of(1, 2, 3), sumSq: Float64Array.of(4, 5, 6), tokenVar: Float64Array.of(7, 8, 9), gram, sequences: 4, tokens: 40,
    };
    const s = statsFromRaw(raw);
    expect(Array.from(gram)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(s.hessian!)).toEqual(Array.from(gram, (x) => x * (2 / 4)));
    expect(s.hessian).not.toBe(gram);
  });
});
