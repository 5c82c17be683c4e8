// Seeded inputs for the property tests: never zeros, optionally on a coarse grid (many exact ties)
// and with constant input channels (zero variance, quirk Q5).

import { normal, rng } from '../support/random.js';

export interface RandomLayer {
  weight: Float32Array;
  x3: Float32Array;
  nseq: number;
  seqlen: number;
}

export interface RandomLayerOptions {
  /** Round weights to multiples of 1/grid (ties in |W|, Wanda and D). 0 = no rounding. */
  grid?: number;
  /** Every constantEvery-th input channel is constant (variance exactly 0). 0 = none. */
  constantEvery?: number;
  nseq?: number;
  seqlen?: number;
  /** Scale row r by 4^((r mod 5) − 2): neighbouring rows unlike each other. */
  rowScales?: boolean;
  /** Column c ≥ period repeats column c − period, in X and in W: exact ties between far columns. */
  duplicatePeriod?: number;
}

export function randomLayer(seed: number, rows: number, cols: number, o: RandomLayerOptions = {}): RandomLayer {
  const next = rng(seed);
  const nseq = o.nseq ?? 3;
  const seqlen = o.seqlen ?? 16;
  const weight = new Float32Array(rows * cols);
  for (let i = 0; i < weight.length; i++) {
    let w = 0.05 * normal(next);
    if (o.grid) w = Math.round(w * o.grid) / o.grid;
    // No exact zeros: a zero weight is a legitimate input but makes the tests weaker.
    weight[i] = w === 0 ? 1 / (o.grid || 1024) : w;
    if (o.rowScales) weight[i] *= 4 ** ((Math.floor(i / cols) % 5) - 2);
  }
  // Channels with a mean of either sign (so the DSnoT error has both signs) and varied spread.
  const mean = Float64Array.from({ length: cols }, () => normal(next));
  const spread = Float64Array.from({ length: cols }, () => 0.2 + 2 * next());
  const x3 = new Float32Array(nseq * seqlen * cols);
  for (let t = 0; t < nseq * seqlen; t++) {
    for (let c = 0; c < cols; c++) {
      const constant = o.constantEvery && c % o.constantEvery === 0;
      x3[t * cols + c] = constant ? 0.75 : mean[c] + spread[c] * normal(next);
    }
  }
  const p = o.duplicatePeriod ?? 0;
  if (p > 0) {
    for (let i = 0; i < rows * cols; i++) if (i % cols >= p) weight[i] = weight[i - p];
    for (let i = 0; i < nseq * seqlen * cols; i++) if (i % cols >= p) x3[i] = x3[i - p];
  }
  return { weight, x3, nseq, seqlen };
}
