// Random DSnoT layer cases (seeded) and a runner on any Backend. The statistics are shaped like
// real ones (per-column mean and variance, sums over a sequence of L tokens) so that rows swap
// weights for a while and then stop for each of the §13.1 reasons.
import type { Backend } from '../../src/backends/backend.js';
import type { ColumnVectors } from '../../src/backends/prune-kernels.js';
import { referenceColumns, rowMask, nmMask, wandaMetric } from '../reference/masks.js';
import { gaussian, rng } from '../support/random.js';

export interface DsnotCase {
  rows: number;
  cols: number;
  w: Float32Array;
  columns: ColumnVectors;
  initMask: Uint8Array;
  initialMetric: Float32Array;
  k: number;
  nm: { n: number; m: number } | null;
  maxCycles: number;
  threshold: number;
  sameSign: boolean;
}

export function dsnotCase(o: { rows: number; cols: number; sparsity: number; nm?: { n: number; m: number }; sameSign?: boolean; seed: number; maxCycles?: number; threshold?: number; tied?: boolean }): DsnotCase {
  const next = rng(o.seed);
  const g = gaussian(next);
  const { rows, cols } = o;
  const L = 16;
  // tied: weights on a coarse grid and columns in identical groups of four, so that G, D and the
  // Wanda metric tie often and the tie rules decide.
  const w = Float32Array.from({ length: rows * cols }, () => (o.tied ? Math.round(g() * 4) / 64 : Math.fround(g() * 0.05)));
  const mean0 = Array.from({ length: cols }, () => g() * 0.3);
  const mean = o.tied ? mean0.map((_, j) => mean0[j - (j % 4)]) : mean0;
  const scaler0 = mean.map((mu) => L * (mu * mu + 1 + next()));
  const scaler = o.tied ? scaler0.map((_, j) => scaler0[j - (j % 4)]) : scaler0;
  const sum = mean.map((mu) => L * mu);
  const variance0 = mean.map(() => 0.5 + next() * 1.5);
  const variance = o.tied ? variance0.map((_, j) => variance0[j - (j % 4)]) : variance0;
  const columns = referenceColumns(scaler, sum, variance, 1);
  const metric = wandaMetric(w, rows, cols, columns.sqrtScaler);
  const k = Math.floor(cols * o.sparsity);
  const nm = o.nm ?? null;
  const initMask = nm ? nmMask(metric, rows, cols, nm.n, nm.m) : rowMask(metric, rows, cols, k);
  return { rows, cols, w, columns, initMask, initialMetric: metric, k, nm, maxCycles: o.maxCycles ?? 50, threshold: o.threshold ?? 0.1, sameSign: o.sameSign ?? false };
}

export async function runDsnot(b: Backend, c: DsnotCase): Promise<{ mask: Uint8Array; initError: Float64Array; error: Float64Array; cycles: number }> {
  const weight = b.upload('f32', c.w);
  const mask = b.upload('u8', c.initMask);
  const metric = c.nm ? b.upload('f32', c.initialMetric) : null;
  const r = await b.dsnot({
    weight, rows: c.rows, cols: c.cols, mask, initialMetric: metric, columns: c.columns, k: c.k, nm: c.nm,
    maxCycles: c.maxCycles, updateThreshold: c.threshold, sameSign: c.sameSign,
  });
  const out = (await b.read(mask)) as Uint8Array;
  for (const t of [weight, mask, metric]) if (t) b.release(t);
  return { mask: out, ...r };
}
