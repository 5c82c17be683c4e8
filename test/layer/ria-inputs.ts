// Inputs that stress RIA's score (shared by the wasm and WebGPU tests): weights partly on a coarse
// grid (exact ties), rows of very different scale (the row ratio matters), subnormals and −0, one
// all-zero row and one all-zero column (zero sums: the 0/0 case), and statistics with a zero
// scaler_row channel (a whole column of equal scores).
import type { LayerStats } from '../../src/stats.js';
import { rng } from '../support/random.js';

export function riaWeights(seed: number, rows: number, cols: number): Float32Array {
  const next = rng(seed);
  const w = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const scale = 4 ** ((r % 5) - 2);
    for (let c = 0; c < cols; c++) {
      const u = next();
      // Half on 32 levels (many exact ties), half full precision (so the sums round, and their
      // order shows in the last bits).
      let x = u < 0.5 ? (Math.floor(next() * 32) - 16) / 64 : next() - 0.5;
      if (u < 0.03) x = next() * 1e-39; // subnormal
      else if (u < 0.05) x = -0;
      w[r * cols + c] = x * scale;
    }
  }
  if (rows > 2) w.fill(0, cols, 2 * cols); // row 1
  if (cols > 3) for (let r = 0; r < rows; r++) w[r * cols + 2] = 0; // column 2
  return w;
}

export function riaStats(seed: number, cols: number): LayerStats {
  const next = rng(seed ^ 0x5a5a);
  const scalerRow = Float64Array.from({ length: cols }, (_, j) => (j % 11 === 5 ? 0 : 0.01 + 3 * next() ** 2));
  const sumMetricRow = Float64Array.from({ length: cols }, () => 4 * (next() - 0.5));
  const variance = Float64Array.from({ length: cols }, (_, j) => (j % 7 === 3 ? 0 : 0.1 + next()));
  return { scalerRow, sumMetricRow, var: variance };
}

/** The same f32 bits everywhere; on failure the first differing index (a full diff of 300k values takes minutes). */
export function sameBitsOrFirstDifference(got: Float32Array, want: Float32Array): string {
  if (got.length !== want.length) return `lengths ${got.length} vs ${want.length}`;
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const i = a.findIndex((x, j) => x !== b[j]);
  return i < 0 ? 'same' : `first difference at ${i}: ${got[i]} vs ${want[i]}`;
}
